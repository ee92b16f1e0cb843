"""Backup throughput with I/O: the whole engine against EBS, S3 and DynamoDB fakes that wait on every call.

What is compared (like with like: the same processes on the same 2 vCPUs, the same data and settings):
- CPU-only pipeline of the 2-vCPU job: the backup's own CPU pipeline (engine/pipeline.py: the main process
  feeding segments, CPU_WORKERS worker processes chunking, hashing and compressing the chunks not seen before)
  over the same segments held in memory, with no call to anything: the speed the job would have if EBS, S3 and
  DynamoDB answered instantly and cost no CPU;
- with I/O: a full backup (engine/backup.py) reading an EBS fake with 512 KiB blocks, S3 and DynamoDB in memory,
  each call delayed by a typical in-region latency. The fakes run in the job's process (the EBS fake even
  computes each block's checksum, AWS's work), so the figure is, if anything, pessimistic.
Target: with I/O >= 80% of the CPU-only pipeline, i.e. the I/O is overlapped. For context it also prints the
bare pipeline on one core in one process (benchmarks/engine_throughput.py's loop). Each figure is the median of
`--runs` runs, interleaved; wall-clock figures on a shared machine vary, so it prints the load average too.

    .venv/bin/python benchmarks/engine_io_throughput.py [--mib 512] [--runs 3] [--workers 1] [--threads]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

# The CPU pipeline's worker process imports this script again as `__mp_main__` (multiprocessing's rule for
# scripts); it needs none of the following, and importing botocore there cost ~0.25 s per worker start,
# which a job started as `python -m engine` never pays.
if __name__ != "__mp_main__":
    from botocore.exceptions import ClientError  # noqa: E402
    from engine_throughput import realistic_mix  # noqa: E402

    from engine import pipeline  # noqa: E402
    from engine.backup import BackupRequest, EngineSettings, run_backup  # noqa: E402
    from engine.chunking import Codec, split  # noqa: E402
    from engine.ebs import READS_IN_FLIGHT, EbsDirect  # noqa: E402
    from engine.index import ChunkIndex  # noqa: E402
    from engine.jobs import JobRecord  # noqa: E402
    from engine.packs import VaultBucket  # noqa: E402
    from engine.pipeline import CpuPipeline, PipelineSettings, segments_in_flight  # noqa: E402
    from engine.sources import EbsSnapshotSource  # noqa: E402
    from engine.vault import Vault  # noqa: E402
    from engine.vaultconfig import VaultKey  # noqa: E402
    from tests.fakes.ebs import BLOCK_SIZE, FakeEbs  # noqa: E402
    from tests.fakes.kms import FakeKms  # noqa: E402

MIB = 1024 * 1024
# Per-call latencies (seconds), typical within a region: EBS direct GetSnapshotBlock is the slow one.
EBS_LATENCY, S3_LATENCY, DYNAMODB_LATENCY = 0.030, 0.020, 0.008
TARGET = 0.80


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def read(self) -> bytes:
        return self._data

    def iter_chunks(self, size: int):  # manifests are streamed (VaultBucket.download)
        for start in range(0, len(self._data), size):
            yield self._data[start : start + size]


def _etag(body: bytes) -> str:
    return '"' + hashlib.md5(body).hexdigest() + '"'  # a single-part object's ETag, as S3 gives it


class SlowS3:
    """The S3 calls a backup makes, in memory, each after `latency` seconds."""

    def __init__(self, latency: float):
        self.latency, self.objects, self._lock = latency, {}, threading.Lock()

    def put_object(self, Bucket, Key, Body, IfNoneMatch=None, IfMatch=None, **_):  # noqa: N803 (boto3 names)
        time.sleep(self.latency)
        with self._lock:
            if IfNoneMatch == "*" and Key in self.objects:
                raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "PutObject")
            if IfMatch is not None and (Key not in self.objects or _etag(self.objects[Key]) != IfMatch):
                raise ClientError({"Error": {"Code": "PreconditionFailed"}}, "PutObject")
            self.objects[Key] = bytes(Body)

    def get_object(self, Bucket, Key, Range=None):  # noqa: N803
        time.sleep(self.latency)
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        body = self.objects[Key]
        if Range:  # "bytes=first-last", as VaultBucket.get sends it
            first, last = (int(n) for n in Range.removeprefix("bytes=").split("-"))
            body = body[first : last + 1]
        return {"Body": _Body(body), "ETag": _etag(self.objects[Key])}

    def head_object(self, Bucket, Key):  # noqa: N803
        time.sleep(self.latency)
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")
        return {"ContentLength": len(self.objects[Key])}

    def list_objects_v2(self, Bucket, Prefix, MaxKeys=1000, **_):  # noqa: N803
        time.sleep(self.latency)
        keys = sorted(k for k in list(self.objects) if k.startswith(Prefix))[:MaxKeys]
        now = datetime.now(UTC)
        return {"KeyCount": len(keys), "Contents": [{"Key": k, "Size": len(self.objects[k]), "LastModified": now}
                                                     for k in keys]}  # fmt: skip

    def get_paginator(self, operation):
        assert operation == "list_objects_v2"
        return self

    def paginate(self, Bucket, Prefix):  # noqa: N803 (pages of up to 1000 keys, as S3 answers)
        time.sleep(self.latency)
        keys = sorted(k for k in list(self.objects) if k.startswith(Prefix))
        now = datetime.now(UTC)
        for start in range(0, max(len(keys), 1), 1000):
            yield {"Contents": [{"Key": k, "Size": len(self.objects[k]), "LastModified": now}
                                for k in keys[start : start + 1000]]}  # fmt: skip

    def delete_object(self, Bucket, Key):  # noqa: N803
        time.sleep(self.latency)
        self.objects.pop(Key, None)


class SlowDynamoDB:
    """The vault table's small state (lock, GC generation), in memory, each call after `latency` seconds.
    Conditions are not evaluated: a benchmark runs one job at a time."""

    def __init__(self, latency: float):
        self.latency, self.items = latency, {}

    def get_item(self, TableName, Key, ConsistentRead=False):  # noqa: N803
        time.sleep(self.latency)
        item = self.items.get(Key["chunkHash"]["S"])
        return {"Item": item} if item else {}

    def update_item(self, TableName, Key, UpdateExpression, ExpressionAttributeValues, **_):  # noqa: N803
        time.sleep(self.latency)
        item = self.items.setdefault(Key["chunkHash"]["S"], dict(Key))
        names = _.get("ExpressionAttributeNames", {})
        if UpdateExpression.startswith("REMOVE "):  # the lock's release: its holder goes, the fence stays
            for name in UpdateExpression.removeprefix("REMOVE ").split(","):
                item.pop(names.get(name.strip(), name.strip()), None)
            return {}
        for assignment in UpdateExpression.removeprefix("SET ").split(","):
            name, value = (part.strip() for part in assignment.split("="))
            item[names.get(name, name)] = ExpressionAttributeValues[value]
        return {}

    def delete_item(self, TableName, Key, **_):  # noqa: N803
        time.sleep(self.latency)
        self.items.pop(Key["chunkHash"]["S"], None)
        return {}


KEY = b"k" * 32  # a keyed vault, as the backup's chunk ids are


def segments_with_data(data: bytes, settings: EngineSettings) -> list[tuple[int, bytes]]:
    """The segments a backup reads: EBS lists only blocks that hold data, so all-zero ones are never read."""
    seg = settings.segment_bytes
    out = []
    for index in range(-(-len(data) // seg)):
        segment = data[index * seg : (index + 1) * seg]
        if segment.count(0) != len(segment):
            out.append((index, segment))
    return out


def bare_one_core_seconds(segments: list[tuple[int, bytes]], settings: EngineSettings) -> float:
    """Chunk + hash + compress of new chunks in this process, on one core: no pipeline, no I/O."""
    codec, seen = Codec(settings.chunker.zstd_level), set()
    began = time.perf_counter()
    for _, segment in segments:
        for chunk in split(segment, settings.chunker, KEY):
            if chunk.digest not in seen:
                seen.add(chunk.digest)
                codec.compress(chunk.data)
    return time.perf_counter() - began


def cpu_only_seconds(segments: list[tuple[int, bytes]], settings: EngineSettings) -> float:
    """The job's CPU pipeline (the same processes a backup runs), fed from memory, deduplicating in memory."""
    seen: set[bytes] = set()
    stored = []
    bound = segments_in_flight(settings.pipeline, settings.lookup_window_bytes, settings.segment_bytes)
    began = time.perf_counter()
    with CpuPipeline(settings.chunker, KEY, bound, settings.pipeline) as cpu:
        for segment in cpu.chunked(segments):
            new = [p for p, digest in enumerate(segment.digests) if not (digest in seen or seen.add(digest))]
            cpu.compress(segment, new, lambda digest, frame, raw: stored.append(len(frame)))
        cpu.finish()
    return time.perf_counter() - began


def backup_seconds(data: bytes, settings: EngineSettings, latency: bool = True) -> tuple[float, FakeEbs]:
    ebs_latency, s3_latency, db_latency = (EBS_LATENCY, S3_LATENCY, DYNAMODB_LATENCY) if latency else (0, 0, 0)
    ebs = FakeEbs(latency_seconds=ebs_latency)
    volume = ebs.volume(-(-len(data) // 1024**3))
    for index in range(len(data) // BLOCK_SIZE):
        block = data[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
        if block.count(0) != len(block):
            volume.write(index, block)
    snapshot = ebs.take_snapshot(volume)
    bucket = VaultBucket(SlowS3(s3_latency), "bench")
    index = ChunkIndex(bucket, SlowDynamoDB(db_latency), "idx")
    vault = Vault("bench", bucket, index, VaultKey(FakeKms(), "bench-key"))
    job = JobRecord(None, None, "bench")
    began, began_cpu = time.perf_counter(), time.process_time()
    source = EbsSnapshotSource(EbsDirect(ebs), snapshot)
    run_backup(vault, source, BackupRequest("bench", "vol-1", "rp-1"), lambda payload: None, job, settings)
    # The backup's own CPU in this process: the fake volume written above (zero checks, the fake's checksums of
    # every block, EC2's work) is not the job's; before 2026-12-02 15:00 the printed figure included it.
    BACKUP_MAIN_CPU.append(time.process_time() - began_cpu)
    return time.perf_counter() - began, ebs


WORKER_CPU: list[float] = []  # CPU seconds of each worker process, taken as it is stopped
BACKUP_MAIN_CPU: list[float] = []  # CPU seconds of this process during each backup (not its fake's setup)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc): the worker is the forkserver's child, not ours."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count_worker_cpu() -> None:
    stop = pipeline._Worker.stop

    def counted(worker, kill: bool, timeout: float = 10.0) -> None:
        WORKER_CPU.append(_cpu_seconds(worker.process.pid))
        stop(worker, kill, timeout)

    pipeline._Worker.stop = counted


def with_cpu(measure, *args) -> tuple[float, float, float]:
    """(wall seconds, this process's CPU seconds, the workers' CPU seconds) of one measurement."""
    WORKER_CPU.clear()
    BACKUP_MAIN_CPU.clear()
    began = time.process_time()
    wall = measure(*args)
    wall = wall[0] if isinstance(wall, tuple) else wall
    main_cpu = BACKUP_MAIN_CPU[-1] if BACKUP_MAIN_CPU else time.process_time() - began
    return wall, main_cpu, sum(WORKER_CPU)


def _thread_cpu(tid: str) -> float:
    """A thread's CPU seconds: schedstat's run time in ns (exact; stat's utime + stime are sampled in clock
    ticks and, measured, miss half the time of 32 threads that each run in short bursts)."""
    return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0]) / 1e9


def backup_cpu_by_thread(data: bytes, settings: EngineSettings) -> dict[str, float]:
    """CPU seconds of this process's threads during one backup with I/O, by thread name (digits dropped):
    where the main process's time goes. Linux /proc, sampled every 100 ms (a thread's last 100 ms may be
    missed; the sampler's own time is listed)."""
    me = sys.modules[__name__]  # backup_seconds looks run_backup up in this module's globals at call time
    seen: dict[str, tuple[str, float]] = {}
    start: dict[str, float] = {}
    done = threading.Event()

    def sample() -> None:
        while True:
            names = {str(thread.native_id): thread.name for thread in threading.enumerate()}
            for tid in os.listdir("/proc/self/task"):
                try:
                    used = _thread_cpu(tid) - start.get(tid, 0.0)
                except OSError:
                    continue
                seen[tid] = (names.get(tid, seen.get(tid, ("?", 0.0))[0]), used)
            if done.wait(0.1):
                return

    inner = me.run_backup

    def sampled(*args, **kwargs):
        start.update({tid: _thread_cpu(tid) for tid in os.listdir("/proc/self/task")})
        sampler = threading.Thread(target=sample, name="cpu-sampler", daemon=True)
        sampler.start()
        try:
            return inner(*args, **kwargs)
        finally:
            done.set()
            sampler.join()

    me.run_backup = sampled
    try:
        backup_seconds(data, settings)
    finally:
        me.run_backup = inner
    by_name: dict[str, float] = {}
    for name, used in seen.values():
        key = name.rstrip("0123456789_-")
        by_name[key] = by_name.get(key, 0.0) + used
    return dict(sorted(by_name.items(), key=lambda item: -item[1]))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="generated volume data (default 1024 MiB)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; medians are shown")
    parser.add_argument("--workers", type=int, default=PipelineSettings().workers, help="CPU worker processes")
    parser.add_argument("--threads", action="store_true", help="also one backup's main-process CPU by thread")
    args = parser.parse_args()
    data = bytes(realistic_mix(args.mib * MIB))
    settings = dataclasses.replace(EngineSettings(), pipeline=PipelineSettings(workers=args.workers))
    segments = segments_with_data(data, settings)
    # A small job (8 segments with data) measures what every job pays however large: its serial calls (vault
    # configuration, lease, block listing, first reads, last lookup, last pack and its index entries, manifest,
    # lease again) and the worker's start. The marginal figures leave that out: they are what the job's size
    # costs, the rate of a large backup.
    small_segments = segments[:8]
    small_data = b"".join(segment for _, segment in small_segments)
    load_before = load()
    cpu_only_seconds(small_segments, settings)  # starts the forkserver once, as a long-running job has
    _count_worker_cpu()
    bare, cpu, cpu_small, no_wait, wall, wall_small, cpu_use, io_use = [], [], [], [], [], [], [], []
    for _ in range(args.runs):
        bare.append(bare_one_core_seconds(segments, settings))
        seconds, main_cpu, worker_cpu = with_cpu(cpu_only_seconds, segments, settings)
        cpu.append(seconds)
        cpu_use.append((main_cpu, worker_cpu))
        cpu_small.append(cpu_only_seconds(small_segments, settings))
        no_wait.append(backup_seconds(data, settings, latency=False)[0])
        seconds, main_cpu, worker_cpu = with_cpu(backup_seconds, data, settings)
        wall.append(seconds)
        io_use.append((main_cpu, worker_cpu))
        wall_small.append(backup_seconds(small_data, settings)[0])
    bare_s, cpu_s, cpu_small_s, no_wait_s, wall_s, wall_small_s = (
        statistics.median(x) for x in (bare, cpu, cpu_small, no_wait, wall, wall_small)
    )
    gib = args.mib / 1024
    cpu_main, cpu_worker = (statistics.median(x[i] for x in cpu_use) / gib for i in (0, 1))
    io_main, io_worker = (statistics.median(x[i] for x in io_use) / gib for i in (0, 1))
    ratio = cpu_s / wall_s
    marginal = (cpu_s - cpu_small_s) / (wall_s - wall_small_s)
    spread = f"{args.mib / max(wall):,.0f}-{args.mib / min(wall):,.0f}"
    print(f"data           {args.mib} MiB (text, incompressible, zeros, duplicates), 512 KiB blocks, "
          f"{len(segments)} with data")  # fmt: skip
    print(f"latency        EBS {EBS_LATENCY * 1000:.0f} ms ({READS_IN_FLIGHT} reads in flight), "
          f"S3 {S3_LATENCY * 1000:.0f} ms, DynamoDB {DYNAMODB_LATENCY * 1000:.0f} ms per call")  # fmt: skip
    print(f"runs           median of {args.runs}; load average {load_before} before, {load()} after")
    print(f"bare, 1 core   {args.mib / bare_s:,.0f} MiB/s (chunk + keyed BLAKE2b + zstd in one process; context)")
    print(f"cpu only       {args.mib / cpu_s:,.0f} MiB/s (the 2-vCPU job's pipeline: main process + "
          f"{args.workers} worker process(es), no I/O)")  # fmt: skip
    print(f"engine, no wait {args.mib / no_wait_s:,.0f} MiB/s (full backup, the same fakes answering at once)")
    print(f"with I/O       {args.mib / wall_s:,.0f} MiB/s (full backup, {len(segments) + 1:,} EBS calls; "
          f"runs {spread})")  # fmt: skip
    print(f"CPU per GiB    cpu only: main {cpu_main:.2f} s, worker {cpu_worker:.2f} s; with I/O: main {io_main:.2f} s "
          f"(its threads and the in-process fakes' calls, not the fake volume's setup), "
          f"worker {io_worker:.2f} s")  # fmt: skip
    print(f"per job        {wall_small_s:.2f} s with I/O, {cpu_small_s:.2f} s CPU only, for a {len(small_data) // MIB} "
          "MiB job: the serial calls every job makes")  # fmt: skip
    if args.threads:
        threads = backup_cpu_by_thread(data, settings)
        print("main by thread " + ", ".join(f"{name} {used / gib:.2f}" for name, used in threads.items())
              + " s/GiB (one backup with I/O)")  # fmt: skip
    print(f"ratio, job     {ratio:.0%} of the CPU-only pipeline for the whole {args.mib} MiB job")
    print(f"ratio, rate    {marginal:.0%} of the CPU-only pipeline per extra GiB (large jobs)   "
          f"target >= {TARGET:.0%}   {'OK' if marginal >= TARGET else 'BELOW TARGET'}")  # fmt: skip


if __name__ == "__main__":
    main()

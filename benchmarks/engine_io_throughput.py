"""Backup throughput with I/O: the whole engine against EBS, S3 and DynamoDB fakes that wait on every call.

Compares a full backup of generated data (EBS fake with 512 KiB blocks; S3 and DynamoDB in memory), each
call delayed by a typical in-region latency, with the CPU-only pipeline (chunk + hash + compress of the same
data, no I/O). Target: the job reaches at least 80% of its CPU-only speed, i.e. the I/O is overlapped.
Wall-clock figures on a shared machine vary; run it on an idle one.

    .venv/bin/python benchmarks/engine_io_throughput.py [--mib 256]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from botocore.exceptions import ClientError  # noqa: E402
from engine_throughput import realistic_mix  # noqa: E402

from engine.backup import BackupRequest, EngineSettings, run_backup  # noqa: E402
from engine.chunking import Codec, split  # noqa: E402
from engine.ebs import EbsDirect  # noqa: E402
from engine.index import ChunkIndex  # noqa: E402
from engine.jobs import JobRecord  # noqa: E402
from engine.packs import VaultBucket  # noqa: E402
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


class SlowS3:
    """The S3 calls a backup makes, in memory, each after `latency` seconds."""

    def __init__(self, latency: float):
        self.latency, self.objects, self._lock = latency, {}, threading.Lock()

    def put_object(self, Bucket, Key, Body, IfNoneMatch=None, **_):  # noqa: N803 (boto3 names)
        time.sleep(self.latency)
        with self._lock:
            if IfNoneMatch == "*" and Key in self.objects:
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
        return {"Body": _Body(body)}

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
        for assignment in UpdateExpression.removeprefix("SET ").split(","):
            name, value = (part.strip() for part in assignment.split("="))
            item[names.get(name, name)] = ExpressionAttributeValues[value]
        return {}

    def delete_item(self, TableName, Key, **_):  # noqa: N803
        time.sleep(self.latency)
        self.items.pop(Key["chunkHash"]["S"], None)
        return {}


def cpu_only_seconds(data: bytes, settings: EngineSettings) -> float:
    """The pipeline alone: the same chunking, hashing and compression, no I/O, same segment boundaries."""
    codec, seen = Codec(settings.chunker.zstd_level), set()
    began = time.perf_counter()
    for start in range(0, len(data), settings.segment_bytes):
        segment = memoryview(data)[start : start + settings.segment_bytes]
        if segment.nbytes and bytes(segment).count(0) == segment.nbytes:
            continue
        for chunk in split(segment, settings.chunker, b"k" * 32):
            if chunk.digest not in seen:
                seen.add(chunk.digest)
                codec.compress(chunk.data)
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
    began = time.perf_counter()
    source = EbsSnapshotSource(EbsDirect(ebs), snapshot)
    run_backup(vault, source, BackupRequest("bench", "vol-1", "rp-1"), lambda payload: None, job, settings)
    return time.perf_counter() - began, ebs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="generated volume data (default 256 MiB)")
    args = parser.parse_args()
    data = bytes(realistic_mix(args.mib * MIB))
    settings = EngineSettings()
    cpu = cpu_only_seconds(data, settings)
    no_wait, _ = backup_seconds(data, settings, latency=False)
    wall, ebs = backup_seconds(data, settings)
    ratio = cpu / wall
    print(f"data           {args.mib} MiB (text, incompressible, zeros, duplicates), 512 KiB blocks")
    print(f"latency        EBS {EBS_LATENCY * 1000:.0f} ms, S3 {S3_LATENCY * 1000:.0f} ms, "
          f"DynamoDB {DYNAMODB_LATENCY * 1000:.0f} ms per call")  # fmt: skip
    print(f"cpu only       {args.mib / cpu:,.0f} MiB/s (chunk + keyed BLAKE2b + zstd, no I/O)")
    print(f"engine, no wait {args.mib / no_wait:,.0f} MiB/s (full backup, the same fakes answering at once)")
    print(f"with I/O       {args.mib / wall:,.0f} MiB/s (full backup, {sum(ebs.calls.values()):,} EBS calls)")
    print(f"I/O overlap    {no_wait / wall:.0%} of the no-wait speed kept when every call waits")
    print(f"ratio          {ratio:.0%} of CPU-only speed   target >= {TARGET:.0%}   "
          f"{'OK' if ratio >= TARGET else 'BELOW TARGET'}")  # fmt: skip


if __name__ == "__main__":
    main()

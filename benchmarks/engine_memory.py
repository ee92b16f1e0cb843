"""Metadata memory and manifest bytes of the engine's jobs, per chunk, on synthetic chunks (no data).

Each job's metadata path runs with the engine's own code (engine/manifest.py, engine/backup.py's manifest
functions, engine/vault.py, engine/compact.py's mark, engine/bounded.py) against a bucket kept in a local
directory (a fake S3 client under the real VaultBucket: manifests go up with put_object or multipart
upload and come down as streamed GetObject bodies). Every job runs in its own process, and its memory is
the growth of its peak RSS over the process's RSS before it started (interpreter and imports). The jobs:

- backup (full): writes a manifest for every chunk of the volume (synthetic 32-byte digests, lengths
  adding up to each 512 KiB segment) through the streaming writer to a spool file, remembers digests in the
  bounded seen-set as a backup does, holds the segment plan (the source's set of segments with data, the
  sorted list to read) and uploads the manifest;
- backup (incremental, 2% of segments changed): opens the parent (spooled, MAC-checked, its segment table),
  plans, and writes parent ranges for the unchanged runs;
- restore: opens the incremental manifest and streams every resolved segment through its parent, after the
  whole-chain check restore does first;
- scan: the same stream, with the bounded set of chunks checked;
- compaction mark: streams every manifest into the Bloom filter and asks it about every chunk once (the
  sweep's "is this digest live?"); with `--full-manifests N` the bucket holds N full manifests of the volume
  (copies of the backup's: a retention of N chains, N references per unique chunk), and the filter is sized by
  the volume's unique chunks, as the vault's index blobs would count them (engine/compact.py mark).

- EBS listing and reads (`ebs`): the engine's EBS adapter (engine/ebs.py, engine/sources.py) and the
  backup's plan (engine/backup.py plan_segments) against a synthetic EBS client that answers
  ListSnapshotBlocks, ListChangedBlocks and GetSnapshotBlock from arithmetic (every block holds data, 2%
  changed, tokens of AWS's length, one shared 512 KiB block with its SHA-256): the incremental backup's
  listing of every block, the changed-block listing, the plan, and the reads of the changed blocks (checksums
  checked) spread over the whole volume. One block is one 512 KiB segment, ~8 chunks: its figure per chunk
  is its figure per block / 8, and it includes the plan's 8 bytes a segment.

Not included (other parts of issue 14, measured elsewhere or not yet bounded): the dedup index's entries
that compaction's condemn step holds (engine/index.py, moving to S3), chunk data buffers.

Target (issue 14): a 16 TiB volume (~270 M chunks of 64 KiB) within an 8 GiB task, about 32 bytes per chunk,
using at most 200 GiB of ephemeral storage (spool files).

    .venv/bin/python benchmarks/engine_memory.py [--chunks 2000000] [--tib 1] [--full-manifests 13]

`--tib 1` adds a run with 1 TiB-scale metadata (~16.8 M chunks); it takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent.parent / "src")]

from elastio_pulumi.job_definitions import JOB_SIZES  # noqa: E402 (the deployed task sizes, against the figures)

KIB, MIB, GIB, TIB = 1024, 1024**2, 1024**3, 1024**4
CHUNK_AVG = 64 * KIB
SEGMENT = 512 * KIB
PER_SEGMENT = SEGMENT // CHUNK_AVG
TASK_BYTES = 8 * GIB
TARGET_VOLUME = 16 * TIB
TARGET_CHUNKS = TARGET_VOLUME // CHUNK_AVG
EPHEMERAL_BYTES = 200 * GIB
CHANGED = 0.02
JOBS = ("backup", "incremental", "restore", "scan", "compaction", "ebs")
# The job definition each measured job runs under (src/elastio_pulumi/job_definitions.py).
JOB_DEFINITION = {"backup": "backup", "incremental": "backup", "restore": "restore", "scan": "scan",
                  "compaction": "compact", "ebs": "backup"}  # fmt: skip


# ---- a bucket in a directory, behind the real VaultBucket -----------------------------------------------------


class _Body:
    def __init__(self, path: Path, start: int = 0, length: int | None = None):
        self._file = open(path, "rb")  # noqa: SIM115 - closed when read to the end
        self._file.seek(start)
        self._left = path.stat().st_size - start if length is None else length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def iter_chunks(self, size: int):
        while block := self.read(size):
            yield block
        self._file.close()


class DirectoryS3:
    """The S3 calls VaultBucket makes for manifests, on files (objects never held in this process's memory)."""

    def __init__(self, root: Path):
        self.root = root
        self.uploads: dict[str, list[Path]] = {}

    def _path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put_object(self, Bucket, Key, Body, **_):  # noqa: N803 - boto3's names
        self._path(Key).write_bytes(Body if isinstance(Body, bytes) else Body.read())

    def create_multipart_upload(self, Bucket, Key, **_):  # noqa: N803
        self.uploads[Key] = []
        return {"UploadId": Key}

    def upload_part(self, Bucket, Key, UploadId, PartNumber, Body):  # noqa: N803
        part = self._path(f"{Key}.part{PartNumber}")
        part.write_bytes(Body)
        self.uploads[UploadId].append(part)
        return {"ETag": str(PartNumber)}

    def complete_multipart_upload(self, Bucket, Key, UploadId, MultipartUpload):  # noqa: N803
        with open(self._path(Key), "wb") as out:
            for part in self.uploads.pop(UploadId):
                with open(part, "rb") as block:
                    shutil.copyfileobj(block, out, MIB)
                part.unlink()

    def get_object(self, Bucket, Key, Range=None):  # noqa: N803
        path = self._path(Key)
        if not path.exists():
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        if Range:
            first, last = (int(n) for n in Range.removeprefix("bytes=").split("-"))
            return {"Body": _Body(path, first, last - first + 1)}
        return {"Body": _Body(path)}

    def head_object(self, Bucket, Key):  # noqa: N803
        return {"ContentLength": self._path(Key).stat().st_size}

    def get_paginator(self, name):
        root = self.root

        class Pages:
            def paginate(self, Bucket, Prefix):  # noqa: N803
                found = sorted(p for p in (root / Prefix).rglob("*") if p.is_file())
                when = __import__("datetime").datetime.now(__import__("datetime").UTC)
                yield {"Contents": [
                    {"Key": str(p.relative_to(root)), "Size": p.stat().st_size, "LastModified": when} for p in found
                ]}  # fmt: skip

        return Pages()


def bench_vault(root: Path):
    from engine.packs import VaultBucket
    from engine.vault import Vault
    from engine.vaultconfig import KEYED, VaultConfig

    vault = Vault("bench", VaultBucket(DirectoryS3(root), "bench"), index=None)
    vault.__dict__["config"] = VaultConfig(KEYED, b"s" * 32, manifest_format=3)
    return vault


def clone_full_manifest(root: Path, source_rp: str, target_rp: str) -> None:
    """Another point's full manifest over the same chunks (an older chain of the volume), without chunking again:
    the source's bytes with the recovery point id in its header replaced (ids of equal length, so every offset
    stays) and the MAC computed again, so the copy names its own key (engine/vault.py checks it)."""
    from engine.manifest import MAC_BYTES, new_mac

    if len(source_rp) != len(target_rp):
        raise ValueError("recovery point ids of equal length only")
    source = root / "manifests" / "vol-1" / f"{source_rp}.manifest"
    size = source.stat().st_size
    mac = new_mac(bench_vault(root).config.manifest_key)
    old_id, new_id = f'"recoveryPointId":"{source_rp}"'.encode(), f'"recoveryPointId":"{target_rp}"'.encode()
    with open(source, "rb") as src, open(source.with_name(f"{target_rp}.manifest"), "wb") as out:
        left, first = size - MAC_BYTES, True
        while left:
            block = src.read(min(MIB, left))
            left -= len(block)
            if first:
                if block.count(old_id) != 1:
                    raise ValueError(f"{source}: its header does not name {source_rp} once")
                block, first = block.replace(old_id, new_id), False
            mac.update(block)
            out.write(block)
        out.write(mac.digest())


def older_chains(count: int) -> list[str]:
    """Ids for `count` older full manifests, as long as "rp-1" (clone_full_manifest keeps offsets)."""
    return [f"rp-{chr(ord('a') + n)}" for n in range(count)]


# ---- synthetic volume ------------------------------------------------------------------------------------------


def segment_chunks(index: int, generation: int = 0):
    from engine.manifest import ChunkRef

    rng = random.Random(index * 1000 + generation)
    lengths = [rng.randint(40 * KIB, 72 * KIB) for _ in range(PER_SEGMENT - 1)]  # the last one gets the rest
    lengths.append(SEGMENT - sum(lengths))
    return [ChunkRef(rng.randbytes(32), n) for n in lengths]


class Source:
    def __init__(self, segments: int, snapshot_id: str):
        self.volume_bytes, self.snapshot_id = segments * SEGMENT, snapshot_id


def is_changed(index: int) -> bool:
    """About CHANGED of the segments (blocks), spread over the volume, decided from the index alone."""
    return (index * 2654435761) % 4294967291 % round(1 / CHANGED) == 0


def changed(segments: int):
    """The changed segments, ascending, as a listing streams them (nothing held)."""
    return (index for index in range(segments) if is_changed(index))


# ---- a synthetic EBS direct APIs client: every answer computed, nothing per block stored ----------------------


class SyntheticEbs:
    """ListSnapshotBlocks, ListChangedBlocks and GetSnapshotBlock of a snapshot whose every block holds data
    (and its parent's, which differs in the `is_changed` blocks). Tokens are as long as AWS's (~100
    characters); pages hold MaxResults blocks; reads return one shared block and its checksum."""

    def __init__(self, blocks: int):
        import base64
        import hashlib

        self.blocks = blocks
        self.data = random.Random(1).randbytes(SEGMENT)
        self.checksum = base64.b64encode(hashlib.sha256(self.data).digest()).decode()
        self._b64 = base64.b64encode

    def _token(self, snapshot: str, index: int) -> str:
        return self._b64(f"{snapshot}:{index:012d}:".encode().ljust(72, b"t")).decode()

    def _page(self, key: str, entries: list, end: int) -> dict:
        from datetime import UTC, datetime, timedelta

        page = {key: entries, "ExpiryTime": datetime.now(UTC) + timedelta(hours=1), "BlockSize": SEGMENT,
                "VolumeSize": -(-self.blocks * SEGMENT // GIB)}  # fmt: skip
        return page | ({"NextToken": str(end)} if end < self.blocks else {})

    def list_snapshot_blocks(self, SnapshotId, MaxResults, NextToken=None, StartingBlockIndex=0):  # noqa: N803
        start = int(NextToken) if NextToken else StartingBlockIndex
        end = min(self.blocks, start + MaxResults)
        blocks = [{"BlockIndex": i, "BlockToken": self._token(SnapshotId, i)} for i in range(start, end)]
        return self._page("Blocks", blocks, end)

    def list_changed_blocks(self, FirstSnapshotId, SecondSnapshotId, MaxResults, NextToken=None,  # noqa: N803
                            StartingBlockIndex=0):  # fmt: skip
        index = int(NextToken) if NextToken else StartingBlockIndex
        changed = []
        while index < self.blocks and len(changed) < MaxResults:
            if is_changed(index):
                changed.append({"BlockIndex": index, "FirstBlockToken": self._token(FirstSnapshotId, index),
                                "SecondBlockToken": self._token(SecondSnapshotId, index)})  # fmt: skip
            index += 1
        return self._page("ChangedBlocks", changed, index)

    def get_snapshot_block(self, SnapshotId, BlockIndex, BlockToken):  # noqa: N803
        import io

        assert BlockToken == self._token(SnapshotId, BlockIndex), "a token of another block"
        return {"BlockData": io.BytesIO(self.data), "DataLength": SEGMENT, "Checksum": self.checksum,
                "ChecksumAlgorithm": "SHA256"}  # fmt: skip


# ---- one job per process -----------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_job(job: str, segments: int, root: Path) -> dict:
    from engine.backup import (
        BackupRequest,
        BackupResult,
        EngineSettings,
        ParentManifest,
        commit_manifest,
        finish_manifest,
        plan_segments,
        start_manifest,
    )
    from engine.bounded import RecentDigests
    from engine.compact import CompactionReport, mark
    from engine.manifest import manifest_key, segment_table

    vault = bench_vault(root)
    settings = EngineSettings()
    os.environ["ELASTIO_ENGINE_WORK_DIR"] = str(root / "spool")
    (root / "spool").mkdir(exist_ok=True)
    baseline = rss_bytes()
    started = time.monotonic()
    out: dict = {}
    if job in ("backup", "incremental"):
        rp, parent_id = ("rp-1", None) if job == "backup" else ("rp-2", "rp-1")
        request = BackupRequest("bench", "vol-1", rp, parent_id)
        source = Source(segments, f"snap-{rp}")
        parent = None
        if parent_id:
            opened = vault.open_manifest(manifest_key("vol-1", parent_id))
            parent = ParentManifest(opened, segment_table(opened))
        class Planned:
            volume_bytes, snapshot_id = source.volume_bytes, source.snapshot_id

            def segments_with_data(self, _):
                return range(segments)

            def changed_segments(self, _parent, _size):
                return changed(segments) if parent else None

        to_read, to_copy = plan_segments(Planned(), parent, settings.segment_bytes)
        manifest = start_manifest(vault, request, source, settings, parent, to_copy)
        known = RecentDigests()
        for index in to_read:
            chunks = segment_chunks(index, 1 if parent else 0)
            for ref in chunks:
                known.add(ref.digest)
            manifest.segment(index, chunks)
        result = BackupResult(None, manifest_key("vol-1", rp))
        finish_manifest(vault, result, manifest, parent)
        commit_manifest(vault, result)
        out["manifestBytes"] = result.manifest_bytes
        out["chunks"] = result.manifest.chunk_count
    elif job in ("restore", "scan"):
        opened = vault.open_manifest(manifest_key("vol-1", "rp-2"))
        checked = RecentDigests() if job == "scan" else None
        if job == "restore":
            for _ in opened.iter_segments():
                pass
        count = 0
        for segment in opened.iter_segments():
            for ref in segment.chunks:
                count += 1
                if checked is not None and ref.digest not in checked:
                    checked.add(ref.digest)
        out["chunks"] = count
    elif job == "compaction":
        report = CompactionReport()
        live, freed = mark(vault, [], report, unique_chunks=segments * PER_SEGMENT)
        asked = 0
        for index in range(segments):
            for ref in segment_chunks(index):
                asked += ref.digest in live
        out["chunks"] = asked
        out["spoolBytes"] = live.spooled_bytes
        out["filterBytes"] = live.filter.memory_bytes
        out["offered"] = live.references  # references offered to the filter: a segment already marked is not
        live.close()
        listing_started = time.monotonic()
        listed = 0  # references the live manifests list (read after the timing: not the mark's work)
        for info in vault.manifest_objects():
            manifest = vault.open_manifest(info.key)
            listed += manifest.chunk_count
            manifest.close()
        out["references"] = listed
        started += time.monotonic() - listing_started
    elif job == "ebs":
        from engine.ebs import EbsDirect
        from engine.sources import EbsSnapshotSource

        class WholeParent:  # a parent manifest holding every segment: unchanged ones are copied, not read
            snapshot_id = "snap-parent"

            def holds(self, index: int) -> bool:
                return True

        client = SyntheticEbs(segments)
        source = EbsSnapshotSource(EbsDirect(client), "snap-child")
        to_read, to_copy = plan_segments(source, WholeParent(), settings.segment_bytes)
        read = 0
        for _index, data in source.read_segments(to_read, settings.segment_bytes):
            read += len(data) == SEGMENT
        out["chunks"] = segments * PER_SEGMENT
        out["blocks"], out["blocksRead"], out["blocksCopied"] = segments, read, len(to_copy)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.update(job=job, memoryBytes=max(0, peak - baseline), seconds=round(time.monotonic() - started, 1))
    return out


def run_all(chunks: int, full_manifests: int = 1) -> dict[str, dict]:
    segments = max(1, chunks // PER_SEGMENT)
    root = Path(tempfile.mkdtemp(prefix="engine-memory-"))
    try:
        figures = {}
        for job in JOBS:
            if job == "compaction":  # older chains' full manifests: the same chunks listed again
                for rp in older_chains(full_manifests - 1):
                    clone_full_manifest(root, "rp-1", rp)
            answer = subprocess.run(
                [sys.executable, __file__, "--job", job, "--segments", str(segments), "--root", str(root)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            figures[job] = json.loads(answer.stdout.strip().splitlines()[-1])
        figures["chunks"] = segments * PER_SEGMENT
        return figures
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(figures: dict, label: str) -> None:
    n = figures["chunks"]
    full, incremental = figures["backup"]["manifestBytes"], figures["incremental"]["manifestBytes"]
    print(f"{label}: {n:,} synthetic chunks of 64 KiB average in 512 KiB segments ({n * CHUNK_AVG / TIB:.2f} TiB)")
    at_target = full / n * TARGET_CHUNKS / GIB
    print(f"  manifest in S3    full {full / n:5.1f} bytes/chunk ({full / MIB:,.1f} MiB, {at_target:.1f} GiB at "
          "16 TiB); "
          f"incremental, {CHANGED:.0%} changed: {incremental / n:4.2f} bytes/chunk "
          f"({incremental / MIB:,.2f} MiB)")  # fmt: skip
    spool = figures["compaction"]["spoolBytes"] + full + incremental
    disk = spool / n * TARGET_CHUNKS / GIB
    references, offered = figures["compaction"]["references"] / n, figures["compaction"]["offered"] / n
    print(f"  compaction mark   {references:.1f} references per unique chunk in the live manifests, {offered:.1f} "
          "offered to the filter (a segment already marked is skipped); spooled "
          f"{figures['compaction']['spoolBytes'] / n:.1f} bytes and a filter of "
          f"{figures['compaction']['filterBytes'] / n:.1f} bytes per unique chunk")  # fmt: skip
    print(f"  spool on disk     compaction {spool / n:5.1f} bytes/chunk (manifests + live digests): "
          f"{disk:,.0f} GiB at 16 TiB, target <= {EPHEMERAL_BYTES / GIB:.0f} GiB; the compact job definition "
          f"gives {JOB_SIZES['compact'].ephemeral_gib} GiB for these and the index view")  # fmt: skip
    names = {
        "backup": "backup, full (writer, seen set, plan)",
        "incremental": "backup, incremental (parent table, ranges)",
        "restore": "restore (checked, then streamed)",
        "scan": "scan (streamed, checked set)",
        "compaction": "compaction mark (Bloom filter, asked per chunk)",
        "ebs": "EBS listing + plan + reads (2% changed)",
    }
    for job in JOBS:
        memory = figures[job]["memoryBytes"]
        print(f"  {names[job]:48} {memory / MIB:7.1f} MiB {memory / n:6.1f} bytes/chunk in memory "
              f"({figures[job]['seconds']:5.1f} s)")  # fmt: skip
    ebs = figures["ebs"]
    print(f"  EBS: {ebs['blocks']:,} blocks of 512 KiB listed, {ebs['blocksRead']:,} read (checksums checked), "
          f"{ebs['blocksCopied']:,} copied from the parent; {ebs['memoryBytes'] / ebs['blocks']:.1f} bytes/block")


def growth(small: dict, large: dict) -> None:
    """Bytes each further chunk costs: what decides whether 16 TiB fits, apart from fixed buffers."""
    dn = large["chunks"] - small["chunks"]
    print(f"growth between {small['chunks']:,} and {large['chunks']:,} chunks (bytes per further chunk), against "
          f"each job definition's memory (target <= {TASK_BYTES / GIB:.0f} GiB; `ebs` is a backup's EBS listing, "
          "plan and reads, engine/ebs.py):")  # fmt: skip
    for job in JOBS:
        per = (large[job]["memoryBytes"] - small[job]["memoryBytes"]) / dn
        at_target = large[job]["memoryBytes"] + per * (TARGET_CHUNKS - large["chunks"])
        task = int(JOB_SIZES[JOB_DEFINITION[job]].memory_mib) * MIB
        verdict = "OK" if at_target <= min(task, TASK_BYTES) else "ABOVE"
        per_block = f" ({per * PER_SEGMENT:5.1f} bytes/block)" if job == "ebs" else ""
        print(f"  {job:12} {per:6.1f} bytes/chunk{per_block} -> {at_target / GIB:5.2f} GiB at 16 TiB "
              f"(task {task / GIB:.0f} GiB, {task / TARGET_CHUNKS:.0f} bytes/chunk)  {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2_000_000)
    parser.add_argument("--tib", type=float, default=0.0, help="also run with this many TiB of metadata")
    parser.add_argument(
        "--full-manifests", type=int, default=1, choices=range(1, 27), help="full manifests compaction marks"
    )
    parser.add_argument("--job", choices=JOBS, help=argparse.SUPPRESS)
    parser.add_argument("--segments", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.job, args.segments, args.root)))
        return
    print("memory: peak RSS growth of each job's own process; timings on a shared machine are noisy")
    print("small runs are dominated by fixed buffers (1 MiB blocks, the bounded recent-digest sets, 64 MiB upload "
          "parts): what decides 16 TiB is the growth per further chunk")
    small = run_all(args.chunks // 2, args.full_manifests)
    base = run_all(args.chunks, args.full_manifests)
    report(base, "run")
    if not args.tib:
        growth(small, base)
        return
    large = run_all(int(args.tib * TIB / CHUNK_AVG), args.full_manifests)
    report(large, f"{args.tib:g} TiB-scale run")
    growth(base, large)

if __name__ == "__main__":
    main()

"""Compaction's mark holds memory and disk per unique chunk of the vault, not per chunk reference.

Every full manifest (one per MAX_CHAIN_DEPTH + 1 points) re-lists its whole volume, so the live manifests hold
about 1 + retention_days x (1/9 + change rate) references per unique chunk: 13 at 90 days, 42 at 365. Issue 14's
target (a vault with 16 TiB of unique data compacts within an 8 GiB task and 200 GiB of ephemeral storage)
holds at any retention only if the mark's Bloom filter and its spool of live digests grow with unique chunks.
"""

import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from engine_world import SMALL, volume_bytes

from engine.backup import BackupRequest, run_backup
from engine.bounded import spool_file
from engine.compact import CompactionReport, CompactionSettings, mark, run_compaction
from engine.index import ChunkIndex, IndexEntry
from engine.manifest import ChunkRef, ManifestHeader, ManifestWriter, manifest_key
from engine.restore import FileSink, run_restore
from engine.scan import scan_manifest
from engine.sources import ImageFileSource

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import engine_memory  # noqa: E402  (a bucket in a directory behind the real VaultBucket: no fake S3 in memory)

SEGMENT = 512 * 1024
PER_SEGMENT = 8
SEGMENTS = 2000  # 16,000 unique chunks: the filter (2 bytes a chunk) dwarfs the mark's fixed buffers' noise


def volume_chunks(segments: int) -> list[list[ChunkRef]]:
    """A volume's chunks per 512 KiB segment: synthetic digests, lengths adding up to the segment."""
    rng = random.Random(5)
    out = []
    for _ in range(segments):
        lengths = [rng.randint(40 * 1024, 72 * 1024) for _ in range(PER_SEGMENT - 1)]
        lengths.append(SEGMENT - sum(lengths))
        out.append([ChunkRef(rng.randbytes(32), n) for n in lengths])
    return out


def write_full_manifest(vault, rp: str, segments: list[list[ChunkRef]]) -> None:
    header = ManifestHeader(
        vault_name=vault.name, asset_id="vol-1", recovery_point_id=rp, snapshot_id=f"snap-{rp}",
        volume_bytes=len(segments) * SEGMENT, segment_bytes=SEGMENT, chunker={"avg_size": 65536},
        created_at="2026-12-02T00:00:00Z",
    )  # fmt: skip
    writer = ManifestWriter(spool_file(), header, vault.config.manifest_key)
    for index, chunks in enumerate(segments):
        writer.segment(index, chunks)
    writer.finish()
    vault.write_manifest(manifest_key("vol-1", rp), writer.spool)


def index_the_chunks(vault, segments: list[list[ChunkRef]]) -> int:
    """What the backups would have indexed: one entry per unique chunk (pack keys only named, never read here)."""
    entries = [
        IndexEntry(ref.digest, f"packs/{index // 64:04d}.pack", 0, ref.raw_length // 2, ref.raw_length)
        for index, chunks in enumerate(segments)
        for ref in chunks
    ]
    vault.index.write_blob(entries)
    return len(entries)


def measure_mark(vault) -> dict:
    """The mark's peak traced memory (Python allocations: the filters, buffers, records in flight) and the size of
    its spool file of live digests."""
    report = CompactionReport()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        live, _freed = mark(vault, [], report)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        for _ in live:  # flushes its buffer to the spool file
            pass
        return {"held": peak - before, "spool": os.fstat(live._spool.fileno()).st_size}
    finally:
        live.close()


@pytest.fixture
def directory_vault(tmp_path, monkeypatch):
    monkeypatch.setenv("ELASTIO_ENGINE_WORK_DIR", str(tmp_path))
    vault = engine_memory.bench_vault(tmp_path / "bucket")
    vault.index = ChunkIndex(vault.bucket, None, "unused")  # index blobs in the bucket; no table call here
    return vault


@pytest.mark.parametrize("full_manifests", [13])
def test_the_marks_memory_and_spool_per_unique_chunk_do_not_grow_with_retention(directory_vault, full_manifests):
    vault = directory_vault
    segments = volume_chunks(SEGMENTS)
    unique = index_the_chunks(vault, segments)
    write_full_manifest(vault, "rp-0000", segments)
    one = measure_mark(vault)
    for n in range(1, full_manifests):  # a volume kept ~90 days at 2%/day: 13 references per unique chunk
        write_full_manifest(vault, f"rp-{n:04d}", segments)
    many = measure_mark(vault)

    held_growth = (many["held"] - one["held"]) / unique
    assert held_growth < 4, (
        f"mark holds {one['held'] / unique:.1f} bytes per unique chunk with 1 full manifest and "
        f"{many['held'] / unique:.1f} with {full_manifests}: it grows with references"
    )
    # Each live digest is spooled at most once, whatever the number of manifests listing it.
    assert many["spool"] <= 32 * unique, f"{many['spool'] / unique:.1f} spooled bytes per unique chunk"
    assert one["spool"] <= 32 * unique


def backup(vault, job, registered, tmp_path, rp: str, data: bytes):
    image = tmp_path / f"{rp}.img"
    image.write_bytes(data)
    request = BackupRequest(f"job-{rp}", "vol-1", rp)
    return run_backup(vault, ImageFileSource(image, f"snap-{rp}"), request, registered, job, SMALL)


def test_a_live_chunk_only_the_last_listed_of_many_full_manifests_holds_is_not_swept(vault, job, registered, tmp_path):
    """Many full manifests list the same chunks; one segment's chunks are in the last manifest listed only, in a
    pack that is otherwise garbage. However the mark dedupes digests and sizes its filter, they are live."""
    shared = bytes(volume_bytes(2 * SMALL.segment_bytes, seed=11))  # whole segments: same chunks in every point
    garbage = bytes(volume_bytes(SMALL.segment_bytes, seed=13))
    own = bytes(volume_bytes(SMALL.segment_bytes // 4, seed=12))
    for n in range(9):
        backup(vault, job, registered, tmp_path, f"rp-{n:02d}", shared)
    # rp-98 stores `own` beside garbage and expires; rp-99, listed last, reuses `own` from rp-98's packs.
    backup(vault, job, registered, tmp_path, "rp-98", garbage + own)
    last = backup(vault, job, registered, tmp_path, "rp-99", shared + own)
    assert sorted(info.key for info in vault.manifest_objects())[-1] == last.manifest_key

    settings = CompactionSettings(pack_bytes=SMALL.pack_bytes, rewrite_below=1.0)
    run_compaction(vault, job, [manifest_key("vol-1", "rp-98")], settings, clock=lambda: time.time() + 3600)
    after = time.time() + settings.grace_seconds + 3 * 3600
    report = run_compaction(vault, job, [], settings, clock=lambda: after)

    assert report.packs_deleted and report.chunks_deleted and report.chunks_moved
    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(last.manifest_key), FileSink(restored), job)
    assert restored.read_bytes() == shared + own
    assert scan_manifest(vault, vault.read_manifest(last.manifest_key)).healthy

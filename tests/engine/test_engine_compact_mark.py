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
from array import array
from pathlib import Path

import pytest
from engine_world import SMALL, volume_bytes

import engine.bounded
import engine.compact
from engine.backup import BackupRequest, run_backup
from engine.bounded import DigestFilter, SeenSegments, spool_file
from engine.compact import CompactionReport, CompactionSettings, mark, run_compaction
from engine.index import ChunkIndex, IndexEntry
from engine.manifest import ChunkRef, ManifestHeader, ManifestWriter, Totals, manifest_key
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


# ---- the mark's work follows distinct segments, not references ------------------------------------------------


def write_manifest(vault, rp: str, segments: list[list[ChunkRef]], parent: tuple[str, bytes] | None = None,
                   from_parent: range = range(0)) -> bytes:  # fmt: skip
    """A full manifest, or (with `parent`: its id and MAC) an incremental one whose segments in `from_parent`
    are a parent range. Returns its MAC."""
    header = ManifestHeader(
        vault_name=vault.name, asset_id="vol-1", recovery_point_id=rp, snapshot_id=f"snap-{rp}",
        volume_bytes=len(segments) * SEGMENT, segment_bytes=SEGMENT, chunker={"avg_size": 65536},
        created_at="2026-12-02T00:00:00Z", parent_recovery_point_id=parent and parent[0],
        references_parent=parent is not None, parent_mac=parent and parent[1], depth=1 if parent else 0,
    )  # fmt: skip
    writer = ManifestWriter(spool_file(), header, vault.config.manifest_key)
    for index, chunks in enumerate(segments):
        if index in from_parent:
            if index == from_parent.start:
                copied = Totals(len(from_parent), len(from_parent) * PER_SEGMENT, len(from_parent) * SEGMENT)
                writer.parent_range(from_parent.start, from_parent.stop, copied,
                                    array("q", [PER_SEGMENT] * len(from_parent)))  # fmt: skip
            continue
        writer.segment(index, chunks)
    mac = writer.finish()
    vault.write_manifest(manifest_key("vol-1", rp), writer.spool)
    return mac


def changed_volume(segments: list[list[ChunkRef]], seed: int, changes: int) -> list[list[ChunkRef]]:
    """The volume with `changes` segments rewritten (new chunks, same lengths): a later full backup."""
    rng = random.Random(seed)
    out = list(segments)
    for index in rng.sample(range(len(segments)), changes):
        out[index] = [ChunkRef(rng.randbytes(32), ref.raw_length) for ref in segments[index]]
    return out


class CountingFilter(DigestFilter):
    """The mark's filters, counting every per-reference operation (a probe or an add) instead of timing them."""

    operations = 0

    def add(self, digest: bytes) -> None:
        CountingFilter.operations += 1
        super().add(digest)

    def __contains__(self, digest: bytes) -> bool:
        CountingFilter.operations += 1
        return super().__contains__(digest)


def filter_operations(vault, monkeypatch) -> int:
    monkeypatch.setattr(engine.compact, "DigestFilter", CountingFilter)
    monkeypatch.setattr(engine.bounded, "DigestFilter", CountingFilter)  # LiveSet's filter
    CountingFilter.operations = 0
    live, _freed = mark(vault, [], CompactionReport())
    live.close()
    return CountingFilter.operations


CHANGED_PER_FULL = 5


def test_the_marks_filter_operations_follow_distinct_segments_not_references(directory_vault, monkeypatch):
    """Issue: the mark offered every reference to the filter (2-14 us each in Python), so a volume kept 365 days
    (42 references per unique chunk) took up to the 48 h job timeout. 13 full manifests of one volume, each
    with a few segments changed: the operations may grow by the changed segments' chunks only."""
    vault = directory_vault
    volume = volume_chunks(SEGMENTS)
    index_the_chunks(vault, volume)
    write_manifest(vault, "rp-0000", volume)
    one = filter_operations(vault, monkeypatch)
    changed_chunks = 0
    for n in range(1, 13):
        volume = changed_volume(volume, n, CHANGED_PER_FULL)
        changed_chunks += CHANGED_PER_FULL * PER_SEGMENT
        write_manifest(vault, f"rp-{n:04d}", volume)
    many = filter_operations(vault, monkeypatch)
    # A new chunk costs a probe and an add; an unchanged segment nothing.
    assert many - one <= 2 * changed_chunks, (
        f"{one} filter operations with 1 full manifest, {many} with 13 ({many / one:.1f}x): they grow with references"
    )


class NeverSeen(SeenSegments):
    """The mark as it was: every segment offered to the filter again."""

    def seen(self, key: bytes) -> bool:
        return False


@pytest.mark.parametrize("capacity", [None, 64])  # 64: the bounded set forgets, which may cost work only
def test_skipping_marked_segments_leaves_the_filters_and_the_spool_exactly_as_a_full_mark(
    directory_vault, monkeypatch, capacity
):
    """Ten full manifests with a few changed segments each, an incremental one resolving most of its segments
    through the last full one, and a doomed full manifest (its chunks go to `freed`): the mark that skips
    segments it already marked gives the same filter bits (so the same answer for every chunk of the vault,
    and the same condemned, kept and copied chunks) and the same spooled digests as the mark offering every
    reference."""
    vault = directory_vault
    volume = volume_chunks(400)
    versions = [volume]
    for n in range(1, 10):
        versions.append(changed_volume(versions[-1], 100 + n, 3))
    macs = [write_manifest(vault, f"rp-{n:04d}", chunks) for n, chunks in enumerate(versions)]
    newest = list(versions[-1])  # changed outside its parent range only: the range is the parent's segments
    for index in (10, 20, 370):
        newest[index] = [ChunkRef(random.Random(index).randbytes(32), ref.raw_length) for ref in newest[index]]
    write_manifest(vault, "rp-0010", newest, parent=("rp-0009", macs[-1]), from_parent=range(50, 350))
    doomed_volume = changed_volume(versions[0], 300, 40)
    write_manifest(vault, "rp-0000-doomed", doomed_volume)
    every_chunk = {ref.digest for chunks in [*versions, newest, doomed_volume] for s in chunks for ref in s}
    every_chunk |= {random.Random(7).randbytes(32) for _ in range(20000)}  # garbage: in no manifest
    index_the_chunks(vault, [list(s) for chunks in versions for s in chunks])
    monkeypatch.setattr(engine.bounded.secrets, "randbits", lambda bits: 0x9E3779B97F4A7C15)  # same filter salts

    def small(self, _bound: int) -> None:
        SeenSegments.__init__(self, capacity)

    def run(seen_class) -> tuple:
        monkeypatch.setattr(engine.compact, "SeenSegments", seen_class, raising=False)
        monkeypatch.setattr(engine.compact, "DigestFilter", CountingFilter)
        monkeypatch.setattr(engine.bounded, "DigestFilter", CountingFilter)
        CountingFilter.operations = 0
        live, freed = mark(vault, [manifest_key("vol-1", "rp-0000-doomed")], CompactionReport())
        operations = CountingFilter.operations
        try:
            answers = {digest: (digest in live, digest in freed) for digest in every_chunk}
            return bytes(live.filter._array), bytes(freed._array), sorted(live), answers, operations
        finally:
            live.close()

    bounded = SeenSegments if capacity is None else type("Small", (SeenSegments,), {"__init__": small})
    skipping, full = run(bounded), run(NeverSeen)
    assert skipping[0] == full[0], "the live filter's bits differ"
    assert skipping[1] == full[1], "the freed filter's bits differ"
    assert skipping[2] == full[2], "the spooled live digests differ"
    assert skipping[3] == full[3]
    live_chunks = {ref.digest for chunks in [*versions, newest] for s in chunks for ref in s}
    assert all(skipping[3][digest][0] for digest in live_chunks), "a live chunk is not in the live filter"
    if capacity is None:
        assert skipping[4] < full[4] / 3, "nothing was skipped: the comparison proves nothing"


def test_the_seen_segment_set_is_exact_through_its_growth_and_bounded():
    """Every key added (until it is full) is seen, no other is; its table doubles from 4096 slots, 16 bytes each,
    at most 3/4 full; past `capacity` it remembers no more (the mark then marks those segments again)."""
    rng = random.Random(11)
    seen = SeenSegments(20000)
    added = [seen.key(rng.randbytes(40)) for _ in range(30000)]
    others = [seen.key(rng.randbytes(40)) for _ in range(30000)]
    for key in added:
        seen.add(key)
    assert len(seen) == 20000
    assert all(seen.seen(key) for key in added[:20000])
    assert not any(seen.seen(key) for key in added[20000:] + others)
    assert seen.memory_bytes <= 16 * 4 / 3 * 2 * 20000

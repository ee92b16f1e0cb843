"""Garbage collection never loses a chunk a recovery point needs: compactions interleaved with running backups,
with each other, and with a damaged index, on a virtual clock (engine/README.md, "Why compaction is safe").

A backup runs in a thread and pauses where the scenario needs it (after its lease and its parent's manifest
are read, before it reads the snapshot), so a compaction can run in the middle of it, as in production.
"""

import dataclasses
import random
import threading
import time

import pytest
from engine_world import create_vault

from engine.backup import BackupRequest, EngineSettings, LeaseLapsed, run_backup
from engine.chunking import ChunkerSettings
from engine.compact import CompactionBusy, CompactionSettings, LockLost, run_compaction
from engine.ebs import EbsDirect
from engine.jobs import JobRecord
from engine.lock import CompactionLock
from engine.manifest import manifest_key
from engine.packs import FOOTER, MissingObjectError, read_chunk_list
from engine.rebuild import rebuild_index
from engine.restore import FileSink, run_restore
from engine.scan import run_scan, scan_manifest
from engine.sources import EbsSnapshotSource
from tests.fakes.ebs import BLOCK_SIZE, FakeEbs

# 32 KiB chunks and 128 KiB packs: a few dozen chunks over several packs keep each scenario about a second.
SETTINGS = EngineSettings(
    chunker=ChunkerSettings(min_size=8192, avg_size=32768, max_size=131072),
    segment_bytes=2 * BLOCK_SIZE,
    pack_bytes=128 * 1024,
)
GC = CompactionSettings(pack_bytes=SETTINGS.pack_bytes, rewrite_below=1.0)
HOUR = 3600


class VirtualClock:
    """Engine time: real time (S3 stamps objects with it) plus however far a test moves it forward."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def block(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"abcdefgh \n") for _ in range(BLOCK_SIZE // 8)) * 8


class World:
    """One volume in the EBS fake, one vault, the Catalog seam and the clock."""

    def __init__(self, vault, job, registered, tmp_path):
        self.vault, self.job, self.registered, self.tmp_path = vault, job, registered, tmp_path
        self.ebs = FakeEbs(page_size=4)
        self.volume = self.ebs.volume(1)
        self.clock = VirtualClock()
        self.snapshots: dict[str, str] = {}

    def snapshot(self, rp: str, writes: dict[int, int]) -> str:
        for index, seed in writes.items():
            self.volume.write(index, block(seed))
        self.snapshots[rp] = self.ebs.take_snapshot(self.volume)
        return self.snapshots[rp]

    def backup(self, rp: str, parent: str | None = None, job: JobRecord | None = None, pause=None, paused=None):
        source = EbsSnapshotSource(EbsDirect(self.ebs, max_workers=2), self.snapshots[rp])
        if pause is not None:
            source = PausingSource(source, paused, pause)
        request = BackupRequest(f"job-{rp}", "vol-1", rp, parent)
        job = job or JobRecord(None, None, f"job-{rp}", interval_seconds=0)
        return run_backup(self.vault, source, request, self.registered, job, SETTINGS, clock=self.clock)

    def compact(self, expired_rps=(), job_id="compact-1", settings=GC):
        keys = [manifest_key("vol-1", rp) for rp in expired_rps]
        return run_compaction(self.vault, self.job, keys, settings, clock=self.clock, job_id=job_id)

    def restores_exactly(self, rp: str) -> bool:
        target = self.tmp_path / f"{rp}.img"
        run_restore(self.vault, self.vault.read_manifest(manifest_key("vol-1", rp)), FileSink(target), self.job)
        return self.ebs.differing_blocks(self.snapshots[rp], target) == []


class PausingSource:
    """Signals `paused` when the backup starts reading the snapshot, then waits for `resume`."""

    def __init__(self, inner, paused: threading.Event, resume: threading.Event):
        self._inner, self._paused, self._resume = inner, paused, resume
        self.volume_bytes, self.snapshot_id = inner.volume_bytes, inner.snapshot_id

    def segments_with_data(self, segment_bytes):
        return self._inner.segments_with_data(segment_bytes)

    def changed_segments(self, parent_snapshot_id, segment_bytes):
        return self._inner.changed_segments(parent_snapshot_id, segment_bytes)

    def read_segments(self, indexes, segment_bytes):
        self._paused.set()
        assert self._resume.wait(30), "the scenario never resumed the backup"
        yield from self._inner.read_segments(indexes, segment_bytes)


class Paused:
    """A backup running in a thread, paused once it holds its lease and has read its parent's manifest.

    While paused it is still alive: `heartbeat()` renews its lease as its progress writes would."""

    def __init__(self, world: World, rp: str, parent: str | None):
        self.paused, self.resume = threading.Event(), threading.Event()
        self.result, self.error = None, None
        self.job = JobRecord(None, None, f"job-{rp}", interval_seconds=0)
        self._thread = threading.Thread(target=self._run, args=(world, rp, parent))
        self._thread.start()
        assert self.paused.wait(30), "the backup never started reading"

    def _run(self, world, rp, parent):
        try:
            self.result = world.backup(rp, parent, job=self.job, pause=self.resume, paused=self.paused)
        except BaseException as error:  # reported by finish()
            self.error = error
            self.paused.set()

    def live_for(self, world: World, hours: int) -> None:
        """Time passes while the backup works: it renews its lease every hour, as its progress writes do."""
        for _ in range(hours):
            world.clock.advance(HOUR)
            self.job.heartbeat()

    def finish(self):
        self.resume.set()
        self._thread.join(60)
        if self.error:
            raise self.error
        return self.result


@pytest.fixture
def world(vault, job, registered, tmp_path):
    return World(vault, job, registered, tmp_path)


def first_point(world: World) -> None:
    """rp-1: eight blocks of data; rp-2 will rewrite one block, so most of its segments are copied from rp-1."""
    world.snapshot("rp-1", {i: i for i in range(8)})
    world.backup("rp-1")


def test_a_child_that_leases_its_parent_after_compaction_started_keeps_the_parents_chunks(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.clock.advance(1 * HOUR)
    child: list[Paused] = []
    listing = world.vault.bucket.list

    def child_starts_meanwhile(prefix):
        if prefix == "manifests/" and not child:  # compaction is under way: it has started its mark
            child.append(Paused(world, "rp-2", parent="rp-1"))
        return listing(prefix)

    world.vault.bucket.list = child_starts_meanwhile
    world.compact(expired_rps=["rp-1"])  # the Catalog expired rp-1 while rp-2 was about to start
    world.vault.bucket.list = listing
    for _ in range(4):  # later compactions while the child, alive, still runs
        child[0].live_for(world, 10)
        world.compact(expired_rps=["rp-1"])
    result = child[0].finish()
    world.clock.advance(GC.grace_seconds + HOUR)
    world.compact(expired_rps=["rp-1"])

    assert result.segments_copied > 0  # the child did copy segments from its parent
    assert world.restores_exactly("rp-2")


def test_a_manifest_a_running_backup_leases_is_not_deleted_and_its_chunks_stay(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    child = Paused(world, "rp-2", parent="rp-1")  # holds a lease pinning rp-1

    for _ in range(4):
        child.live_for(world, 10)
        world.compact(expired_rps=["rp-1"])
        assert world.vault.bucket.exists(manifest_key("vol-1", "rp-1"))
    child.finish()
    world.clock.advance(GC.grace_seconds + HOUR)
    world.compact(expired_rps=["rp-1"])

    assert world.restores_exactly("rp-2")


def test_a_backup_whose_lease_lapsed_stops_before_writing_its_manifest(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    child = Paused(world, "rp-2", parent="rp-1")
    world.clock.advance(7 * HOUR)  # no heartbeat: the task was frozen; compaction writes the lease off
    world.compact(expired_rps=["rp-1"])

    with pytest.raises(LeaseLapsed, match="job-rp-2"):
        child.finish()
    assert not world.vault.bucket.exists(manifest_key("vol-1", "rp-2"))
    assert [p["recoveryPointId"] for p in world.registered] == ["rp-1"]


def test_an_emptied_index_is_reported_and_deletes_nothing(world, aws):
    first_point(world)
    packs = {info.key for info in world.vault.bucket.list("packs/")}
    for key in world.vault.index.blob_keys():  # an operator's mistake, a lifecycle rule, a bad restore
        world.vault.bucket.delete(key)

    reports = []
    for _ in range(3):
        world.clock.advance(GC.grace_seconds + HOUR)
        reports.append(world.compact())

    assert {info.key for info in world.vault.bucket.list("packs/")} == packs
    assert any("in no index blob" in problem for problem in reports[0].problems)
    assert world.restores_exactly("rp-1")


def test_a_backup_after_a_condemnation_stores_the_chunks_again_and_keeps_them_when_the_old_packs_go(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # rp-1's chunks are now unreferenced: their packs condemned
    old_packs = {info.key for info in world.vault.bucket.list("packs/")}
    world.snapshot("rp-3", {})  # the same data again, backed up from scratch

    result = world.backup("rp-3")
    world.clock.advance(GC.grace_seconds + HOUR)
    report = world.compact()

    assert result.chunks_new == len(result.manifest.digests())  # never reused from a condemned pack
    assert set(report.packs_deleted) == old_packs and report.chunks_moved == 0  # duplicates, not live data
    assert world.restores_exactly("rp-3")


def test_unreferenced_chunks_are_deleted_only_after_the_grace_period(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    first = world.compact(expired_rps=["rp-1"])
    world.clock.advance(GC.grace_seconds - HOUR)
    early = world.compact()
    world.clock.advance(2 * HOUR)
    late = world.compact()

    assert first.chunks_deleted == 0 and early.chunks_deleted == 0
    assert late.chunks_deleted > 0 and world.vault.bucket.list("packs/") is not None
    assert list(world.vault.index.scan()) == []
    assert list(world.vault.bucket.list("packs/")) == []


def test_only_one_compaction_runs_in_a_vault_at_a_time(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    second: list = []
    listing = world.vault.bucket.list

    def another_compaction_starts_meanwhile(prefix):
        if prefix == "manifests/" and not second:
            with pytest.raises(CompactionBusy, match="compact-1") as refused:
                world.compact(job_id="compact-2")
            second.append(refused)
        return listing(prefix)

    world.vault.bucket.list = another_compaction_starts_meanwhile
    world.compact(expired_rps=["rp-1"], job_id="compact-1")
    world.vault.bucket.list = listing

    assert second, "the second compaction never ran"
    world.compact(job_id="compact-3")  # the lock was released: the next one runs


def test_a_compaction_that_died_holding_the_lock_does_not_block_the_vault_forever(world, aws):
    first_point(world)
    index = world.vault.index
    CompactionLock(index.dynamodb, index.table_name, "vault-a", "compact-1", GC.lock_ttl_seconds, world.clock).acquire()
    other = create_vault(aws, "other")  # the task was killed holding the lock; the lock is per vault

    run_compaction(other, world.job, [], GC, clock=world.clock, job_id="compact-x")
    with pytest.raises(CompactionBusy, match="compact-1"):
        world.compact(job_id="compact-2")
    world.clock.advance(GC.lock_ttl_seconds + 60)
    world.compact(job_id="compact-2")


def test_a_scan_after_all_compactions_finds_every_chunk_of_every_live_point(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300, 40: 40})
    world.backup("rp-2", parent="rp-1")
    for _ in range(3):
        world.clock.advance(GC.grace_seconds + HOUR)
        world.compact(expired_rps=["rp-1"])

    report = scan_manifest(world.vault, world.vault.read_manifest(manifest_key("vol-1", "rp-2")))

    # rp-2 references rp-1's unchanged ranges, so rp-1's manifest stays while rp-2 lives (rule P).
    assert report.healthy and world.vault.bucket.exists(manifest_key("vol-1", "rp-1"))


def test_a_backup_that_loaded_the_index_before_a_condemnation_keeps_the_chunks_it_reuses(world):
    first_point(world)
    world.snapshot("rp-2", {})  # the same data, backed up in full: every chunk found in rp-1's packs
    world.clock.advance(1 * HOUR)
    running = Paused(world, "rp-2", parent=None)  # lease written, index and GC state loaded: nothing condemned
    short = dataclasses.replace(GC, grace_seconds=HOUR)  # so that only the lease clause of rule D protects rp-2
    world.compact(expired_rps=["rp-1"], settings=short)  # rp-1's packs condemned; rp-2 already chose to reuse them
    for _ in range(4):  # past that grace period while rp-2, alive, still runs
        running.live_for(world, 10)
        world.compact(settings=short)
    result = running.finish()
    for _ in range(2):
        world.clock.advance(GC.grace_seconds + HOUR)
        world.compact(settings=short)

    assert result.chunks_new == 0  # it did reuse chunks of packs condemned after it loaded the index
    assert world.restores_exactly("rp-2")


def test_a_generation_whose_stamp_was_never_written_counts_from_the_next_one(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    db = world.vault.index.dynamodb
    update = db.update_item

    def dies_before_the_stamp(**request):
        if request["Key"]["chunkHash"]["S"] == "#gc/generation":
            raise RuntimeError("task killed")
        return update(**request)

    db.update_item = dies_before_the_stamp
    with pytest.raises(RuntimeError, match="killed"):
        world.compact(expired_rps=["rp-1"])  # generation 1 is readable (backups honour it), but unstamped
    db.update_item = update
    world.clock.advance(GC.lock_ttl_seconds + GC.grace_seconds)
    unstamped = world.compact()
    world.clock.advance(GC.grace_seconds + HOUR)
    stamped = world.compact()

    assert unstamped.packs_deleted == [] and unstamped.packs_waiting > 0
    assert stamped.packs_deleted


def test_a_compaction_killed_after_publishing_leaves_the_next_one_nothing_to_lose(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300, 5: 500})
    world.backup("rp-2")  # in full (dedup reuses rp-1's chunks): it does not resolve through rp-1 (rule P)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # packs holding rp-1's old blocks are condemned
    world.clock.advance(GC.grace_seconds + HOUR)
    delete = world.vault.bucket.delete

    def killed_at_the_first_pack_deletion(key):
        if key.startswith("packs/"):
            raise RuntimeError("task killed")
        return delete(key)

    world.vault.bucket.delete = killed_at_the_first_pack_deletion
    with pytest.raises(RuntimeError, match="killed"):
        world.compact()  # copied live chunks, wrote the merged index, published, then died
    world.vault.bucket.delete = delete
    world.clock.advance(GC.lock_ttl_seconds + 60)
    for _ in range(2):
        world.compact(job_id="compact-2")
        world.clock.advance(GC.grace_seconds + HOUR)

    assert world.restores_exactly("rp-2")
    assert scan_manifest(world.vault, world.vault.read_manifest(manifest_key("vol-1", "rp-2"))).healthy


def test_a_lost_index_never_costs_a_condemned_packs_live_chunks(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300, 5: 500})
    world.backup("rp-2")  # in full (dedup reuses rp-1's chunks): it does not resolve through rp-1 (rule P)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # packs holding rp-1's old blocks are condemned; rp-2 shares the rest
    for key in world.vault.index.blob_keys():  # and the index is lost
        world.vault.bucket.delete(key)
    world.clock.advance(GC.grace_seconds + HOUR)

    report = world.compact()

    assert report.packs_deleted  # collected: what a pack holds comes from its own chunk list
    assert world.restores_exactly("rp-2")


def test_a_child_that_reads_its_parent_just_before_compaction_deletes_it_keeps_chunks_of_a_condemned_pack(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # rp-1's packs, holding chunks rp-2 shares, are condemned
    world.clock.advance(GC.grace_seconds + HOUR)  # and their grace is over
    world.snapshot("rp-3", {5: 500})
    child: list[Paused] = []
    delete = world.vault.bucket.delete

    def child_reads_its_parent_meanwhile(key):
        if key == manifest_key("vol-1", "rp-2") and not child:  # after compaction read leases a second time
            child.append(Paused(world, "rp-3", parent="rp-2"))
        return delete(key)

    world.vault.bucket.delete = child_reads_its_parent_meanwhile
    world.compact(expired_rps=["rp-2"])  # the Catalog expired rp-2 while rp-3 was starting
    world.vault.bucket.delete = delete
    result = child[0].finish()
    for _ in range(2):
        world.clock.advance(GC.grace_seconds + HOUR)
        world.compact()

    assert result.segments_copied > 0
    assert world.restores_exactly("rp-3")


def test_a_backup_that_loads_the_index_between_publish_and_blob_deletion_never_reuses_a_collected_pack(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # rp-1's packs condemned (their chunks are dead)
    world.clock.advance(GC.grace_seconds + HOUR)
    world.snapshot("rp-3", {})  # the same data again
    results = []
    delete = world.vault.bucket.delete

    def backup_starts_after_publish(key):
        # The collecting run has stored its merged blob and published its generation; it is about to delete
        # the blobs it merged (still naming rp-1's packs) and then the packs.
        if key.startswith("index/") and not results:
            world.vault.bucket.delete = delete
            results.append(world.backup("rp-3"))
            world.vault.bucket.delete = backup_starts_after_publish
        return delete(key)

    world.vault.bucket.delete = backup_starts_after_publish
    report = world.compact()
    world.vault.bucket.delete = delete

    assert report.packs_deleted and results
    assert world.restores_exactly("rp-3")


def test_generation_numbers_reused_after_the_gc_objects_are_lost_never_take_an_old_stamp(world):
    first_point(world)
    for _ in range(3):  # generations 1-3; the table's item holds generation 3 and its stamp
        world.compact()
    for info in list(world.vault.bucket.list("gc/")):  # an operator's mistake: the GC state objects go
        world.vault.bucket.delete(info.key)
    world.clock.advance(GC.grace_seconds + HOUR)  # generation 3's stamp is old by now
    world.snapshot("rp-2", {})  # the same data, backed up in full while rp-1 is still live
    running = Paused(world, "rp-2", parent=None)  # loaded the index: nothing condemned, reuses rp-1's chunks
    world.compact(expired_rps=["rp-1"])  # generation 1 again: rp-1's packs condemned (dead but for rp-2)
    for _ in range(3):  # generations 2, 3 (the old stamp's number), 4, within an hour, rp-2 still running
        running.live_for(world, 1)
        world.compact()
    result = running.finish()

    assert result.chunks_new == 0  # it reused chunks of packs condemned after it loaded the index
    assert world.restores_exactly("rp-2")


def test_a_compaction_whose_lock_lapsed_while_it_wrote_its_merged_index_never_publishes_over_the_next_one(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300, 5: 500})
    world.backup("rp-2", parent="rp-1")
    world.clock.advance(1 * HOUR)
    put = world.vault.bucket.put
    published: dict[str, bytes] = {}

    def paused_while_merging(key, body, *args, **kwargs):
        if key.startswith("index/m-") and not published:
            # Compaction 1 is frozen past its lock's expiry; compaction 2 takes the vault and expires rp-2.
            world.vault.bucket.put = put
            world.clock.advance(GC.lock_ttl_seconds + 60)
            world.compact(expired_rps=["rp-2"], job_id="compact-2")
            published.update({i.key: world.vault.bucket.get(i.key) for i in world.vault.bucket.list("gc/")})
            world.vault.bucket.put = paused_while_merging
        return put(key, body, *args, **kwargs)

    world.vault.bucket.put = paused_while_merging
    with pytest.raises(LockLost):
        world.compact(expired_rps=["rp-1"], job_id="compact-1")
    world.vault.bucket.put = put

    assert published
    assert {i.key: world.vault.bucket.get(i.key) for i in world.vault.bucket.list("gc/")} == published


def test_rebuild_index_keeps_the_entries_of_a_pack_whose_chunk_list_is_damaged_but_whose_frames_are_not(world):
    first_point(world)
    bucket = world.vault.bucket
    pack = sorted(info.key for info in bucket.list("packs/"))[0]
    raw = bytearray(bucket.get(pack))
    raw[-FOOTER.size - 1] ^= 0xFF  # one bit of its chunk list (the frames, which the index points at, are intact)
    bucket.put(pack, bytes(raw))
    assert world.restores_exactly("rp-1")

    rebuild_index(world.vault, world.job, clock=world.clock)

    assert world.restores_exactly("rp-1")


def test_a_pack_named_only_by_a_scan_repair_blob_is_still_indexed_again_from_its_chunk_list(world):
    first_point(world)
    vault = world.vault
    entry = next(iter(vault.index.scan()))  # one chunk's copy: its frame gets corrupted
    raw = bytearray(vault.bucket.get(entry.pack_key))
    raw[entry.offset] ^= 0xFF
    vault.bucket.put(entry.pack_key, bytes(raw))
    run_scan(vault, vault.read_manifest(manifest_key("vol-1", "rp-1")), world.job)  # writes index/x-*.idx
    for key in vault.index.blob_keys():  # the backups' blobs are lost; scan repair's is not
        if "/x-" not in key:
            vault.bucket.delete(key)

    world.compact()  # a pack no blob names is indexed again from its own list

    others = {c.digest for c in read_chunk_list(vault.bucket, entry.pack_key, len(raw))} - {entry.digest}
    assert others <= set(vault.index.lookup(others))


def test_a_backup_that_cannot_read_the_newest_gc_generation_stops_instead_of_reusing_condemned_chunks(world):
    first_point(world)
    world.clock.advance(1 * HOUR)
    world.compact(expired_rps=["rp-1"])  # rp-1's packs condemned
    world.snapshot("rp-3", {})  # the same data again
    get = world.vault.bucket.get

    def generation_vanishes(key, *args):
        if key.startswith("gc/"):  # deleted each time between the LIST and the GET
            raise MissingObjectError(f"s3://{world.vault.bucket.bucket}/{key} does not exist")
        return get(key, *args)

    world.vault.bucket.get = generation_vanishes
    with pytest.raises(RuntimeError, match="newest GC generation"):
        world.backup("rp-3")
    world.vault.bucket.get = get

    assert not world.vault.bucket.exists(manifest_key("vol-1", "rp-3"))


class SlowPackReads:
    """Each read of a pack's tail takes `seconds` of engine time (a large vault: thousands of packs)."""

    def __init__(self, world: World, seconds: int):
        self.world, self.seconds, self.tail = world, seconds, world.vault.bucket.tail

    def __enter__(self):
        def slow_tail(*args):
            self.world.clock.advance(self.seconds)
            return self.tail(*args)

        self.world.vault.bucket.tail = slow_tail
        return self

    def __exit__(self, *exc):
        self.world.vault.bucket.tail = self.tail


def test_a_compaction_that_reads_chunk_lists_for_longer_than_its_lock_lasts_keeps_its_lock_and_finishes(world):
    first_point(world)
    for key in world.vault.index.blob_keys():  # an upgraded vault: every pack is read for its chunk list
        world.vault.bucket.delete(key)
    assert len(list(world.vault.bucket.list("packs/"))) * 600 > GC.lock_ttl_seconds

    with SlowPackReads(world, 600):
        report = world.compact()

    assert report.packs_not_indexed > 0 and world.vault.index.blob_keys()


def test_rebuild_index_that_reads_chunk_lists_for_longer_than_its_lock_lasts_keeps_its_lock_and_finishes(world):
    first_point(world)
    for key in world.vault.index.blob_keys():
        world.vault.bucket.delete(key)

    with SlowPackReads(world, 600):
        report = rebuild_index(world.vault, world.job, clock=world.clock)

    assert report.packs_read > 0 and world.restores_exactly("rp-1")


def test_an_incremental_backup_reads_again_a_segment_whose_parent_chunk_scan_found_lost(world):
    first_point(world)
    vault = world.vault
    parent = vault.read_manifest(manifest_key("vol-1", "rp-1"))
    digest = parent.segments[min(parent.segments)].chunks[0].digest  # a chunk of rp-1's first segment
    entry = vault.index.lookup([digest])[digest]
    raw = bytearray(vault.bucket.get(entry.pack_key))
    raw[entry.offset] ^= 0xFF  # its bytes rot
    vault.bucket.put(entry.pack_key, bytes(raw))
    assert not run_scan(vault, parent, world.job).healthy  # scan flags the copy bad
    world.snapshot("rp-2", {7: 700})  # the first segment is unchanged: rp-2 would copy it from rp-1

    world.backup("rp-2", parent="rp-1")

    assert world.restores_exactly("rp-2")  # the source still had the data: rp-2 is whole

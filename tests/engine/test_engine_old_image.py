"""Jobs of the engine image from before the S3 index, queued across `pulumi up`, in a vault the current engine has
written to.

A Batch job runs the job definition revision it was submitted with (SubmitJob names `name:revision`, and without
a revision Batch resolves the latest active one at submission), so a compaction queued before the upgrade runs
the old image afterwards. That engine (commit 75dc482, run here from tests/engine/vendor unchanged) decides what
is live from `*.json` manifests and its per-chunk items only: it never sees a version-3 manifest or an index
blob, and it deletes the items (and then the packs) of chunks it condemned before the upgrade once their grace
has passed.
"""

import importlib
import json
import time

import pytest
from engine_world import SMALL, Registered

from engine.backup import BackupRequest, run_backup
from engine.compact import CompactionSettings, run_compaction
from engine.jobs import JobRecord
from engine.lock import FENCE_OWNER, LOCK_KEY, CompactionBusy, CompactionLock, OldEngineCompacting
from engine.packs import PACK_PREFIX
from engine.rebuild import rebuild_index
from engine.restore import FileSink, run_restore
from engine.sources import ImageFileSource
from engine.vaultconfig import CONFIG_KEY

OLD = "tests.engine.vendor.engine_75dc482"
HOUR = 3600


def old(module: str):
    return importlib.import_module(f"{OLD}.{module}")


class Clock:
    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def old_vault(vault):
    """The same bucket and table, as the old image's job definition names them."""
    s3, db = vault.bucket._s3, vault.index.dynamodb
    bucket = old("packs").VaultBucket(s3, vault.bucket.bucket)
    return old("vault").Vault(vault.name, bucket, old("index").ChunkIndex(db, vault.index.table_name))


OLD_SETTINGS = old("backup").EngineSettings(
    chunker=old("chunking").ChunkerSettings(min_size=1024, avg_size=4096, max_size=16384),
    segment_bytes=SMALL.segment_bytes,
    pack_bytes=SMALL.pack_bytes,
)


def old_job(job_id: str):
    return old("jobs").JobRecord(None, None, job_id, interval_seconds=0)


def old_backup(vault, image, rp: str, clock) -> None:
    request = old("backup").BackupRequest(f"job-{rp}", "vol-1", rp)
    source = old("sources").ImageFileSource(image, f"snap-{rp}")
    old("backup").run_backup(old_vault(vault), source, request, Registered(), old_job(f"job-{rp}"), OLD_SETTINGS, clock)


def old_compaction(vault, clock, expired=(), job_id="old-compact"):
    settings = old("compact").CompactionSettings(pack_bytes=SMALL.pack_bytes)
    return old("compact").run_compaction(old_vault(vault), old_job(job_id), list(expired), settings, clock, job_id)


def new_backup(vault, image, rp: str, clock):
    job = JobRecord(None, None, f"job-{rp}", interval_seconds=0)
    request = BackupRequest(f"job-{rp}", "vol-1", rp)
    return run_backup(vault, ImageFileSource(image, f"snap-{rp}"), request, Registered(), job, SMALL, clock=clock)


def restores(vault, key: str, image, tmp_path) -> bool:
    target = tmp_path / "restored.img"
    job = JobRecord(None, None, "restore", interval_seconds=0)
    run_restore(vault, vault.open_manifest(key), FileSink(target), job)
    return target.read_bytes() == image.read_bytes()


def by_hand_version_3_manifests(vault) -> None:
    """The upgrade step documented before it was automatic: `manifestFormat: 3` in config/vault.json by hand."""
    document = json.loads(vault.bucket.get(CONFIG_KEY))
    document["manifestFormat"] = 3
    vault.bucket.put(CONFIG_KEY, json.dumps(document).encode(), "application/json")


def packs(vault) -> set[str]:
    return {info.key for info in vault.bucket.list(PACK_PREFIX)}


def test_an_old_image_compaction_queued_across_the_upgrade_deletes_no_pack_a_new_point_needs(vault, image, tmp_path):
    clock = Clock()
    # Before the upgrade: the DynamoDB-era engine backs the volume up, and its compaction expires that point
    # (the chunks' items are condemned; the packs wait out the grace).
    old_backup(vault, image, "rp-1", clock)
    old_compaction(vault, clock, expired=["manifests/vol-1/rp-1.json"])
    assert packs(vault), "the old engine stored nothing"
    # `pulumi up`: the documented upgrade (rebuild-index once, version-3 manifests), then the volume is backed
    # up again with the same data: the new point reuses the old packs through the index blobs.
    by_hand_version_3_manifests(vault)
    rebuild_index(vault, JobRecord(None, None, "rebuild", interval_seconds=0), clock=clock)
    point = new_backup(vault, image, "rp-2", clock)
    assert point.chunks_reused > 0
    before = packs(vault)

    # The old-image compaction submitted before `pulumi up` starts after the grace of its own stamps.
    clock.offset += 60 * HOUR
    try:
        old_compaction(vault, clock)
    except old("compact").CompactionBusy:
        pass  # refused by the vault's lock: what the fence is for

    assert packs(vault) >= before
    assert restores(vault, point.manifest_key, image, tmp_path)


def test_a_new_job_waits_for_a_running_old_image_compaction_and_writes_nothing_while_it_runs(vault, image):
    clock = Clock()
    old_backup(vault, image, "rp-1", clock)
    db, table = vault.index.dynamodb, vault.index.table_name
    old_lock = old("lock").CompactionLock(db, table, vault.name, "old-compact", 15 * 60, clock)
    old_lock.acquire()  # an old-image compaction is running
    before = {info.key for info in vault.bucket.list("")}

    waited = []

    def sleep(seconds):
        waited.append(seconds)
        clock.offset += seconds
        old_lock.renew()  # it is alive and renews before each step

    with pytest.raises(OldEngineCompacting, match="old-compact"):
        new_backup_waiting(vault, image, "rp-2", clock, sleep)

    assert waited, "the job did not wait for the old compaction"
    assert {info.key for info in vault.bucket.list("")} == before  # not a lease, not a pack, not a blob
    old_lock.release()
    new_backup(vault, image, "rp-2", clock)  # the lock is free: the job fences the vault and runs
    item = db.get_item(TableName=table, Key={"chunkHash": {"S": LOCK_KEY}})["Item"]
    assert item["owner"]["S"] == FENCE_OWNER


def new_backup_waiting(vault, image, rp, clock, sleep):
    job = JobRecord(None, None, f"job-{rp}", interval_seconds=0)
    request = BackupRequest(f"job-{rp}", "vol-1", rp)
    return run_backup(
        vault, ImageFileSource(image, f"snap-{rp}"), request, Registered(), job, SMALL, clock=clock, sleep=sleep
    )


def test_an_old_image_compaction_whose_lock_lapsed_stops_before_deleting_once_the_vault_is_fenced(vault, image):
    clock = Clock()
    old_backup(vault, image, "rp-1", clock)
    db, table = vault.index.dynamodb, vault.index.table_name
    old_lock = old("lock").CompactionLock(db, table, vault.name, "old-compact", 15 * 60, clock)
    old_lock.acquire()
    clock.offset += 16 * 60  # its task froze past its lock
    run_compaction(vault, JobRecord(None, None, "c", interval_seconds=0), [], CompactionSettings(), clock=clock)

    with pytest.raises(old("lock").LockLost):
        old_lock.renew()  # what it does before its next deletion
    with pytest.raises(old("compact").CompactionBusy):
        old_compaction(vault, clock)
    # The fence does not get in the way of this engine's own lock: one holder at a time, released after.
    held = CompactionLock(vault.index.dynamodb, vault.index.table_name, vault.name, "c1", 900, clock)
    held.acquire()
    with pytest.raises(CompactionBusy, match="c1"):
        run_compaction(vault, JobRecord(None, None, "c2", interval_seconds=0), [], CompactionSettings(), clock=clock)
    held.release()
    run_compaction(vault, JobRecord(None, None, "c2", interval_seconds=0), [], CompactionSettings(), clock=clock)
    with pytest.raises(old("compact").CompactionBusy):
        old_compaction(vault, clock)

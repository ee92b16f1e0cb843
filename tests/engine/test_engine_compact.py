import time

import pytest
from engine_world import (
    RECOVERY_POINTS_TABLE,
    SMALL,
    CatalogTable,
    create_recovery_points_table,
    create_vault,
    volume_bytes,
)

from engine.backup import BackupRequest, RegistrationUncertain, run_backup
from engine.catalog import CatalogError
from engine.compact import CompactionSettings, run_compaction
from engine.expiry import RecoveryPointsTable, expire_and_compact
from engine.manifest import manifest_key
from engine.packs import PackWriter
from engine.restore import FileSink, run_restore
from engine.sources import ImageFileSource
from engine.vault import Lease

SIZE = 128 * 1024
# Rewrite every pack holding any dead bytes, so what is reclaimed does not depend on how chunks were packed.
SETTINGS = CompactionSettings(pack_bytes=SMALL.pack_bytes, rewrite_below=1.0)


def later(seconds=3600):
    """Compaction runs an hour (or `seconds`) after the backups."""
    return lambda: time.time() + seconds


AFTER_GRACE = SETTINGS.grace_seconds + 2 * 3600


def compact_twice(vault, job, expired):
    """Condemn (an hour after the backups), then delete (after the grace period): the two phases."""
    run_compaction(vault, job, expired, SETTINGS, clock=later())
    return run_compaction(vault, job, [], SETTINGS, clock=later(AFTER_GRACE))


def backup(vault, job, registered, tmp_path, rp, data):
    image = tmp_path / f"{rp}.img"
    image.write_bytes(data)
    request = BackupRequest(f"job-{rp}", "vol-1", rp)
    return run_backup(vault, ImageFileSource(image, f"snap-{rp}"), request, registered, job, SMALL)


@pytest.fixture
def two_recovery_points(vault, job, registered, tmp_path):
    """rp-1 and rp-2 share their first half; each has a second half of its own."""
    shared = volume_bytes(SIZE, seed=1)
    first = backup(vault, job, registered, tmp_path, "rp-1", shared + volume_bytes(SIZE, seed=2))
    second = backup(vault, job, registered, tmp_path, "rp-2", shared + volume_bytes(SIZE, seed=3))
    return first, second


def test_expiry_reclaims_only_chunks_no_live_manifest_references(vault, job, two_recovery_points):
    first, second = two_recovery_points
    only_first = first.manifest.digests() - second.manifest.digests()

    report = compact_twice(vault, job, [first.manifest_key])

    indexed = {entry.digest for entry in vault.index.scan()}
    assert report.chunks_deleted == len(only_first)
    assert indexed == second.manifest.digests()
    assert report.bytes_reclaimed > 0 and report.packs_deleted


def test_after_compaction_the_live_recovery_point_still_restores_byte_identical(
    vault, job, two_recovery_points, tmp_path
):
    first, second = two_recovery_points
    original = (tmp_path / "rp-2.img").read_bytes()
    compact_twice(vault, job, [first.manifest_key])

    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(second.manifest_key), FileSink(restored), job)

    assert restored.read_bytes() == original


def test_a_pack_whose_live_share_is_above_the_threshold_is_not_rewritten(vault, job, two_recovery_points):
    first, second = two_recovery_points
    live_packs = {e.pack_key for e in vault.index.lookup(second.manifest.digests()).values()}

    report = run_compaction(
        vault, job, [first.manifest_key], CompactionSettings(rewrite_below=0.01), clock=later()
    )

    assert report.packs_rewritten == 0 and report.chunks_moved == 0
    assert all(vault.bucket.exists(key) for key in live_packs)


def test_expiry_deletes_the_expired_manifest_only(vault, job, two_recovery_points):
    first, second = two_recovery_points

    run_compaction(vault, job, [first.manifest_key], SETTINGS, clock=later())

    assert vault.manifest_keys() == [second.manifest_key]


def test_without_expiry_compaction_reclaims_nothing(vault, job, two_recovery_points):
    report = run_compaction(vault, job, [], SETTINGS, clock=later())

    assert report.chunks_deleted == 0 and report.packs_deleted == []


def test_a_running_backup_protects_the_parent_it_copies_from(vault, job, two_recovery_points):
    first, _ = two_recovery_points
    vault.write_lease(
        Lease("job-running", int(time.time()) + 3000, int(time.time()) + 3500, (first.manifest_key,))
    )

    report = run_compaction(vault, job, [first.manifest_key], SETTINGS, clock=later())

    assert report.chunks_deleted == 0
    assert first.manifest.digests() <= {entry.digest for entry in vault.index.scan()}


def test_deleting_a_condemned_pack_never_takes_the_copy_a_later_backup_stored_again(
    vault, job, registered, tmp_path, two_recovery_points
):
    first, second = two_recovery_points
    run_compaction(vault, job, [first.manifest_key], SETTINGS, clock=later())  # rp-1's own packs condemned
    again = backup(vault, job, registered, tmp_path, "rp-3", (tmp_path / "rp-1.img").read_bytes())

    report = run_compaction(vault, job, [], SETTINGS, clock=later(AFTER_GRACE))

    assert report.packs_deleted and set(report.packs_deleted).isdisjoint(again.packs)
    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(again.manifest_key), FileSink(restored), job)
    assert restored.read_bytes() == (tmp_path / "rp-1.img").read_bytes()


def test_packs_an_interrupted_backup_never_indexed_are_reclaimed(vault, job):
    orphan = PackWriter(vault.bucket, 1 << 20, on_stored=lambda entries: None)
    orphan.add(b"\x01" * 32, b"frame", 5)
    orphan.flush()

    first = run_compaction(vault, job, [], SETTINGS, clock=later())  # indexes the orphans as condemned
    report = run_compaction(vault, job, [], SETTINGS, clock=later(AFTER_GRACE))

    assert first.packs_deleted == [] and report.packs_deleted == orphan.packs_written


def test_packs_newer_than_the_cutoff_are_left_alone(vault, job, two_recovery_points):
    first, _ = two_recovery_points

    report = run_compaction(vault, job, [first.manifest_key], SETTINGS, clock=later(0))

    assert report.packs_deleted == [] and report.chunks_deleted == 0


def test_with_object_lock_an_expired_manifest_is_kept_until_its_retention_ends(
    aws, job, registered, tmp_path
):
    vault = create_vault(aws, "locked", object_lock_days=1)
    first = backup(vault, job, registered, tmp_path, "rp-1", volume_bytes(SIZE, seed=2))
    packs_before = {info.key for info in vault.bucket.list("packs/")}

    report = run_compaction(vault, job, [first.manifest_key], SETTINGS, clock=later())

    assert report.manifests_retained == [manifest_key("vol-1", "rp-1")]
    assert vault.manifest_keys() == [manifest_key("vol-1", "rp-1")]
    assert report.chunks_deleted == 0
    assert {info.key for info in vault.bucket.list("packs/")} == packs_before


def test_with_object_lock_a_pack_is_not_rewritten_before_its_retention_ends(aws, job):
    vault = create_vault(aws, "locked", object_lock_days=1)
    orphan = PackWriter(vault.bucket, 1 << 20, on_stored=lambda entries: None)
    orphan.add(b"\x01" * 32, b"frame", 5)
    orphan.flush()

    run_compaction(vault, job, [], SETTINGS, clock=later())
    report = run_compaction(vault, job, [], SETTINGS, clock=later(AFTER_GRACE))

    assert report.packs_deleted == [] and report.packs_retained == 1
    assert vault.bucket.exists(orphan.packs_written[0])


def test_a_manifest_the_catalog_never_registered_is_expired_after_the_grace_period(aws, vault, job, tmp_path):
    create_recovery_points_table(aws)
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE, seed=2))
    registered = run_backup(vault, ImageFileSource(image, "s-1"), BackupRequest("j-1", "vol-1", "rp-1"),
                            CatalogTable(aws), job, SMALL)  # fmt: skip

    def catalog_never_answers(payload):
        raise CatalogError("Catalog function elastio-catalog failed: Task timed out")

    with pytest.raises(RegistrationUncertain):
        run_backup(vault, ImageFileSource(image, "s-2"), BackupRequest("j-2", "vol-1", "rp-2"),
                   catalog_never_answers, job, SMALL, sleep=lambda s: None)  # fmt: skip
    unregistered = manifest_key("vol-1", "rp-2")
    table = RecoveryPointsTable(aws.client("dynamodb"), RECOVERY_POINTS_TABLE)

    early = expire_and_compact(vault, job, table, settings=SETTINGS, clock=later())
    assert early.manifests_unregistered == [] and unregistered in vault.manifest_keys()  # may yet be registered
    late = expire_and_compact(vault, job, table, settings=SETTINGS, clock=later(AFTER_GRACE))

    assert late.manifests_unregistered == [unregistered]
    assert vault.manifest_keys() == [registered.manifest_key]


def test_a_lease_left_by_a_backup_that_stopped_long_ago_is_removed(vault, job):
    vault.write_lease(Lease("job-crashed", int(time.time()) - 10, int(time.time()) - 10))

    soon = run_compaction(vault, job, [], SETTINGS, clock=later())
    late = run_compaction(vault, job, [], SETTINGS, clock=later(AFTER_GRACE))

    assert soon.leases_removed == 0 and late.leases_removed == 1
    assert vault.leases() == []

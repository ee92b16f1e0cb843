"""A cold review of incremental manifests (rule P), reruns and splicing: each test names a way a recovery point
became unrestorable, or restored the wrong volume, on the engine before the fix that follows it.

Same world as the GC races (tests/engine/test_engine_gc_safety.py): one EBS volume in the fake, moto's S3,
DynamoDB and KMS, a virtual clock; compactions are interleaved with whole backups through hooks on the
vault's own calls, as a second task would interleave in production.
"""

from __future__ import annotations

import pytest
from test_engine_gc_safety import GC, HOUR, Paused, block
from test_engine_manifests import Volume, first_point

from engine import backup as backup_module
from engine.compact import LockLost
from engine.manifest import ManifestError, manifest_key


@pytest.fixture
def world(vault, job, registered, tmp_path):
    return Volume(vault, job, registered, tmp_path)


def later_compactions(world: Volume, expired: list[str], runs: int = 2) -> None:
    """Days pass; the vault's daily compaction collects whatever rule D then allows."""
    for _ in range(runs):
        world.clock.offset += GC.grace_seconds + HOUR
        world.compact(expired_rps=expired)


def test_a_child_committed_while_compaction_marks_keeps_the_parent_it_references(world):
    """Rule P's proof assumed the child's lease is still there when compaction reads leases again; but a short
    incremental backup can lease, reference the expired parent, find no announcement, register and drop its
    lease while a long mark streams the vault's manifests (after the listing, before the announcement). The
    compaction then deleted the parent: the registered child was unrestorable and its chunks were swept."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.clock.offset += HOUR
    announce = world.vault.announce_manifest_deletions
    children = []

    def child_commits_during_the_mark(keys):
        if not children:
            children.append(world.backup("rp-2", parent="rp-1"))  # leases, commits, drops its lease
        return announce(keys)

    world.vault.announce_manifest_deletions = child_commits_during_the_mark
    try:
        world.compact(expired_rps=["rp-1"])
    finally:
        world.vault.announce_manifest_deletions = announce
    later_compactions(world, ["rp-1"])

    assert children and children[0].manifest.references_parent  # it did reference rp-1's ranges
    assert world.restores_exactly("rp-2")


def test_a_parent_pinned_after_the_choice_keeps_its_own_parent_too(world):
    """An expired parent that a backup pins between compaction's choice and its second read of the leases is
    kept; its own expired parent was deleted all the same, so the backup's child resolved through a manifest
    that resolved through nothing."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.snapshot("rp-3", {5: 500})
    world.clock.offset += GC.grace_seconds + HOUR
    announce = world.vault.announce_manifest_deletions
    children: list[Paused] = []

    def backup_starts_before_the_leases_are_read_again(keys):
        announce(keys)
        if not children:
            children.append(Paused(world, "rp-3", parent="rp-2"))  # holds a lease pinning rp-2

    world.vault.announce_manifest_deletions = backup_starts_before_the_leases_are_read_again
    try:
        world.compact(expired_rps=["rp-1", "rp-2"])  # both expired (the volume was not backed up for a while)
    finally:
        world.vault.announce_manifest_deletions = announce
    result = children[0].finish()
    later_compactions(world, ["rp-1", "rp-2"])

    assert result.manifest.references_parent
    assert world.restores_exactly("rp-3")


def test_a_rerun_of_a_registered_backup_keeps_the_manifest_its_children_pinned(world, monkeypatch):
    """A backup whose registration was not confirmed fails and tells the operator to run it again (Batch may
    retry it too); the rerun resumes the same recovery point id. It wrote a new manifest over the registered
    one (new createdAt, so a new MAC), and every incremental child already pinned to the old MAC stopped
    restoring."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    monkeypatch.setattr(backup_module, "utc_now_iso", lambda: "2030-01-01T00:00:00Z")  # the rerun comes later

    world.backup("rp-1")  # the same job, run again: registering again is harmless (the Catalog is idempotent)

    assert world.registered[-1]["recoveryPointId"] == "rp-1"
    assert world.restores_exactly("rp-1")
    assert world.restores_exactly("rp-2")


def test_a_manifest_copied_over_another_points_key_is_refused(world):
    """The MAC covers the bytes, not where they are: a manifest copied (by mistake, or by whoever can write the
    bucket) over another recovery point's key restored the other point's volume without a word."""
    first_point(world)
    world.snapshot("rp-2", {3: 300, 4: 400})
    world.backup("rp-2")  # a full manifest
    old, new = manifest_key("vol-1", "rp-1"), manifest_key("vol-1", "rp-2")
    world.vault.bucket.put(new, world.vault.bucket.get(old))

    with pytest.raises(ManifestError, match="rp-1"):
        world.restores_exactly("rp-2")
    assert not list(world.tmp_path.glob("rp-2.img*"))


def test_a_child_of_a_volume_that_grew_restores(world):
    """EBS volumes grow in place (Elastic Volumes: same volume, same snapshot lineage, so ListChangedBlocks
    still answers). The child referenced its smaller parent's ranges; restore then refused the chain (the
    parent's volume size differs), so every point after the resize was unrestorable though registered."""
    first_point(world)
    world.volume.size_gib = 2  # ModifyVolume: 1 GiB -> 2 GiB
    world.snapshot("rp-2", {3: 300, 2 * 2048 - 1: 301})  # a change, and the new space's last block

    child = world.backup("rp-2", parent="rp-1")

    assert child.segments_copied > 0  # the unchanged segments still come from the parent, not the snapshot
    assert world.restores_exactly("rp-2")


@pytest.mark.parametrize("parent_snapshot", ["deleted", "of another volume"])
def test_a_child_whose_parent_snapshot_cannot_be_compared_reads_the_volume_and_restores(world, parent_snapshot):
    """ListChangedBlocks needs the parent's snapshot, of the same lineage. Once that snapshot is deleted (a
    lifecycle policy, an operator) or the asset's volume was replaced, every incremental backup of the volume
    failed on the EBS error, run after run: the volume was never backed up again. It reads the whole snapshot
    instead (the index still dedups) and starts a new chain."""
    first_point(world)
    if parent_snapshot == "deleted":
        del world.ebs.snapshots[world.snapshots["rp-1"]]
    else:
        world.volume = world.ebs.volume(1)  # the asset's volume was replaced by one restored from elsewhere
        for index in range(24):
            world.volume.write(index, block(index))
    world.snapshot("rp-2", {3: 300})

    child = world.backup("rp-2", parent="rp-1")

    assert child.segments_copied == 0 and not child.manifest.references_parent
    assert child.chunks_reused > 0  # the index still found the unchanged data
    assert world.restores_exactly("rp-2")


def test_an_announcement_left_by_a_killed_compaction_is_cleared_by_the_next_one(world):
    """A compaction killed between announcing its manifest deletions and removing the announcement left it
    behind until a later compaction happened to delete manifests: meanwhile every incremental backup whose
    parent it named wrote its whole manifest (~9 GiB a day for a 16 TiB volume). Under the lock no other
    compaction runs, so whatever announcement the next one finds is stale."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.snapshot("rp-3", {4: 400})
    world.clock.offset += HOUR
    leases = world.vault.active_leases

    def killed(now):
        raise SystemExit("the task was stopped")  # after the announcement, before the deletions

    world.vault.active_leases = lambda now: killed(now) if world.vault.manifests_being_deleted() else leases(now)
    with pytest.raises(SystemExit):
        world.compact(expired_rps=["rp-2"], job_id="compact-killed")
    world.vault.active_leases = leases
    world.clock.offset += GC.lock_ttl_seconds + HOUR  # its lock expires
    world.compact()  # nothing expired today

    child = world.backup("rp-3", parent="rp-2")

    assert not child.manifest_flattened and child.manifest.references_parent
    assert world.restores_exactly("rp-3")


def test_a_compaction_frozen_after_its_announcement_deletes_nothing_once_the_next_one_cleared_it(world):
    """Compaction 1 announces rp-2's deletion, lists the manifests again and freezes past its lock's expiry;
    compaction 2 takes the vault and removes the announcement it finds (stale, by the lock); a backup then
    references rp-2, seeing no announcement. Compaction 1, woken, must not delete rp-2."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.snapshot("rp-3", {4: 400})
    world.clock.advance(HOUR)
    listing = world.vault.manifest_objects
    children = []

    def frozen_after_listing_again():
        found = listing()
        if world.vault.manifests_being_deleted() and not children:
            world.vault.manifest_objects = listing
            world.clock.advance(GC.lock_ttl_seconds + 60)
            world.compact(job_id="compact-2")  # nothing expired today
            children.append(world.backup("rp-3", parent="rp-2"))
            world.vault.manifest_objects = frozen_after_listing_again
        return found

    world.vault.manifest_objects = frozen_after_listing_again
    with pytest.raises(LockLost):
        world.compact(expired_rps=["rp-2"], job_id="compact-1")
    world.vault.manifest_objects = listing

    assert children[0].manifest.references_parent
    assert world.restores_exactly("rp-3")

"""backup.start makes the snapshots the engine reads readable to it (the elastio:resource tag), or says why not."""

from __future__ import annotations

from elastio_contract import tables
from elastio_pulumi.constants import RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE
from lambdas.background_jobs.handler import handler
from lambdas.background_jobs.snapshots import (
    ENGINE_READABLE_TAG,
    make_readable_to_engine,
    source_read,
    unreadable_reason,
)
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import command
from tests.lambdas.world import VAULT, aws_client, aws_table, create_snapshot, table_name

ASSET = "vol-0123456789abcdef0"
MISSING = "snap-00000000000000000"


def tags_of(snapshot_id: str) -> dict[str, str]:
    (snapshot,) = aws_client("ec2").describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    return {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}


def backup(snapshot_id: str, **extra) -> dict:
    return command("backup.start", {"vaultName": VAULT, "assetId": ASSET, "snapshotId": snapshot_id, **extra})


def store_parent(snapshot_id: str, status: str = "available") -> None:
    aws_table(table_name(tables.RECOVERY_POINTS)).put_item(Item={
        "assetId": ASSET, "recoveryPointId": "rp-parent", "vaultName": VAULT, "snapshotId": snapshot_id,
        "createdAt": "2026-01-01T00:00:00Z", "status": status})


def no_job_submitted(world, command_id: str) -> bool:
    batch_jobs = aws_client("batch").list_jobs(
        jobQueue=world.vault["jobQueueArn"], jobStatus="SUCCEEDED")["jobSummaryList"]
    return get_job(command_id) is None and batch_jobs == []


def test_the_lambdas_tag_is_the_programs_resource_tag():
    assert ENGINE_READABLE_TAG == {"Key": RESOURCE_TAG_KEY, "Value": RESOURCE_TAG_VALUE}


def test_backup_start_tags_the_source_snapshot_and_submits_the_job(world, context, snapshot_id):
    start = backup(snapshot_id)
    result = handler(start, context)
    assert tags_of(snapshot_id) == {"elastio:resource": "true"}
    assert result["submitted"] is True and get_job(start["id"])["batchJobId"] == result["batchJobId"]


def test_tagging_keeps_the_customers_own_tags(world, context):
    snapshot_id = create_snapshot({"team": "billing"})
    handler(backup(snapshot_id), context)
    assert tags_of(snapshot_id) == {"team": "billing", "elastio:resource": "true"}


def test_incremental_backup_also_tags_the_parent_recovery_points_snapshot(world, context, snapshot_id):
    parent_snapshot = create_snapshot()
    store_parent(parent_snapshot)
    handler(backup(snapshot_id, parentRecoveryPointId="rp-parent"), context)
    assert tags_of(parent_snapshot)["elastio:resource"] == "true"
    assert tags_of(snapshot_id)["elastio:resource"] == "true"


def test_a_snapshot_already_tagged_is_not_tagged_again(world):
    tagged = create_snapshot({"elastio:resource": "true"})
    untagged = create_snapshot()
    assert make_readable_to_engine([source_read(tagged), source_read(untagged)]) == [untagged]


def test_unknown_snapshot_is_rejected_naming_it_and_no_job_is_submitted(world, context):
    start = backup(MISSING)
    result = handler(start, context)
    (event,) = world.tenant_events()
    assert result["status"] == "rejected" and event["type"] == "command.rejected"
    assert f"source snapshot {MISSING!r} is not a snapshot of this account in us-east-1" in event["payload"]["reason"]
    assert no_job_submitted(world, start["id"])


def test_deleted_parent_snapshot_is_rejected_with_the_full_backup_fix_and_tags_nothing(world, context, snapshot_id):
    store_parent(MISSING)
    start = backup(snapshot_id, parentRecoveryPointId="rp-parent")
    reason = handler(start, context)["reason"]
    assert f"snapshot {MISSING!r} of parent recovery point 'rp-parent'" in reason
    assert "without parentRecoveryPointId" in reason
    assert "elastio:resource" not in tags_of(snapshot_id)
    assert no_job_submitted(world, start["id"])


def test_unknown_parent_recovery_point_is_rejected(world, context, snapshot_id):
    start = backup(snapshot_id, parentRecoveryPointId="rp-parent")
    reason = handler(start, context)["reason"]
    assert "parent recovery point 'rp-parent'" in reason and "not in vault 'primary'" in reason
    assert no_job_submitted(world, start["id"])


def test_archived_snapshot_is_rejected_with_how_to_restore_it(world, context, snapshot_id):
    aws_client("ec2").modify_snapshot_tier(SnapshotId=snapshot_id, StorageTier="archive")
    reason = handler(backup(snapshot_id), context)["reason"]
    assert f"source snapshot {snapshot_id!r} is archived" in reason and "restore-snapshot-tier" in reason


def test_a_pending_snapshot_is_not_readable_yet():
    assert "pending, not completed" in unreadable_reason({"State": "pending", "StorageTier": "standard"})
    assert unreadable_reason({"State": "completed", "StorageTier": "standard"}) is None

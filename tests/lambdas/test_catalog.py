from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from elastio_contract import tables
from lambdas.catalog.handler import handler
from lambdas.catalog.retention import expires_at, is_expired
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import command
from tests.lambdas.world import VAULT, aws_client, aws_table, table_name


def registration(recovery_point_id: str, created_at: datetime, asset_id: str = "vol-1", **extra) -> dict:
    return command("recovery-point.register", {
        "vaultName": VAULT, "assetId": asset_id, "recoveryPointId": recovery_point_id,
        "snapshotId": "snap-0123456789abcdef0",
        "manifestKey": f"manifests/{asset_id}/{recovery_point_id}.json",
        "logicalBytes": 1000, "storedBytes": 400, "newBytes": 300, "chunkCount": 7, "jobId": "job-1",
        "createdAt": created_at.isoformat(), **extra})


def stored_point(asset_id: str, recovery_point_id: str) -> dict:
    return aws_table(table_name(tables.RECOVERY_POINTS)).get_item(
        Key={"assetId": asset_id, "recoveryPointId": recovery_point_id})["Item"]


def test_register_stores_point_with_expiry_from_retention(world, context):
    handler(registration("rp-1", datetime(2026, 1, 1, tzinfo=UTC), retentionDays=7), context)
    point = stored_point("vol-1", "rp-1")
    assert (point["expiresAt"], point["status"]) == ("2026-01-08T00:00:00Z", "available")
    assert point["storedBytes"] == 400


def test_register_announces_new_point_to_tenant(world, context):
    register = registration("rp-1", datetime.now(UTC))
    handler(register, context)
    (event,) = world.tenant_events()
    assert (event["type"], event["correlationId"]) == ("recovery-point.created", register["id"])
    assert event["payload"]["manifestKey"] == "manifests/vol-1/rp-1.json"


def test_repeated_registration_keeps_first_and_announces_once(world, context):
    handler(registration("rp-1", datetime(2026, 1, 1, tzinfo=UTC)), context)
    result = handler(registration("rp-1", datetime(2026, 2, 1, tzinfo=UTC)), context)
    assert result["created"] is False
    assert stored_point("vol-1", "rp-1")["createdAt"] == "2026-01-01T00:00:00Z"
    assert len(world.tenant_events()) == 1


def test_register_for_unknown_vault_is_rejected(world, context):
    register = registration("rp-1", datetime.now(UTC))
    register["payload"]["vaultName"] = "ghost"
    assert handler(register, context)["status"] == "rejected"
    assert "Item" not in aws_table(table_name(tables.RECOVERY_POINTS)).get_item(
        Key={"assetId": "vol-1", "recoveryPointId": "rp-1"})


def test_list_by_vault_returns_newest_first_within_limit(world, context):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(3):
        handler(registration(f"rp-{day}", start + timedelta(days=day), asset_id=f"vol-{day}"), context)
    world.tenant_events()
    handler(command("recovery-points.list", {"vaultName": VAULT, "limit": 2}), context)
    (event,) = world.tenant_events()
    assert [p["recoveryPointId"] for p in event["payload"]["recoveryPoints"]] == ["rp-2", "rp-1"]
    handler(command("recovery-points.list", {"vaultName": VAULT, "limit": 2,
                                             "nextToken": event["payload"]["nextToken"]}), context)
    (rest,) = world.tenant_events()
    assert [p["recoveryPointId"] for p in rest["payload"]["recoveryPoints"]] == ["rp-0"]
    assert "nextToken" not in rest["payload"]


def test_list_by_asset_returns_only_that_asset(world, context):
    handler(registration("rp-a", datetime.now(UTC), asset_id="vol-a"), context)
    handler(registration("rp-b", datetime.now(UTC), asset_id="vol-b"), context)
    world.tenant_events()
    handler(command("recovery-points.list", {"assetId": "vol-b"}), context)
    (event,) = world.tenant_events()
    assert [p["recoveryPointId"] for p in event["payload"]["recoveryPoints"]] == ["rp-b"]


def test_list_without_vault_or_asset_is_rejected(world, context):
    handler(command("recovery-points.list", {}), context)
    (event,) = world.tenant_events()
    assert event["type"] == "command.rejected"
    assert "vaultName or payload.assetId" in event["payload"]["reason"]


def test_expire_marks_points_past_retention_and_submits_compact_job(world, context):
    now = datetime.now(UTC)
    handler(registration("old", now - timedelta(days=40), retentionDays=30), context)
    handler(registration("new", now - timedelta(days=1), retentionDays=30), context)
    result = handler(command("recovery-points.expire", {"vaultName": VAULT}), context)
    assert result["expired"] == ["old"]
    assert (stored_point("vol-1", "old")["status"], stored_point("vol-1", "new")["status"]) == (
        "expired", "available")
    compact = get_job(result["compactJobId"])
    batch_job = aws_client("batch").describe_jobs(jobs=[compact["batchJobId"]])["jobs"][0]
    assert batch_job["jobDefinition"] == world.vault["jobDefinitions"]["compact"]


def test_expire_with_nothing_past_retention_submits_no_job(world, context):
    handler(registration("new", datetime.now(UTC)), context)
    result = handler(command("recovery-points.expire", {"vaultName": VAULT}), context)
    assert result == {"status": "done", "expired": []}


def test_redelivered_expire_submits_one_compact_job(world, context):
    handler(registration("old", datetime.now(UTC) - timedelta(days=40)), context)
    expire = command("recovery-points.expire", {"vaultName": VAULT})
    first = handler(expire, context)
    second = handler(expire, context)
    assert first["compactJobId"] == second["compactJobId"]
    assert len(aws_client("batch").list_jobs(jobQueue=world.vault["jobQueueArn"],
                                             jobStatus="SUCCEEDED")["jobSummaryList"]) == 1


@pytest.mark.parametrize(("days", "expired"), [(29, False), (30, True), (31, True)])
def test_point_expires_once_retention_has_passed(days, expired):
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert is_expired(expires_at(created, 30), created + timedelta(days=days)) is expired

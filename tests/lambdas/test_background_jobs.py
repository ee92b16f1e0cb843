from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from elastio_contract import tables
from lambdas.background_jobs.handler import handler
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import command
from tests.lambdas.world import VAULT, aws_client, aws_table, create_snapshot, table_name

ASSET = "vol-0123456789abcdef0"


def backup_payload(snapshot_id, **extra) -> dict:
    return {"vaultName": VAULT, "assetId": ASSET, "snapshotId": snapshot_id, **extra}


def batch_job(batch_job_id: str) -> dict:
    return aws_client("batch").describe_jobs(jobs=[batch_job_id])["jobs"][0]


def test_backup_start_submits_batch_job_on_vault_queue_with_contract_parameters(world, context, snapshot_id):
    store_recovery_point(asset=ASSET, snapshot_id=create_snapshot())
    backup = command("backup.start", backup_payload(snapshot_id, parentRecoveryPointId="rp-1"))
    result = handler(backup, context)
    job = batch_job(result["batchJobId"])
    assert job["jobQueue"] == world.vault["jobQueueArn"]
    assert job["jobDefinition"] == world.vault["jobDefinitions"]["backup"]
    assert job["parameters"] == {"jobId": backup["id"], "vaultName": VAULT, "assetId": ASSET,
                                 "snapshotId": snapshot_id, "parentRecoveryPointId": "rp-1"}


def test_backup_start_records_job_keyed_by_command_id(world, context, snapshot_id):
    backup = command("backup.start", backup_payload(snapshot_id))
    result = handler(backup, context)
    record = get_job(backup["id"])
    assert (record["type"], record["state"]) == ("backup", "SUBMITTED")
    assert record["batchJobId"] == result["batchJobId"]
    assert record["correlationId"] == backup["id"]


def store_recovery_point(status: str = "available", vault: str = VAULT, asset: str = "vol-1",
                         snapshot_id: str = "snap-0123456789abcdef0") -> None:
    aws_table(table_name(tables.RECOVERY_POINTS)).put_item(Item={
        "assetId": asset, "recoveryPointId": "rp-1", "vaultName": vault, "snapshotId": snapshot_id,
        "createdAt": "2026-01-01T00:00:00Z", "status": status})


def test_restore_and_scan_use_their_own_job_definitions(world, context):
    store_recovery_point()
    restore = command("restore.start", {"vaultName": VAULT, "assetId": "vol-1", "recoveryPointId": "rp-1",
                                        "target": "us-east-1a"})
    scan = command("scan.start", {"vaultName": VAULT, "assetId": "vol-1", "recoveryPointId": "rp-1"})
    restored = batch_job(handler(restore, context)["batchJobId"])
    scanned = batch_job(handler(scan, context)["batchJobId"])
    assert restored["jobDefinition"] == world.vault["jobDefinitions"]["restore"]
    assert restored["parameters"]["target"] == "us-east-1a"
    assert scanned["jobDefinition"] == world.vault["jobDefinitions"]["scan"]


def test_restore_of_unknown_recovery_point_is_rejected(world, context):
    store_recovery_point(vault="other-vault")
    restore = command("restore.start", {"vaultName": VAULT, "assetId": "vol-1", "recoveryPointId": "rp-1",
                                        "target": "us-east-1a"})
    result = handler(restore, context)
    assert result["status"] == "rejected" and "'rp-1'" in result["reason"]


def test_scan_of_expired_recovery_point_is_rejected(world, context):
    store_recovery_point(status="expired")
    scan = command("scan.start", {"vaultName": VAULT, "assetId": "vol-1", "recoveryPointId": "rp-1"})
    result = handler(scan, context)
    assert result["status"] == "rejected" and "expired" in result["reason"]


def test_redelivered_backup_start_submits_one_batch_job(world, context, snapshot_id):
    backup = command("backup.start", backup_payload(snapshot_id))
    first = handler(backup, context)
    second = handler(backup, context)
    assert second["batchJobId"] == first["batchJobId"] and second["submitted"] is False
    jobs = aws_client("batch").list_jobs(
        jobQueue=world.vault["jobQueueArn"], jobStatus="SUCCEEDED")["jobSummaryList"]
    assert len(jobs) == 1


def test_submission_is_announced_to_tenant(world, context, snapshot_id):
    backup = command("backup.start", backup_payload(snapshot_id))
    handler(backup, context)
    events = world.tenant_events()
    assert [(e["type"], e["correlationId"], e["payload"]["jobId"]) for e in events] == [
        ("job.submitted", backup["id"], backup["id"])]


def test_unknown_vault_is_rejected_to_tenant_naming_the_vault(world, context, snapshot_id):
    result = handler(command("backup.start", backup_payload(snapshot_id, vaultName="nope")), context)
    (event,) = world.tenant_events()
    assert result["status"] == "rejected"
    assert event["type"] == "command.rejected" and "'nope'" in event["payload"]["reason"]


def test_jobs_table_outage_fails_invocation_before_submitting_anything(world, context, snapshot_id):
    aws_client("dynamodb").delete_table(TableName=table_name(tables.JOBS))
    with pytest.raises(ClientError, match="ResourceNotFound"):
        handler(command("backup.start", backup_payload(snapshot_id)), context)
    assert aws_client("batch").list_jobs(
        jobQueue=world.vault["jobQueueArn"], jobStatus="SUCCEEDED")["jobSummaryList"] == []


def test_cancel_terminates_batch_job_and_flags_record(world, context, snapshot_id):
    backup = command("backup.start", backup_payload(snapshot_id))
    batch_job_id = handler(backup, context)["batchJobId"]
    handler(command("job.cancel", {"jobId": backup["id"], "reason": "operator asked"}), context)
    record = get_job(backup["id"])
    assert record["cancelRequested"] is True and record["reason"] == "operator asked"
    assert batch_job(batch_job_id)["statusReason"] == "operator asked"


def test_cancel_of_unknown_job_is_rejected(world, context):
    result = handler(command("job.cancel", {"jobId": "missing"}), context)
    assert result["status"] == "rejected"
    assert "'missing'" in world.tenant_events()[0]["payload"]["reason"]


def test_cancel_of_finished_job_is_rejected(world, context, snapshot_id):
    backup = command("backup.start", backup_payload(snapshot_id))
    handler(backup, context)
    aws_table(table_name(tables.JOBS)).update_item(
        Key={"jobId": backup["id"]}, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": "SUCCEEDED"})
    assert handler(command("job.cancel", {"jobId": backup["id"]}), context)["status"] == "rejected"


def test_a_submitted_job_carries_its_vault_and_its_deployment(world, context, snapshot_id):
    # The functions may terminate only jobs carrying both (connector_documents.py, CancelVaultJobs): a vault name
    # alone is not unique in an account with two deployments (issue 16). The deployment is the environment's.
    job = batch_job(handler(command("backup.start", backup_payload(snapshot_id)), context)["batchJobId"])
    assert job["tags"]["elastio:vault"] == VAULT
    assert job["tags"]["elastio:deployment"] == world.env["ELASTIO_DEPLOYMENT"] == "elastio"

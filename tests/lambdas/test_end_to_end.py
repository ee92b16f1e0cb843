"""A backup command followed from the command queue to a recovery point in the Catalog.

Lambda's own plumbing is played by the test: the SQS poller (tests/lambdas/poller.py), delivering the
router's asynchronous invocations to the target handler, and EventBridge delivering the Batch
state-change events moto does not emit. Everything else is moto's AWS.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from elastio_contract import tables
from lambdas.background_jobs.handler import handler as background_jobs
from lambdas.catalog.handler import handler as catalog
from lambdas.job_status.handler import handler as job_status
from lambdas.router.handler import handler as router
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import batch_state_change, command
from tests.lambdas.poller import poll_once, queue_depth, send
from tests.lambdas.world import FUNCTION_KEYS, VAULT, aws_client, aws_table, create_connector_table, table_name

SERVICES = {FUNCTION_KEYS["backgroundJobs"]: background_jobs, FUNCTION_KEYS["catalog"]: catalog,
            FUNCTION_KEYS["jobStatus"]: job_status}
ASSET = "vol-0123456789abcdef0"


def backup_payload(snapshot_id) -> dict:
    return {"vaultName": VAULT, "assetId": ASSET, "snapshotId": snapshot_id}


def route(world, context, invocations) -> list[dict]:
    """Poll the command queue once and deliver the router's invocations to their functions."""
    before = len(invocations)
    poll_once(world.command_queue_url, router, context)
    return [SERVICES[i["function"]](i["payload"], context) for i in invocations[before:]]


def engine_reports_progress(job_id: str, percent: int) -> None:
    aws_table(table_name(tables.JOBS)).update_item(
        Key={"jobId": job_id}, UpdateExpression="SET progress.#p = :p, progress.bytesDone = :d",
        ExpressionAttributeNames={"#p": "percent"}, ExpressionAttributeValues={":p": percent, ":d": 1 << 30})


def engine_registers_recovery_point(job: dict, context) -> dict:
    return catalog(command("recovery-point.register", {
        "vaultName": VAULT, "assetId": ASSET, "recoveryPointId": "rp-0001",
        "snapshotId": job["parameters"]["snapshotId"], "manifestKey": f"manifests/{ASSET}/rp-0001.json",
        "logicalBytes": 8 << 30, "storedBytes": 1 << 30, "newBytes": 1 << 30, "chunkCount": 4096,
        "jobId": job["jobId"], "createdAt": "2026-03-01T10:00:00Z"}), context)


def state_change(job: dict, status: str) -> dict:
    return batch_state_change(f"elastio-backup-{job['jobId']}", job["batchJobId"], status,
                              dict(job["parameters"]))


def test_backup_command_becomes_a_batch_job_and_a_recovery_point(world, context, snapshot_id, invocations):
    backup = command("backup.start", backup_payload(snapshot_id))
    send(world.command_queue_url, json.dumps(backup))

    (submitted,) = route(world, context, invocations)
    job = get_job(backup["id"])
    batch_job = aws_client("batch").describe_jobs(jobs=[submitted["batchJobId"]])["jobs"][0]
    assert batch_job["jobQueue"] == world.vault["jobQueueArn"]
    assert batch_job["parameters"]["jobId"] == job["jobId"] == backup["id"]

    engine_reports_progress(job["jobId"], 50)
    job_status(state_change(job, "RUNNING"), context)
    engine_registers_recovery_point(job, context)
    job_status(state_change(job, "SUCCEEDED"), context)

    events = world.tenant_events()
    assert [e["type"] for e in events] == ["job.submitted", "job.progress", "recovery-point.created",
                                           "job.completed"]
    assert events[1]["payload"]["progress"]["percent"] == 50
    assert all(e["correlationId"] == backup["id"] for e in events[:2] + events[3:])
    assert get_job(backup["id"])["state"] == "SUCCEEDED"
    point = aws_table(table_name(tables.RECOVERY_POINTS)).get_item(
        Key={"assetId": ASSET, "recoveryPointId": "rp-0001"})["Item"]
    assert (point["jobId"], point["status"]) == (backup["id"], "available")
    assert queue_depth(world.command_queue_url) == 0


def test_redelivered_backup_command_creates_no_second_job(world, context, snapshot_id, invocations):
    backup = json.dumps(command("backup.start", backup_payload(snapshot_id)))
    send(world.command_queue_url, backup)
    route(world, context, invocations)
    send(world.command_queue_url, backup)  # SQS delivers at least once
    assert route(world, context, invocations) == []
    jobs = aws_table(table_name(tables.JOBS)).scan()["Items"]
    batch_jobs = aws_client("batch").list_jobs(jobQueue=world.vault["jobQueueArn"],
                                               jobStatus="SUCCEEDED")["jobSummaryList"]
    assert (len(jobs), len(batch_jobs)) == (1, 1)


def test_jobs_table_outage_loses_no_command(world, context, snapshot_id, invocations):
    backup = command("backup.start", backup_payload(snapshot_id))
    send(world.command_queue_url, json.dumps(backup))
    ddb = aws_client("dynamodb")
    ddb.delete_table(TableName=table_name(tables.JOBS))

    poll_once(world.command_queue_url, router, context)
    (invocation,) = invocations
    with pytest.raises(ClientError):  # the function fails: Lambda retries the asynchronous event
        background_jobs(invocation["payload"], context)

    create_connector_table(tables.JOBS, world.vault["kmsKeyArn"])  # the table is back
    background_jobs(invocation["payload"], context)  # Lambda's retry of the same event
    assert get_job(backup["id"])["batchJobId"]

from __future__ import annotations

import pytest

from elastio_contract import tables
from lambdas.background_jobs.handler import handler as background_jobs
from lambdas.job_status.handler import handler
from lambdas.job_status.transitions import job_id_from, transition_for
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import batch_state_change, command
from tests.lambdas.world import VAULT, aws_table, table_name

BACKUP = {"vaultName": VAULT, "assetId": "vol-1"}


@pytest.fixture
def job(world, context, snapshot_id) -> dict:
    """A submitted backup job; the tenant queue is drained of its `job.submitted`."""
    backup = command("backup.start", {**BACKUP, "snapshotId": snapshot_id})
    background_jobs(backup, context)
    world.tenant_events()
    return get_job(backup["id"])


def state_change(job: dict, status: str, reason: str | None = None) -> dict:
    return batch_state_change(f"elastio-backup-{job['jobId']}", job["batchJobId"], status,
                              dict(job["parameters"]), reason)


def test_running_event_publishes_progress_the_engine_wrote(world, context, job):
    aws_table(table_name(tables.JOBS)).update_item(
        Key={"jobId": job["jobId"]}, UpdateExpression="SET progress.#p = :p, progress.bytesDone = :d",
        ExpressionAttributeNames={"#p": "percent"}, ExpressionAttributeValues={":p": 40, ":d": 4096})
    handler(state_change(job, "RUNNING"), context)
    (event,) = world.tenant_events()
    assert event["type"] == "job.progress" and event["correlationId"] == job["jobId"]
    assert (event["payload"]["progress"]["percent"], event["payload"]["progress"]["bytesDone"]) == (40, 4096)
    assert get_job(job["jobId"])["state"] == "RUNNING"


def test_succeeded_event_completes_job_without_alert(world, context, job):
    handler(state_change(job, "SUCCEEDED"), context)
    assert [e["type"] for e in world.tenant_events()] == ["job.completed"]
    assert get_job(job["jobId"])["state"] == "SUCCEEDED"
    assert world.alerts() == []


def test_failed_event_tells_tenant_and_alerts_operators(world, context, job):
    handler(state_change(job, "FAILED", "Essential container in task exited"), context)
    (event,) = world.tenant_events()
    (alert,) = world.alerts()
    assert event["type"] == "job.failed"
    assert event["payload"]["reason"] == "Essential container in task exited"
    assert alert["jobId"] == job["jobId"] and alert["state"] == "FAILED"


def test_failure_after_cancel_is_reported_as_cancelled_without_alert(world, context, job):
    background_jobs(command("job.cancel", {"jobId": job["jobId"], "reason": "not needed"}), context)
    handler(state_change(job, "FAILED", "not needed"), context)
    (event,) = world.tenant_events()
    assert event["payload"]["state"] == "CANCELLED" and event["payload"]["reason"] == "not needed"
    assert world.alerts() == []


def test_repeated_terminal_event_is_reported_once(world, context, job):
    handler(state_change(job, "SUCCEEDED"), context)
    result = handler(state_change(job, "SUCCEEDED"), context)
    assert result["status"] == "stale"
    assert len(world.tenant_events()) == 1


def test_late_running_event_does_not_reopen_finished_job(world, context, job):
    handler(state_change(job, "SUCCEEDED"), context)
    handler(state_change(job, "RUNNING"), context)
    assert get_job(job["jobId"])["state"] == "SUCCEEDED"


def test_event_for_untracked_job_is_ignored(world, context):
    event = batch_state_change("someone-elses-job", "b-1", "FAILED", {})
    assert handler(event, context) == {"status": "ignored"}
    assert world.tenant_events() == [] and world.alerts() == []


def test_job_status_command_answers_from_jobs_table(world, context, job):
    status = command("job.status", {"jobId": job["jobId"]})
    handler(status, context)
    (event,) = world.tenant_events()
    assert (event["type"], event["correlationId"]) == ("job.status", status["id"])
    assert (event["payload"]["state"], event["payload"]["batchJobId"]) == ("SUBMITTED", job["batchJobId"])


def test_job_status_of_unknown_job_is_rejected(world, context):
    handler(command("job.status", {"jobId": "nope"}), context)
    (event,) = world.tenant_events()
    assert event["type"] == "command.rejected" and "'nope'" in event["payload"]["reason"]


@pytest.mark.parametrize("status", ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING"])
def test_waiting_batch_statuses_publish_nothing(status):
    assert transition_for(status, cancel_requested=False).event_type is None


def test_unknown_batch_status_is_an_error():
    with pytest.raises(ValueError, match="'PAUSED'"):
        transition_for("PAUSED", cancel_requested=False)


def test_job_id_falls_back_to_batch_job_name():
    assert job_id_from(None, "elastio-backup-1234-abcd") == "1234-abcd"
    assert job_id_from({}, "other-job") is None

"""Job status: Batch "Job State Change" events → jobs table + tenant events; answers `job.status`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from lambdas.job_status.transitions import job_id_from, transition_for
from lambdas.shared import tenant
from lambdas.shared.dynamo import is_condition_failure
from lambdas.shared.envelopes import CommandRejected, JobStatus, now_iso
from lambdas.shared.jobs import TERMINAL_STATES, get_job, jobs_table
from lambdas.shared.jsonsafe import to_plain
from lambdas.shared.service import is_command, run_command

logger = Logger(service="job_status")


class BatchJobDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    jobId: str
    jobName: str
    jobQueue: str
    status: str
    statusReason: str | None = None
    parameters: dict[str, str] | None = None


class BatchJobStateChange(EventBridgeModel):
    detail: BatchJobDetail


def job_view(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("jobId", "type", "vaultName", "state", "batchJobId", "progress", "reason", "createdAt",
            "updatedAt")
    return to_plain({key: record[key] for key in keys if key in record})


def record_state(job_id: str, state: str, reason: str | None) -> dict[str, Any] | None:
    """Move the job to `state` unless it already ended; None when the event is stale or a duplicate."""
    values: dict[str, Any] = {":s": state, ":u": now_iso()}
    values.update({f":t{i}": terminal for i, terminal in enumerate(TERMINAL_STATES)})
    update = "SET #state = :s, updatedAt = :u"
    if reason:
        update += ", reason = :r"
        values[":r"] = reason
    try:
        return jobs_table().update_item(
            Key={"jobId": job_id},
            UpdateExpression=update,
            # EventBridge delivers at least once and not always in order: never leave a terminal state.
            ConditionExpression="attribute_exists(jobId) AND NOT #state IN ("
            + ", ".join(f":t{i}" for i in range(len(TERMINAL_STATES))) + ")",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise


def on_state_change(raw_event: dict[str, Any]) -> dict[str, Any]:
    event = parse(event=raw_event, model=BatchJobStateChange)
    detail = event.detail
    job_id = job_id_from(detail.parameters, detail.jobName)
    current = get_job(job_id) if job_id else None
    if current is None:
        logger.info("state change for a job we do not track", extra={"batchJobId": detail.jobId})
        return {"status": "ignored"}
    transition = transition_for(detail.status, bool(current.get("cancelRequested")))
    reason = current.get("reason") if transition.state == "CANCELLED" else detail.statusReason
    updated = record_state(job_id, transition.state, reason if transition.state != "SUCCEEDED" else None)
    if updated is None:
        logger.info("stale or repeated state change", extra={"jobId": job_id, "status": detail.status})
        return {"status": "stale", "jobId": job_id}
    if transition.event_type:
        tenant.publish(transition.event_type, job_view(updated), updated.get("correlationId"))
    if transition.alert:
        tenant.alert(f"Elastio {updated.get('type', 'job')} job failed: {job_id}", job_view(updated))
    return {"status": "recorded", "jobId": job_id, "state": transition.state}


def answer_status(command: JobStatus) -> dict[str, Any]:
    record = get_job(command.payload.jobId)
    if record is None:
        raise CommandRejected(f"job {command.payload.jobId!r} does not exist in this region; check the jobId")
    tenant.publish("job.status", job_view(record), str(command.id))
    return {"jobId": record["jobId"], "state": record["state"]}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_command(event):
        return run_command(event, {"job.status": answer_status}, logger)
    return on_state_change(event)

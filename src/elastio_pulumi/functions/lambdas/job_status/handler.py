"""Job status: Batch "Job State Change" events → jobs table + tenant events; answers `job.status`; and
sends the outbox (the commands table's stream, lambdas/shared/outbox.py) to the tenant and operators."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict

from lambdas.job_status.transitions import job_id_from, transition_for
from lambdas.shared import outbox, tenant
from lambdas.shared.config import settings
from lambdas.shared.envelopes import JobStatus, now_iso
from lambdas.shared.jobs import (
    JOB_TYPES,
    STATES_BEFORE,
    TERMINAL_STATES,
    existing_job,
    get_job,
    job_view,
    release_compaction,
    state_message,
)
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


def commit_transition(record: dict[str, Any], batch_job_id: str, state: str, reason: str | None,
                      event_type: str | None, alert: bool) -> bool:
    """Move the job forward to `state` with its messages, all at once; False if stale or a repeat.

    The condition is the whole rule: the event is of the Batch job we recorded, and states only move
    forward (EventBridge delivers at least once and not in order).
    """
    before = STATES_BEFORE.get(state)
    if not before:
        return False  # SUBMITTED-like statuses never move a job
    values: dict[str, Any] = {":s": state, ":u": now_iso(), ":b": batch_job_id,
                              **{f":before{i}": s for i, s in enumerate(before)}}
    update = "SET #state = :s, updatedAt = :u"
    if reason:
        update += ", reason = :r"
        values[":r"] = reason
    writes = [outbox.update(
        settings().jobs_table, {"jobId": record["jobId"]}, update,
        condition=f"batchJobId = :b AND #state IN ({', '.join(f':before{i}' for i in range(len(before)))})",
        values=values, names={"#state": "state"})]
    if record.get("type") == "compact" and state in TERMINAL_STATES:
        writes.append(release_compaction(record))  # the vault's next compaction may start
    shown = {**record, "reason": reason} if reason else record
    messages = [state_message(shown, state, event_type)] if event_type else []
    if alert:
        messages.append(outbox.alert(f"Elastio {record.get('type', 'job')} job failed: {record['jobId']}",
                                     job_view(shown, state=state), record["jobId"], state))
    try:
        outbox.commit(writes, messages)
    except outbox.Stale:
        return False
    return True


def on_state_change(raw_event: dict[str, Any]) -> dict[str, Any]:
    event = parse(event=raw_event, model=BatchJobStateChange)
    detail = event.detail
    job_id = job_id_from(detail.parameters, detail.jobName)
    current = get_job(job_id) if job_id else None
    if current is None or current.get("batchJobId") != detail.jobId:
        # Not a job we track, or a Batch job of it we did not record (a duplicate submission, which was
        # terminated and whose engine exits without effects): its states are not the job's.
        logger.info("state change of a Batch job we did not record", extra={"batchJobId": detail.jobId})
        return {"status": "ignored"}
    transition = transition_for(detail.status, bool(current.get("cancelRequested")))
    reason = current.get("reason") if transition.state == "CANCELLED" else detail.statusReason
    reason = None if transition.state == "SUCCEEDED" else reason
    if not commit_transition(current, detail.jobId, transition.state, reason, transition.event_type,
                             transition.alert):
        logger.info("stale or repeated state change", extra={"jobId": job_id, "status": detail.status})
        return {"status": "stale", "jobId": job_id}
    return {"status": "recorded", "jobId": job_id, "state": transition.state}


def answer_status(command: JobStatus) -> dict[str, Any]:
    record = existing_job(command.payload.jobId, (*JOB_TYPES, "server"))  # a vault's server is a long job
    tenant.answer("job.status", job_view(record), command.id)
    return {"jobId": record["jobId"], "state": record["state"]}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if outbox.is_stream_batch(event):
        return outbox.deliver(event)
    if is_command(event):
        return run_command(event, {"job.status": answer_status}, logger)
    return on_state_change(event)

"""Pure rules: Batch job status → our job state and the tenant event it produces."""

from __future__ import annotations

from dataclasses import dataclass

# Batch statuses before RUNNING are all "waiting" from the tenant's point of view.
_STATE_OF_BATCH_STATUS = {
    "SUBMITTED": "SUBMITTED", "PENDING": "SUBMITTED", "RUNNABLE": "SUBMITTED", "STARTING": "SUBMITTED",
    "RUNNING": "RUNNING", "SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED",
}


@dataclass(frozen=True)
class Transition:
    state: str
    event_type: str | None  # tenant event to publish, if any
    alert: bool  # whether operators are told on the alerts topic


def transition_for(batch_status: str, cancel_requested: bool) -> Transition:
    state = _STATE_OF_BATCH_STATUS.get(batch_status)
    if state is None:
        raise ValueError(f"unknown Batch job status {batch_status!r}")
    if state == "FAILED" and cancel_requested:
        # A terminated job ends FAILED in Batch; for the tenant it is the cancellation they asked for.
        return Transition("CANCELLED", "job.failed", alert=False)
    if state == "FAILED":
        return Transition("FAILED", "job.failed", alert=True)
    if state == "SUCCEEDED":
        return Transition("SUCCEEDED", "job.completed", alert=False)
    if state == "RUNNING":
        return Transition("RUNNING", "job.progress", alert=False)
    return Transition("SUBMITTED", None, alert=False)


def job_id_from(parameters: dict[str, str] | None, job_name: str) -> str | None:
    """Our job id: the `jobId` parameter, else the suffix of the Batch job name `elastio-<type>-<jobId>`."""
    if parameters and parameters.get("jobId"):
        return parameters["jobId"]
    parts = job_name.split("-", 2)
    if len(parts) == 3 and parts[0] == "elastio" and parts[2]:
        return parts[2]
    return None

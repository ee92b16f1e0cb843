"""Job records (jobs table), Batch submission and cancellation, shared by Background jobs, the Catalog
(compact) and Job status.

Exactly-once effects with a SubmitJob that has no idempotency token (lambdas/README.md, "Delivery
guarantees"): the job record is written before anything is submitted; a Batch job id is recorded on it
by one conditional write (`attribute_not_exists(batchJobId)`), made by whichever comes first — the
function that submitted it, or the engine when that Batch job starts (engine/jobs.py `claim`). Any other
Batch job of the same command loses that write: the function terminates it, its engine exits without
effects, and Job status ignores its events.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from elastio_contract.tags import JOB_VAULT_TAG_KEY, deployment_tag
from lambdas.shared import aws, outbox
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure
from lambdas.shared.envelopes import CommandRejected, now_iso
from lambdas.shared.jsonsafe import to_plain
from lambdas.shared.vaults import VaultRecord

JOB_TYPES = ("backup", "restore", "scan", "compact")
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
# States only move forward: SUBMITTED → RUNNING → one terminal state (SUBMITTED → terminal is allowed).
STATES_BEFORE = {"RUNNING": ("SUBMITTED",), **{s: ("SUBMITTED", "RUNNING") for s in TERMINAL_STATES}}
EMPTY_PROGRESS = {"bytesTotal": 0, "bytesDone": 0, "chunksNew": 0, "chunksReused": 0, "percent": 0}
_NOT_ENDED = "NOT #state IN (:ended0, :ended1, :ended2)"
_ENDED_VALUES = {f":ended{i}": state for i, state in enumerate(TERMINAL_STATES)}


def jobs_table() -> Any:
    return aws.table(settings().jobs_table)


def get_job(job_id: str) -> dict[str, Any] | None:
    return jobs_table().get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")


def batch_job_name(job_type: str, job_id: str) -> str:
    # Batch names allow letters, digits, hyphens and underscores, up to 128 characters.
    return f"elastio-{job_type}-{job_id}"[:128]


def job_view(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    keys = ("jobId", "type", "vaultName", "state", "batchJobId", "progress", "reason", "createdAt",
            "updatedAt")
    merged = {**record, **changes}
    return to_plain({key: merged[key] for key in keys if key in merged})


def existing_job(job_id: str, job_types: tuple[str, ...] = JOB_TYPES) -> dict[str, Any]:
    """The job's record, or CommandRejected when there is none or it is another kind of record."""
    record = get_job(job_id)
    if record is None:
        raise CommandRejected(f"job {job_id!r} does not exist in this region; check the jobId")
    if record.get("type") not in job_types:
        raise CommandRejected(f"{job_id!r} is a {record.get('type')} record, not a "
                              f"{' or '.join(job_types)} job")
    return record


def record_intent(vault: VaultRecord, job_type: str, job_id: str, parameters: dict[str, str],
                  correlation_id: str) -> dict[str, Any]:
    """Write the job record before anything is submitted (or find the one an earlier attempt wrote)."""
    if job_type not in JOB_TYPES:
        raise ValueError(f"job type {job_type!r} is not one of {JOB_TYPES}")
    vault.job_definition(job_type)  # a vault record without this definition fails before anything is written
    now = now_iso()
    record: dict[str, Any] = {
        "jobId": job_id, "type": job_type, "vaultName": vault.vaultName, "state": "SUBMITTED",
        "parameters": {"jobId": job_id, "vaultName": vault.vaultName, **parameters},
        "progress": dict(EMPTY_PROGRESS), "createdAt": now, "updatedAt": now, "correlationId": correlation_id,
    }
    try:
        jobs_table().put_item(Item=record, ConditionExpression="attribute_not_exists(jobId)")
        return record
    except ClientError as error:
        if not is_condition_failure(error):
            raise
    existing = get_job(job_id) or record
    if existing.get("type") != job_type or existing.get("parameters") != record["parameters"]:
        raise CommandRejected(f"job id {job_id!r} is already a {existing.get('type')} job with other "
                              "parameters; send each command with a new id")
    return existing


def submitted_message(record: dict[str, Any], batch_job_id: str) -> outbox.Message:
    return outbox.event("job.submitted", {"jobId": record["jobId"], "type": record["type"],
                                          "vaultName": record["vaultName"], "batchJobId": batch_job_id},
                        record.get("correlationId"), record["jobId"], "submitted")


def job_tags(job_id: str, vault_name: str, deployment: str) -> dict[str, str]:
    """A Batch job's tags: the functions of this deployment may terminate only jobs carrying its vault's name and
    its elastio:deployment (connector_documents.py, CancelVaultJobs): a vault's name alone is not unique in an
    account that holds two deployments."""
    return {"elastio:job-id": job_id, JOB_VAULT_TAG_KEY: vault_name, **deployment_tag(deployment)}


def submit_job(vault: VaultRecord, job_type: str, job_id: str, parameters: dict[str, str],
               correlation_id: str) -> tuple[dict[str, Any], bool]:
    """Record the job, submit it, record its Batch job id; returns (record, whether this call submitted).

    Safe to repeat and to run twice at once: at most one Batch job is recorded, and every other one
    this function submitted is terminated. A cancel that arrived meanwhile is honoured.
    """
    record = record_intent(vault, job_type, job_id, parameters, correlation_id)
    if record.get("batchJobId") or record["state"] in TERMINAL_STATES:
        return record, False
    if record.get("cancelRequested"):
        cancel_unsubmitted(record)
        return get_job(job_id) or record, False
    batch = aws.client("batch")
    batch_job_id = batch.submit_job(
        jobName=batch_job_name(job_type, job_id),
        jobQueue=vault.jobQueueArn,
        jobDefinition=vault.job_definition(job_type),
        parameters=record["parameters"],
        tags=job_tags(job_id, vault.vaultName, settings().deployment),
        propagateTags=True,
    )["jobId"]
    try:
        outbox.commit([outbox.update(
            settings().jobs_table, {"jobId": job_id}, "SET batchJobId = :b, updatedAt = :u",
            # Or already ours: the engine of this very Batch job may have claimed the record first.
            condition=f"(attribute_not_exists(batchJobId) OR batchJobId = :b) AND {_NOT_ENDED}",
            values={":b": batch_job_id, ":u": now_iso(), **_ENDED_VALUES}, names={"#state": "state"},
        )], [submitted_message(record, batch_job_id)])
    except outbox.Stale:
        # Another Batch job of this command was recorded first (a duplicate delivery, or the engine of an
        # earlier submission claimed the record), or the job was cancelled: ours must not run.
        current = get_job(job_id) or record
        if current.get("batchJobId") != batch_job_id:
            batch.terminate_job(jobId=batch_job_id, reason=f"duplicate submission of job {job_id}")
        if current.get("batchJobId"):
            outbox.send(submitted_message(current, current["batchJobId"]))
        return current, current.get("batchJobId") == batch_job_id
    current = get_job(job_id) or {**record, "batchJobId": batch_job_id}
    if current.get("cancelRequested"):
        # The cancel arrived while we were submitting and found no Batch job to stop: stop it now.
        batch.terminate_job(jobId=batch_job_id, reason=str(current.get("reason", "cancelled"))[:256])
    return current, True


def cancel_unsubmitted(record: dict[str, Any]) -> bool:
    """End a job that has no Batch job as CANCELLED (and tell the tenant); False if one was recorded."""
    try:
        outbox.commit([outbox.update(
            settings().jobs_table, {"jobId": record["jobId"]}, "SET #state = :c, updatedAt = :u",
            condition=f"attribute_not_exists(batchJobId) AND {_NOT_ENDED}",
            values={":c": "CANCELLED", ":u": now_iso(), **_ENDED_VALUES}, names={"#state": "state"},
        )], [state_message(record, "CANCELLED", "job.failed")])
    except outbox.Stale:
        return False
    return True


def state_message(record: dict[str, Any], state: str, event_type: str) -> outbox.Message:
    return outbox.event(event_type, job_view(record, state=state, updatedAt=now_iso()),
                        record.get("correlationId"), record["jobId"], state)


def request_cancel(job_id: str, reason: str) -> dict[str, Any]:
    """Record the cancel first (so no later step can miss it), then stop whatever runs."""
    record = existing_job(job_id)
    try:
        jobs_table().update_item(
            Key={"jobId": job_id},
            UpdateExpression="SET cancelRequested = :t, reason = :r, updatedAt = :u",
            ConditionExpression=f"attribute_exists(jobId) AND {_NOT_ENDED}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":t": True, ":r": reason, ":u": now_iso(), **_ENDED_VALUES},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        ended = get_job(job_id) or record
        if ended.get("cancelRequested") and ended["state"] == "CANCELLED":
            return {"jobId": job_id, "cancelled": True}  # a repeat of the cancel that ended it
        raise CommandRejected(f"job {job_id!r} already ended ({ended['state']}); nothing to cancel") from None
    record = {**record, "cancelRequested": True, "reason": reason}
    if not record.get("batchJobId") and cancel_unsubmitted(record):
        return {"jobId": job_id, "cancelled": True}
    # A Batch job is (or was just) recorded: stop it. TerminateJob also cancels jobs that have not
    # started; Batch then emits FAILED, which Job status reports as CANCELLED because of the flag.
    batch_job_id = (get_job(job_id) or record).get("batchJobId")
    if batch_job_id:
        aws.client("batch").terminate_job(jobId=batch_job_id, reason=reason[:256])
    return {"jobId": job_id, "cancelRequested": True}


# ---- one compaction per vault at a time ------------------------------------------------------------------
def compaction_lock_id(vault_name: str) -> str:
    """The jobs-table item naming the vault's running compaction (type `lock`: not a job to cancel)."""
    return f"compaction-{vault_name}"


def acquire_compaction(vault_name: str, job_id: str) -> str:
    """Make `job_id` the vault's one compaction; returns the compaction that holds the vault (maybe another).

    The holder is released when Job status records its final state (`release_compaction`), or taken
    over here if its record already ended (a release that never happened).
    """
    key = {"jobId": compaction_lock_id(vault_name)}
    table = jobs_table()
    for _ in range(3):
        try:
            table.update_item(Key=key, UpdateExpression="SET activeJobId = :j, #type = :lock, updatedAt = :u",
                              ConditionExpression="attribute_not_exists(activeJobId) OR activeJobId = :j",
                              ExpressionAttributeNames={"#type": "type"},
                              ExpressionAttributeValues={":j": job_id, ":lock": "lock", ":u": now_iso()})
            return job_id
        except ClientError as error:
            if not is_condition_failure(error):
                raise
        holder = (table.get_item(Key=key, ConsistentRead=True).get("Item") or {}).get("activeJobId")
        holder_record = get_job(holder) if holder else None
        if holder and holder_record and holder_record.get("state") not in TERMINAL_STATES:
            return holder
        try:  # the holder ended without releasing: take over, unless someone else just did
            table.update_item(Key=key, UpdateExpression="REMOVE activeJobId",
                              ConditionExpression="activeJobId = :h", ExpressionAttributeValues={":h": holder})
        except ClientError as error:
            if not is_condition_failure(error):
                raise
    raise RuntimeError(f"could not take the compaction lock of vault {vault_name!r}; retrying")


def release_compaction(record: dict[str, Any]) -> dict[str, Any]:
    """A transaction write that frees the vault for the next compaction once this one has ended."""
    return outbox.update(settings().jobs_table, {"jobId": compaction_lock_id(record["vaultName"])},
                         "REMOVE activeJobId")

"""Job records (jobs table) and Batch submission, shared by Background jobs and the Catalog (compact)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure
from lambdas.shared.envelopes import now_iso
from lambdas.shared.vaults import VaultRecord

JOB_TYPES = ("backup", "restore", "scan", "compact")
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
EMPTY_PROGRESS = {"bytesTotal": 0, "bytesDone": 0, "chunksNew": 0, "chunksReused": 0, "percent": 0}


def jobs_table() -> Any:
    return aws.table(settings().jobs_table)


def get_job(job_id: str) -> dict[str, Any] | None:
    return jobs_table().get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")


def batch_job_name(job_type: str, job_id: str) -> str:
    # Batch names allow letters, digits, hyphens and underscores, up to 128 characters.
    return f"elastio-{job_type}-{job_id}"[:128]


def submit_job(vault: VaultRecord, job_type: str, job_id: str, parameters: dict[str, str],
               correlation_id: str) -> tuple[dict[str, Any], bool]:
    """Record the job, then submit it to the vault's Batch queue.

    Returns (job record, submitted now). The record is written first, keyed by a job id derived from the
    command, so a redelivered command finds it and submits nothing twice; if the jobs table is down we
    fail before Batch has run anything, and the retry starts cleanly.
    """
    if job_type not in JOB_TYPES:
        raise ValueError(f"job type {job_type!r} is not one of {JOB_TYPES}")
    definition = vault.job_definition(job_type)
    batch_parameters = {"jobId": job_id, "vaultName": vault.vaultName, **parameters}
    now = now_iso()
    record: dict[str, Any] = {
        "jobId": job_id, "type": job_type, "vaultName": vault.vaultName, "state": "SUBMITTED",
        "parameters": batch_parameters, "progress": dict(EMPTY_PROGRESS), "createdAt": now, "updatedAt": now,
        "correlationId": correlation_id,
    }
    try:
        jobs_table().put_item(Item=record, ConditionExpression="attribute_not_exists(jobId)")
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        existing = get_job(job_id) or record
        if existing.get("batchJobId"):
            return existing, False
        record = existing  # recorded by an attempt that failed before Batch answered: submit now
    response = aws.client("batch").submit_job(
        jobName=batch_job_name(job_type, job_id),
        jobQueue=vault.jobQueueArn,
        jobDefinition=definition,
        parameters=batch_parameters,
        tags={"elastio:job-id": job_id, "elastio:vault": vault.vaultName},
        propagateTags=True,
    )
    batch_job_id = response["jobId"]
    jobs_table().update_item(
        Key={"jobId": job_id},
        UpdateExpression="SET batchJobId = :b, updatedAt = :u",
        ExpressionAttributeValues={":b": batch_job_id, ":u": now_iso()},
    )
    return {**record, "batchJobId": batch_job_id}, True

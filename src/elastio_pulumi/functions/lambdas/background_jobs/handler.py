"""Background jobs: `backup.start`, `restore.start`, `scan.start` submit Batch jobs; `job.cancel` ends one."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.background_jobs.snapshots import SnapshotRead, make_readable_to_engine, parent_read, source_read
from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.envelopes import (
    BackupStart,
    BackupStartPayload,
    CommandRejected,
    JobCancel,
    RestoreStart,
    ScanStart,
)
from lambdas.shared.jobs import request_cancel, submit_job
from lambdas.shared.service import run_command
from lambdas.shared.vaults import load_vault

logger = Logger(service="background_jobs")


def job_parameters(command: BackupStart | RestoreStart | ScanStart) -> dict[str, str]:
    """The Batch parameters of CONTRACT.md beyond jobId and vaultName (optional ones only when given)."""
    payload = command.payload.model_dump(exclude_none=True, exclude={"vaultName"})
    return {key: str(value) for key, value in payload.items()}


def available_recovery_point(vault_name: str, asset_id: str, recovery_point_id: str,
                             named: str = "recovery point") -> dict[str, Any]:
    """The recovery point's item; restore, scan and an incremental backup need it available in that vault."""
    point = aws.table(settings().recovery_points_table).get_item(
        Key={"assetId": asset_id, "recoveryPointId": recovery_point_id}).get("Item")
    if point is None or point.get("vaultName") != vault_name:
        raise CommandRejected(f"{named} {recovery_point_id!r} of asset {asset_id!r} is not in vault "
                              f"{vault_name!r}; list them with recovery-points.list")
    if point.get("status") != "available":
        raise CommandRejected(f"{named} {recovery_point_id!r} is {point.get('status')}, not available")
    return point


def backup_snapshot_reads(payload: BackupStartPayload) -> list[SnapshotRead]:
    """The source snapshot and, for an incremental backup, the parent's (the engine diffs the two)."""
    reads = [source_read(payload.snapshotId)]
    parent_id = payload.parentRecoveryPointId
    if parent_id:
        parent = available_recovery_point(payload.vaultName, payload.assetId, parent_id, "parent recovery point")
        if parent.get("snapshotId"):
            reads.append(parent_read(parent["snapshotId"], parent_id))
    return reads


def start_job(command: BackupStart | RestoreStart | ScanStart) -> dict[str, Any]:
    job_type = command.type.removesuffix(".start")
    vault = load_vault(command.payload.vaultName)
    if isinstance(command, BackupStart):
        # Before the job exists: the engine's EBS direct API reads need the elastio:resource tag.
        make_readable_to_engine(backup_snapshot_reads(command.payload))
    else:
        payload = command.payload
        available_recovery_point(payload.vaultName, payload.assetId, payload.recoveryPointId)
    # The command id is the job id: one command, one job, however often it is delivered.
    job_id = command.id
    record, submitted = submit_job(vault, job_type, job_id, job_parameters(command), correlation_id=job_id)
    return {"jobId": job_id, "batchJobId": record.get("batchJobId"), "submitted": submitted}


def cancel_job(command: JobCancel) -> dict[str, Any]:
    return request_cancel(command.payload.jobId, command.payload.reason)


HANDLERS = {"backup.start": start_job, "restore.start": start_job, "scan.start": start_job,
            "job.cancel": cancel_job}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, HANDLERS, logger)

"""Catalog: registers recovery points (from the engine), lists them, and expires them by retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lambdas.catalog.retention import expires_at, is_expired, iso
from lambdas.shared import aws, tenant
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure, paginate
from lambdas.shared.envelopes import (
    CommandRejected,
    RecoveryPointRegister,
    RecoveryPointsExpire,
    RecoveryPointsList,
)
from lambdas.shared.jobs import submit_job
from lambdas.shared.jsonsafe import to_plain
from lambdas.shared.service import run_command
from lambdas.shared.vaults import load_vault

logger = Logger(service="catalog")
BY_VAULT_INDEX = "byVault"


def recovery_points_table() -> Any:
    return aws.table(settings().recovery_points_table)


def register(command: RecoveryPointRegister) -> dict[str, Any]:
    point = command.payload
    load_vault(point.vaultName)  # a recovery point of an unknown vault is refused, not stored
    item = point.model_dump(exclude_none=True, exclude={"retentionDays", "createdAt"})
    item.update(createdAt=iso(point.createdAt), expiresAt=expires_at(point.createdAt, point.retentionDays),
                status="available")
    try:
        # The engine may retry the call: the first registration wins, a repeat is acknowledged.
        recovery_points_table().put_item(
            Item=item, ConditionExpression="attribute_not_exists(recoveryPointId)")
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        return {"recoveryPointId": point.recoveryPointId, "created": False}
    tenant.publish("recovery-point.created", item, str(command.id))
    return {"recoveryPointId": point.recoveryPointId, "created": True, "expiresAt": item["expiresAt"]}


def _query(command: RecoveryPointsList) -> list[dict[str, Any]]:
    query = recovery_points_table().query
    payload = command.payload
    if payload.assetId:
        condition = Key("assetId").eq(payload.assetId)
        points = paginate(query, KeyConditionExpression=condition)
        return [p for p in points if payload.vaultName in (None, p.get("vaultName"))]
    if payload.vaultName:
        return list(paginate(query, IndexName=BY_VAULT_INDEX, KeyConditionExpression=Key("vaultName").eq(
            payload.vaultName)))
    raise CommandRejected("recovery-points.list needs payload.vaultName or payload.assetId")


def list_points(command: RecoveryPointsList) -> dict[str, Any]:
    points = sorted(_query(command), key=lambda p: p.get("createdAt", ""), reverse=True)
    shown = points[: command.payload.limit]
    listing = {"recoveryPoints": to_plain(shown), "total": len(points), "truncated": len(points) > len(shown)}
    tenant.publish("recovery-points.listed", listing, str(command.id))
    return {"count": len(shown)}


def expire(command: RecoveryPointsExpire, now: datetime | None = None) -> dict[str, Any]:
    """Mark the vault's recovery points past retention expired, then submit a `compact` job for the vault.

    The compact job is submitted while any point of the vault is `expired` (the engine's compaction
    removes them), so a retry after a failure part-way still compacts what the first attempt marked.
    """
    vault = load_vault(command.payload.vaultName)
    now = now or datetime.now(UTC)
    table = recovery_points_table()
    points = list(paginate(table.query, IndexName=BY_VAULT_INDEX,
                           KeyConditionExpression=Key("vaultName").eq(vault.vaultName)))
    newly_expired = [p for p in points if p.get("status") == "available" and is_expired(p["expiresAt"], now)]
    for point in newly_expired:
        table.update_item(Key={"assetId": point["assetId"], "recoveryPointId": point["recoveryPointId"]},
                          UpdateExpression="SET #status = :e", ExpressionAttributeNames={"#status": "status"},
                          ExpressionAttributeValues={":e": "expired"})
    awaiting_compaction = newly_expired + [p for p in points if p.get("status") == "expired"]
    result: dict[str, Any] = {"expired": [p["recoveryPointId"] for p in newly_expired]}
    if awaiting_compaction:
        # The compact job's id derives from the command, so a redelivered expire submits nothing twice.
        job_id = str(uuid.uuid5(command.id, "compact"))
        record, _ = submit_job(vault, "compact", job_id, {}, correlation_id=str(command.id))
        result["compactJobId"] = record["jobId"]
    tenant.publish("recovery-points.expired", {"vaultName": vault.vaultName, **result}, str(command.id))
    return result


HANDLERS = {"recovery-point.register": register, "recovery-points.list": list_points,
            "recovery-points.expire": expire}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, HANDLERS, logger)

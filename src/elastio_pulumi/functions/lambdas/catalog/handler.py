"""Catalog: registers recovery points (from the engine), lists them, and expires them by retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from elastio_contract.tables import RECOVERY_POINTS_BY_VAULT
from lambdas.catalog import pagination
from lambdas.catalog.retention import expires_at, is_expired, iso
from lambdas.shared import aws, outbox, tenant
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure, paginate
from lambdas.shared.envelopes import (
    CommandRejected,
    RecoveryPointRegister,
    RecoveryPointsExpire,
    RecoveryPointsList,
    RecoveryPointsListPayload,
)
from lambdas.shared.jobs import acquire_compaction, submit_job
from lambdas.shared.jsonsafe import to_plain
from lambdas.shared.service import run_command
from lambdas.shared.vaults import load_vault

logger = Logger(service="catalog")
BY_VAULT_INDEX = RECOVERY_POINTS_BY_VAULT


def recovery_points_table() -> Any:
    return aws.table(settings().recovery_points_table)


def point_view(item: dict[str, Any]) -> dict[str, Any]:
    return to_plain(item)


def register(command: RecoveryPointRegister) -> dict[str, Any]:
    """Store the point and queue `recovery-point.created` together; a repeat answers with the stored point.

    The engine retries a register whose answer it did not get (docs/CONTRACT.md, "Registering a recovery
    point"): whatever happened after the first write, the answer is the point as stored, so the engine
    knows its manifest is referenced and must be kept.
    """
    point = command.payload
    load_vault(point.vaultName)  # a recovery point of an unknown vault is refused, not stored
    item = point.model_dump(exclude_none=True, exclude={"retentionDays", "createdAt"})
    item.update(createdAt=iso(point.createdAt), expiresAt=expires_at(point.createdAt, point.retentionDays),
                status="available")
    created = outbox.event("recovery-point.created", item, command.id, point.assetId, point.recoveryPointId)
    try:
        outbox.commit([outbox.put(settings().recovery_points_table, item,
                                  "attribute_not_exists(recoveryPointId)")], [created])
    except outbox.Stale:
        stored = recovery_points_table().get_item(
            Key={"assetId": point.assetId, "recoveryPointId": point.recoveryPointId}, ConsistentRead=True).get("Item")
        if stored is None:  # registered once, then expired and reclaimed by a compaction
            raise CommandRejected(f"recovery point {point.recoveryPointId!r} of asset {point.assetId!r} was "
                                  "registered before and has since expired and been removed") from None
        if stored.get("manifestKey") != item["manifestKey"] or stored.get("jobId") != item["jobId"]:
            raise CommandRejected(
                f"recovery point {point.recoveryPointId!r} of asset {point.assetId!r} is already registered "
                f"with manifest {stored.get('manifestKey')!r} by job {stored.get('jobId')!r}") from None
        return {"recoveryPointId": point.recoveryPointId, "created": False, "recoveryPoint": point_view(stored)}
    return {"recoveryPointId": point.recoveryPointId, "created": True, "recoveryPoint": point_view(item)}


# ---- listing, one page per command (docs/CONTRACT.md, "Listing recovery points") ---------------------------
def _query_page(payload: RecoveryPointsListPayload, start_key: dict[str, Any] | None,
                limit: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    query = recovery_points_table().query
    kwargs: dict[str, Any] = {"Limit": limit, "ScanIndexForward": False}
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    if payload.assetId:
        kwargs["KeyConditionExpression"] = Key("assetId").eq(payload.assetId)
        if payload.vaultName:
            kwargs["FilterExpression"] = Attr("vaultName").eq(payload.vaultName)
    elif payload.vaultName:
        kwargs.update(IndexName=BY_VAULT_INDEX, KeyConditionExpression=Key("vaultName").eq(payload.vaultName))
    else:
        raise CommandRejected("recovery-points.list needs payload.vaultName or payload.assetId")
    page = query(**kwargs)
    return page.get("Items", []), page.get("LastEvaluatedKey")


def _key_of(point: dict[str, Any], by_vault: bool) -> dict[str, Any]:
    keys = ("assetId", "recoveryPointId", "vaultName", "createdAt") if by_vault else ("assetId", "recoveryPointId")
    return {key: point[key] for key in keys}


def list_points(command: RecoveryPointsList) -> dict[str, Any]:
    """One page: at most `limit` points and at most what fits in one SQS message, plus `nextToken`."""
    payload = command.payload
    scope = _scope(payload)
    cursor = pagination.decode_token(payload.nextToken, scope) if payload.nextToken else None
    shown: list[dict[str, Any]] = []
    budget = pagination.PAGE_BYTES
    more = True
    while more and len(shown) < payload.limit and budget > 0:
        items, cursor = _query_page(payload, cursor, payload.limit - len(shown))
        for point in items:
            size = pagination.size_of(point)
            if size > budget:
                budget = 0  # the page is full; the next one starts after the last point shown
                break
            shown.append(point)
            budget -= size
        more = cursor is not None or budget == 0
    listing: dict[str, Any] = {"recoveryPoints": to_plain(shown)}
    if more and shown:
        listing["nextToken"] = pagination.encode_token(to_plain(_key_of(shown[-1], not payload.assetId)), scope)
    tenant.answer("recovery-points.listed", listing, command.id)
    return {"count": len(shown), "more": "nextToken" in listing}


def _scope(payload: RecoveryPointsListPayload) -> str:
    return f"{payload.vaultName or ''}/{payload.assetId or ''}"


def expire(command: RecoveryPointsExpire, now: datetime | None = None) -> dict[str, Any]:
    """Mark the vault's recovery points past retention expired, then start the vault's compaction.

    Each point is marked once, with this command's id (`expiredBy`), so a retried expire reports the same
    points it marked the first time; one compaction runs per vault at a time (a running one is reported
    instead of starting a second, and the points it does not take are compacted by the next expire).
    """
    vault = load_vault(command.payload.vaultName)
    now = now or datetime.now(UTC)
    table = recovery_points_table()
    points = list(paginate(table.query, IndexName=BY_VAULT_INDEX,
                           KeyConditionExpression=Key("vaultName").eq(vault.vaultName)))
    for point in points:
        if point.get("status") == "available" and is_expired(point["expiresAt"], now):
            try:
                table.update_item(
                    Key={"assetId": point["assetId"], "recoveryPointId": point["recoveryPointId"]},
                    UpdateExpression="SET #status = :e, expiredBy = :c",
                    ConditionExpression="#status = :a",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":e": "expired", ":a": "available", ":c": command.id})
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                continue  # another expire marked it meanwhile: it reports it
            point.update(status="expired", expiredBy=command.id)
    marked = sorted(p["recoveryPointId"] for p in points if p.get("expiredBy") == command.id)
    result: dict[str, Any] = {"expired": marked}
    if any(p.get("status") == "expired" for p in points):
        job_id = str(uuid.uuid5(uuid.UUID(command.id), "compact"))
        holder = acquire_compaction(vault.vaultName, job_id)
        if holder == job_id:
            submit_job(vault, "compact", job_id, {}, correlation_id=command.id)
        result["compactJobId"] = holder
    tenant.answer("recovery-points.expired", {"vaultName": vault.vaultName, **result}, command.id)
    return result


HANDLERS = {"recovery-point.register": register, "recovery-points.list": list_points,
            "recovery-points.expire": expire}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, HANDLERS, logger)

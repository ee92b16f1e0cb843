"""Inventory: EC2 instance, EBS volume and snapshot events keep the assets table current and tell the
tenant (`inventory.changed`); `inventory.refresh` rescans the region with paginated Describe calls."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError

from lambdas.inventory.assets import (
    Asset,
    assets_from_event,
    instance_asset,
    lifecycle_rank,
    snapshot_asset,
    timestamp,
    volume_asset,
)
from lambdas.shared import aws, outbox, tenant
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure, paginate
from lambdas.shared.envelopes import InventoryRefresh
from lambdas.shared.service import is_command, run_command

logger = Logger(service="inventory")
# inventory.changed after a refresh lists removed ids up to this many (SQS messages stop at 256 KiB).
MAX_LISTED_IDS = 500
# Describe page size: bounded memory and call time on large accounts (within every API's MaxResults range).
PAGE_SIZE = 500


def assets_table() -> Any:
    return aws.table(settings().assets_table)


# Newer observation wins; in the same second, the later lifecycle step. An observation that a resource was
# deleted only updates a known asset (a delete of something never seen creates nothing).
_NEWER = "updatedAt < :t OR (updatedAt = :t AND (attribute_not_exists(stateRank) OR stateRank < :r))"


def _record_write(asset: Asset) -> dict[str, Any]:
    condition = f"attribute_exists(assetId) AND ({_NEWER})" if asset.state == "deleted" else \
        f"attribute_not_exists(assetId) OR {_NEWER}"
    return outbox.put(settings().assets_table, asset.item(), condition,
                      values={":t": asset.observed_at, ":r": lifecycle_rank(asset.state)})


def record(asset: Asset, announce: outbox.Message | None = None) -> bool:
    """Store the observation (and its announcement) unless a newer one is stored; True if stored."""
    try:
        outbox.commit([_record_write(asset)], [announce] if announce else [])
    except outbox.Stale:
        return False
    return True


def _from_elsewhere(event: EventBridgeModel, context: Any) -> str | None:
    """Why an event is not ours (EventBridge can forward other accounts' and regions' events), or None."""
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    account = parts[4] if len(parts) > 4 else ""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    if account and event.account != account:
        return f"account {event.account}"
    if region and event.region != region:
        return f"region {event.region}"
    return None


def on_event(raw_event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    event = parse(event=raw_event, model=EventBridgeModel)
    elsewhere = _from_elsewhere(event, context)
    if elsewhere:
        logger.warning("event of another account or region ignored", extra={"from": elsewhere})
        return {"status": "ignored", "from": elsewhere}
    assets = assets_from_event(event.detail_type, event.detail, event.resources, event.time)
    changed = [asset for asset in assets if record(asset, outbox.event(
        "inventory.changed", {"source": event.detail_type, "assets": [asset.summary()]}, event.id,
        event.id, asset.asset_id))]
    return {"status": "recorded", "changed": len(changed), "ignored": len(assets) - len(changed)}


def scan_region(observed: str) -> list[Asset]:
    ec2 = aws.client("ec2")
    found: list[Asset] = []
    pages = {"PageSize": PAGE_SIZE}
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig=pages):
        found.extend(instance_asset(i, observed) for r in page["Reservations"] for i in r["Instances"])
    for page in ec2.get_paginator("describe_volumes").paginate(PaginationConfig=pages):
        found.extend(volume_asset(v, observed) for v in page["Volumes"])
    for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], PaginationConfig=pages):
        found.extend(snapshot_asset(s, observed) for s in page["Snapshots"])
    return found


def mark_gone(seen: set[str], observed: str) -> list[str]:
    """Assets in the table that the scan no longer finds are recorded as deleted."""
    table = assets_table()
    stored = paginate(table.scan, ProjectionExpression="assetId, #s, updatedAt",
                      ExpressionAttributeNames={"#s": "state"})
    gone = [item["assetId"] for item in stored
            if item["assetId"] not in seen and item.get("state") != "deleted"
            and item["updatedAt"] < observed]
    for asset_id in gone:
        try:
            table.update_item(Key={"assetId": asset_id}, UpdateExpression="SET #s = :d, updatedAt = :t",
                              ConditionExpression="updatedAt < :t", ExpressionAttributeNames={"#s": "state"},
                              ExpressionAttributeValues={":d": "deleted", ":t": observed})
        except ClientError as error:
            if not is_condition_failure(error):  # an event about it arrived meanwhile and wins
                raise
    return gone


def refresh(command: InventoryRefresh) -> dict[str, Any]:
    observed = timestamp(datetime.now(UTC))
    assets = scan_region(observed)
    for asset in assets:
        record(asset)
    gone = mark_gone({a.asset_id for a in assets}, observed)
    counts: dict[str, int] = {}
    for asset in assets:
        counts[asset.asset_type] = counts.get(asset.asset_type, 0) + 1
    tenant.answer("inventory.changed", {"source": "inventory.refresh", "counts": counts,
                                        "removed": gone[:MAX_LISTED_IDS],
                                        "removedTruncated": len(gone) > MAX_LISTED_IDS}, command.id)
    return {"assets": len(assets), "removed": len(gone)}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_command(event):
        return run_command(event, {"inventory.refresh": refresh}, logger)
    return on_event(event, context)

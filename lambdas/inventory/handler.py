"""Inventory: EC2 instance, EBS volume and snapshot events keep the assets table current and tell the
tenant (`inventory.changed`); `inventory.refresh` rescans the region with paginated Describe calls."""

from __future__ import annotations

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
    snapshot_asset,
    timestamp,
    volume_asset,
)
from lambdas.shared import aws, tenant
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


def record(asset: Asset) -> bool:
    """Store the observation unless a newer one is stored (events arrive out of order); True if stored."""
    try:
        assets_table().put_item(Item=asset.item(),
                                ConditionExpression="attribute_not_exists(assetId) OR updatedAt <= :t",
                                ExpressionAttributeValues={":t": asset.observed_at})
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def on_event(raw_event: dict[str, Any]) -> dict[str, Any]:
    event = parse(event=raw_event, model=EventBridgeModel)
    assets = assets_from_event(event.detail_type, event.detail, event.resources, event.time)
    changed = [asset for asset in assets if record(asset)]
    if changed:
        tenant.publish("inventory.changed", {"source": event.detail_type,
                                             "assets": [a.summary() for a in changed]}, event.id)
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
    tenant.publish("inventory.changed", {"source": "inventory.refresh", "counts": counts,
                                         "removed": gone[:MAX_LISTED_IDS],
                                         "removedTruncated": len(gone) > MAX_LISTED_IDS}, str(command.id))
    return {"assets": len(assets), "removed": len(gone)}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_command(event):
        return run_command(event, {"inventory.refresh": refresh}, logger)
    return on_event(event)

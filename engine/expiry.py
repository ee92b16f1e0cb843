"""Which recovery points the Catalog has expired, and forgetting them once their manifests are gone.

The Catalog marks a recovery point `status = expired` and submits a `compact` job; the job deletes the
expired manifests (unless object lock still retains them or a running backup pins them), reclaims their
chunks, and then removes the recovery point items, so the Catalog stops submitting compact jobs for them.
A manifest the Catalog does not know, older than the grace period, is one whose registration was refused
or never confirmed (the backup failed after writing it and was not rerun): it is expired the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from elastio_contract.tables import RECOVERY_POINTS_BY_VAULT
from engine.compact import CompactionReport, CompactionSettings, run_compaction

BY_VAULT_INDEX = RECOVERY_POINTS_BY_VAULT


@dataclass(frozen=True)
class ExpiredRecoveryPoint:
    asset_id: str
    recovery_point_id: str
    manifest_key: str


class RecoveryPointsTable:
    def __init__(self, dynamodb, table_name: str):
        self._db = dynamodb
        self.table_name = table_name

    def points(self, vault_name: str) -> list[dict]:
        """Every recovery point item of the vault (one Query of the `byVault` index, all pages)."""
        paginator = self._db.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=BY_VAULT_INDEX,
            KeyConditionExpression="vaultName = :vault",
            ExpressionAttributeValues={":vault": {"S": vault_name}},
        )
        return [item for page in pages for item in page["Items"]]

    def expired(self, vault_name: str, points: list[dict] | None = None) -> list[ExpiredRecoveryPoint]:
        return [
            ExpiredRecoveryPoint(item["assetId"]["S"], item["recoveryPointId"]["S"], item["manifestKey"]["S"])
            for item in (self.points(vault_name) if points is None else points)
            if item.get("status", {}).get("S") == "expired"
        ]

    def forget(self, points: Iterable[ExpiredRecoveryPoint]) -> int:
        """Remove expired items; one made available again meanwhile (condition fails) is kept."""
        removed = 0
        for point in points:
            try:
                self._db.delete_item(
                    TableName=self.table_name,
                    Key={"assetId": {"S": point.asset_id}, "recoveryPointId": {"S": point.recovery_point_id}},
                    ConditionExpression="#status = :expired",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":expired": {"S": "expired"}},
                )
                removed += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return removed


def expire_and_compact(
    vault,
    job,
    table: RecoveryPointsTable | None,
    extra_manifest_keys: Iterable[str] = (),
    settings: CompactionSettings | None = None,
    clock=None,
) -> CompactionReport:
    """The `compact` job: expire what the Catalog marked expired, reclaim, then forget those points."""
    settings = settings or CompactionSettings()
    kwargs = {"clock": clock} if clock else {}
    keys = set(extra_manifest_keys)
    points, unregistered = [], []
    if table:
        items = table.points(vault.name)
        points = table.expired(vault.name, items)
        keys |= {p.manifest_key for p in points}
        now = (clock or time.time)()
        known = {item["manifestKey"]["S"] for item in items if "manifestKey" in item}
        unregistered = [
            info.key
            for info in vault.bucket.list("manifests/")
            if info.key not in known and now - info.last_modified.timestamp() > settings.grace_seconds
        ]
        keys |= set(unregistered)
    report = run_compaction(vault, job, sorted(keys), settings, **kwargs)
    report.manifests_unregistered = [key for key in unregistered if key in report.manifests_expired]
    # Expired again by a later compaction (a referenced parent once its children are gone).
    kept = set(report.manifests_retained) | set(report.manifests_pinned) | set(report.manifests_referenced)
    if table:
        report.recovery_points_forgotten = table.forget(p for p in points if p.manifest_key not in kept)
    job.result(report.as_dict())
    return report

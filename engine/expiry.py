"""Which recovery points the Catalog has expired, and forgetting them once their manifests are gone.

The Catalog marks a recovery point `status = expired` and submits a `compact` job; the job deletes the
expired manifests (unless object lock still retains them), reclaims their chunks, and then removes the
recovery point items, so the Catalog stops submitting compact jobs for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from engine.compact import CompactionReport, CompactionSettings, run_compaction

BY_VAULT_INDEX = "byVault"


@dataclass(frozen=True)
class ExpiredRecoveryPoint:
    asset_id: str
    recovery_point_id: str
    manifest_key: str


class RecoveryPointsTable:
    def __init__(self, dynamodb, table_name: str):
        self._db = dynamodb
        self.table_name = table_name

    def expired(self, vault_name: str) -> list[ExpiredRecoveryPoint]:
        paginator = self._db.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            IndexName=BY_VAULT_INDEX,
            KeyConditionExpression="vaultName = :vault",
            FilterExpression="#status = :expired",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":vault": {"S": vault_name}, ":expired": {"S": "expired"}},
        )
        return [
            ExpiredRecoveryPoint(item["assetId"]["S"], item["recoveryPointId"]["S"], item["manifestKey"]["S"])
            for page in pages
            for item in page["Items"]
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
    points = table.expired(vault.name) if table else []
    keys = {p.manifest_key for p in points} | set(extra_manifest_keys)
    kwargs = {"clock": clock} if clock else {}
    report = run_compaction(vault, job, sorted(keys), settings or CompactionSettings(), **kwargs)
    kept = set(report.manifests_retained) | set(report.manifests_pinned)  # expired again by a later compaction
    if table:
        report.recovery_points_forgotten = table.forget(p for p in points if p.manifest_key not in kept)
        job.result(report.as_dict())
    return report

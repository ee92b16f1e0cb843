"""The vaults-table record: one item per vault, written by the Vault component, read by the functions.

Field names are the item's attribute names, so the record reads the same in the table, in the components and
in the functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class VaultRecordError(RuntimeError):
    """A vault item in the table does not match the contract (a deployment problem, not the tenant's)."""


@dataclass(frozen=True)
class VaultRecord:
    vaultName: str
    region: str
    bucketName: str
    kmsKeyArn: str
    indexTableName: str
    jobQueueArn: str
    jobDefinitions: dict[str, str]  # job type (elastio_contract.jobs) -> job definition ARN
    clusterArn: str
    serverTaskDefinitionArn: str
    subnetIds: list[str]
    securityGroupId: str
    assignPublicIp: bool = field(default=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> VaultRecord:
        """The record of a table item (attributes beyond the contract are ignored); VaultRecordError names every
        missing or mistyped attribute."""
        bad = [f.name for f in fields(cls) if not _fits(f.name, item)]
        if bad:
            raise VaultRecordError(", ".join(bad))
        return cls(**{f.name: item[f.name] for f in fields(cls) if f.name in item})

    def to_item(self) -> dict[str, Any]:
        """The item as plain values (boto3's table resource form)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dynamodb(self) -> dict[str, Any]:
        """The item as DynamoDB JSON (the low-level API's and aws.dynamodb.TableItem's form)."""
        return {name: _typed(value) for name, value in self.to_item().items()}

    def job_definition(self, job_type: str) -> str:
        try:
            return self.jobDefinitions[job_type]
        except KeyError:
            raise VaultRecordError(
                f"vault {self.vaultName!r} has no {job_type!r} job definition in its vaults-table record "
                f"(has {sorted(self.jobDefinitions)}); redeploy the stack to rewrite the record") from None


def _fits(name: str, item: Mapping[str, Any]) -> bool:
    if name not in item:
        return name == "assignPublicIp"
    value = item[name]
    if name == "jobDefinitions":
        return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    if name == "subnetIds":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if name == "assignPublicIp":
        return isinstance(value, bool)
    return isinstance(value, str)


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {k: _typed(v) for k, v in sorted(value.items())}}
    return {"L": [_typed(v) for v in value]}

"""Vault records: the items the program writes to the vaults table (CONTRACT.md, "Vault record")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.dynamo import paginate
from lambdas.shared.envelopes import CommandRejected


class VaultRecordError(RuntimeError):
    """A vault item in the table does not match the contract (a deployment problem, not the tenant's)."""


class VaultRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    vaultName: str
    region: str
    bucketName: str
    kmsKeyArn: str
    indexTableName: str
    jobQueueArn: str
    jobDefinitions: dict[str, str]
    clusterArn: str
    serverTaskDefinitionArn: str
    subnetIds: list[str]
    securityGroupId: str
    assignPublicIp: bool = False

    def job_definition(self, job_type: str) -> str:
        try:
            return self.jobDefinitions[job_type]
        except KeyError:
            raise VaultRecordError(
                f"vault {self.vaultName!r} has no {job_type!r} job definition in its vaults-table record "
                f"(has {sorted(self.jobDefinitions)}); redeploy the stack to rewrite the record") from None


def _to_record(item: dict) -> VaultRecord:
    try:
        return VaultRecord.model_validate(item)
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors(include_url=False))
        raise VaultRecordError(
            f"vault record {item.get('vaultName')!r} in table {settings().vaults_table} has missing or bad "
            f"fields ({fields}); redeploy the stack to rewrite it") from None


def load_vault(vault_name: str) -> VaultRecord:
    """The vault's record, or CommandRejected telling the tenant the vault does not exist here."""
    item = aws.table(settings().vaults_table).get_item(Key={"vaultName": vault_name}).get("Item")
    if item is None:
        raise CommandRejected(
            f"vault {vault_name!r} is not deployed in this region (no record in table "
            f"{settings().vaults_table}); use one of the stack's configured vault names")
    return _to_record(item)


def list_vaults() -> list[VaultRecord]:
    table = aws.table(settings().vaults_table)
    return [_to_record(item) for item in paginate(table.scan)]

"""Vault records: the items the program writes to the vaults table (CONTRACT.md, "Vault record")."""

from __future__ import annotations

from elastio_contract.vault_record import VaultRecord, VaultRecordError
from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.dynamo import paginate
from lambdas.shared.envelopes import CommandRejected

__all__ = ["VaultRecord", "VaultRecordError", "list_vaults", "load_vault"]


def _to_record(item: dict) -> VaultRecord:
    try:
        return VaultRecord.from_item(item)
    except VaultRecordError as error:
        fields = str(error)
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

"""The connector's DynamoDB tables (one set per region, shared by its vaults) and the vault's index table.

Logical names here; the physical name is `<name prefix>-<logical name>` (elastio_pulumi.naming.table_name).
"""

from __future__ import annotations

from dataclasses import dataclass

VAULTS = "vaults"
RECOVERY_POINTS = "recovery-points"
JOBS = "jobs"
ASSETS = "assets"
COMMANDS = "commands"
TABLES: tuple[str, ...] = (VAULTS, RECOVERY_POINTS, JOBS, ASSETS, COMMANDS)


@dataclass(frozen=True)
class Key:
    """A key schema: every key attribute is a string (DynamoDB type S)."""

    hash_key: str
    range_key: str | None = None

    @property
    def attributes(self) -> tuple[str, ...]:
        return (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)


KEYS: dict[str, Key] = {
    VAULTS: Key("vaultName"),
    RECOVERY_POINTS: Key("assetId", "recoveryPointId"),
    JOBS: Key("jobId"),
    ASSETS: Key("assetId"),
    COMMANDS: Key("id"),
}

# The recovery points of one vault, oldest first: the Catalog lists them, the engine's compaction expires them.
RECOVERY_POINTS_BY_VAULT = "byVault"
INDEXES: dict[str, dict[str, Key]] = {
    RECOVERY_POINTS: {RECOVERY_POINTS_BY_VAULT: Key("vaultName", "createdAt")},
}

# The commands table is also the outbox (items `outbox#<message id>`, sent from its stream); items expire by
# this attribute (epoch seconds, DynamoDB TTL).
COMMANDS_TTL_ATTRIBUTE = "expiration"
OUTBOX_KEY_PREFIX = "outbox#"

# The vault's table (ELASTIO_INDEX_TABLE): small state of the engine (the compaction lock, the GC generation),
# keyed as when it held the dedup index (rekeying it would replace a data-bearing resource).
VAULT_TABLE_KEY = Key("chunkHash")

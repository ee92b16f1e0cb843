"""A vault's storage as the engine sees it: its bucket, its dedup index, and the leases of running backups.

Vaults never share chunks: every read and write goes through one vault's own bucket and index table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from tests.engine.vendor.engine_75dc482.index import ChunkIndex
from tests.engine.vendor.engine_75dc482.manifest import Manifest, manifest_key
from tests.engine.vendor.engine_75dc482.packs import MissingObjectError, VaultBucket
from tests.engine.vendor.engine_75dc482.vaultconfig import PLAIN, VaultConfig, load_or_create

LEASE_PREFIX = "staging/"
# Time rules shared by backups (which stop themselves) and compaction (which relies on that), engine/README.md.
LEASE_TTL_SECONDS = 6 * 3600  # a lease not renewed for this long is abandoned; its backup stops before then
MAX_BACKUP_SECONDS = 48 * 3600  # a backup never commits later than this after it began (the Batch timeout)
CLOCK_SKEW_SECONDS = 300  # tasks' clocks may disagree by this much


class RecoveryPointNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Lease:
    """A running backup: compaction keeps every chunk it may reuse and the parent manifest it copies from."""

    job_id: str
    started_at: int
    heartbeat_at: int
    pinned_manifests: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "jobId": self.job_id,
                "startedAt": self.started_at,
                "heartbeatAt": self.heartbeat_at,
                "pinnedManifests": list(self.pinned_manifests),
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Lease:
        doc = json.loads(raw)
        return cls(
            doc["jobId"], int(doc["startedAt"]), int(doc["heartbeatAt"]), tuple(doc["pinnedManifests"])
        )


@dataclass
class Vault:
    name: str
    bucket: VaultBucket
    index: ChunkIndex

    @cached_property
    def config(self) -> VaultConfig:
        """Chunk-id scheme and secret (engine/vaultconfig.py), written by the first job in the vault."""
        return load_or_create(self.bucket)

    @property
    def chunk_key(self) -> bytes | None:
        return self.config.chunk_key

    def manifest_bytes(self, manifest: Manifest) -> bytes:
        return manifest.to_json(self.config.manifest_key)

    def read_manifest(self, key: str) -> Manifest:
        try:
            raw = self.bucket.get(key)
        except MissingObjectError as error:
            raise RecoveryPointNotFound(f"vault {self.name}: no manifest at {key}") from error
        return Manifest.from_json(
            raw,
            source=f"s3://{self.bucket.bucket}/{key}",
            mac_key=self.config.manifest_key,
            accept_unsigned=self.config.chunk_ids == PLAIN,
        )

    def find_manifest_key(self, recovery_point_id: str, asset_id: str | None = None) -> str:
        if asset_id:
            return manifest_key(asset_id, recovery_point_id)
        suffix = f"/{recovery_point_id}.json"
        for info in self.bucket.list("manifests/"):
            if info.key.endswith(suffix):
                return info.key
        raise RecoveryPointNotFound(
            f"vault {self.name} has no recovery point {recovery_point_id} (no manifests/*{suffix} in "
            f"s3://{self.bucket.bucket}); check the id, or whether it expired"
        )

    def manifest_keys(self) -> list[str]:
        return [info.key for info in self.bucket.list("manifests/") if info.key.endswith(".json")]

    def write_lease(self, lease: Lease) -> None:
        self.bucket.put(f"{LEASE_PREFIX}{lease.job_id}.lease.json", lease.to_json(), "application/json")

    def drop_lease(self, job_id: str) -> None:
        self.bucket.delete(f"{LEASE_PREFIX}{job_id}.lease.json")

    def active_leases(self, now: float) -> list[Lease]:
        """Leases renewed within the TTL: their backups may still commit a manifest."""
        ttl = LEASE_TTL_SECONDS + CLOCK_SKEW_SECONDS
        return [lease for lease in self.leases() if now - lease.heartbeat_at <= ttl]

    def leases(self) -> list[Lease]:
        found = []
        for info in self.bucket.list(LEASE_PREFIX):
            if info.key.endswith(".lease.json"):
                try:
                    found.append(Lease.from_json(self.bucket.get(info.key)))
                except MissingObjectError:
                    continue  # the backup finished while we listed
        return found

"""A vault's storage as the engine sees it: its bucket, its dedup index, and the leases of running backups.

Vaults never share chunks: every read and write goes through one vault's own bucket and state table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from engine.bounded import spool_file
from engine.index import ChunkIndex
from engine.manifest import (
    BINARY_VERSION,
    MAGIC,
    MANIFEST_SUFFIXES,
    MANIFEST_VERSION,
    Manifest,
    ManifestError,
    ManifestFile,
    ManifestHeader,
    is_manifest_key,
    manifest_key,
    read_header,
)
from engine.packs import MissingObjectError, PackInfo, VaultBucket
from engine.vaultconfig import PLAIN, VaultConfig, VaultKey, load_or_create

LEASE_PREFIX = "staging/"
# Rule P (engine/README.md): a compaction names the manifests it is about to delete here first (not `.json`, so
# the GC generations' listing of gc/ passes it over).
MANIFEST_DELETIONS_KEY = "gc/manifests-being-deleted.intent"
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


def _check_belongs_at(key: str, manifest: Manifest | ManifestFile, source: str) -> None:
    """The MAC vouches for the bytes, not for where they lie: a manifest copied over another point's key (by
    mistake, or by whoever can write the bucket) would restore the other point's volume. Its own ids must name
    the key it was read from."""
    asset_id, recovery_point_id = manifest.asset_id, manifest.recovery_point_id
    own_keys = {manifest_key(asset_id, recovery_point_id, version) for version in (BINARY_VERSION, MANIFEST_VERSION)}
    if key not in own_keys:
        raise ManifestError(
            f"{source}: holds the manifest of recovery point {manifest.recovery_point_id} of {manifest.asset_id}, "
            "not the one its key names (it was copied over this key); nothing is restored from it: restore the "
            "object's previous version (the bucket is versioned)"
        )


@dataclass
class Vault:
    name: str
    bucket: VaultBucket
    index: ChunkIndex
    key: VaultKey | None = None  # the vault key, for the vault secret; needed unless config/vault.json is version 1

    @cached_property
    def config(self) -> VaultConfig:
        """Chunk-id scheme and secret (engine/vaultconfig.py), written by the first job in the vault."""
        return load_or_create(self.bucket, self.key)

    @property
    def chunk_key(self) -> bytes | None:
        return self.config.chunk_key

    @property
    def manifest_format(self) -> int:
        """What this vault's jobs write (engine/vaultconfig.py): 3, binary, or 2, JSON."""
        return self.config.manifest_format

    def manifest_key(self, asset_id: str, recovery_point_id: str) -> str:
        """Where a new recovery point's manifest goes, in the vault's format."""
        return manifest_key(asset_id, recovery_point_id, self.manifest_format)

    def manifest_bytes(self, manifest: Manifest) -> bytes:
        """A small in-memory manifest in the vault's format (tests, tools); backups stream theirs."""
        if self.manifest_format >= BINARY_VERSION:
            return manifest.to_binary(self.config.manifest_key)
        return manifest.to_json(self.config.manifest_key)

    def write_manifest(self, key: str, spool) -> int:
        """Upload a spooled manifest (a multipart upload when large); returns its size."""
        content_type = "application/json" if key.endswith(".json") else "application/octet-stream"
        return self.bucket.put_file(key, spool, content_type)

    def open_manifest(self, key: str) -> Manifest | ManifestFile:
        """A manifest to stream: version 3 is spooled to local disk and its MAC checked before anything reads
        it (its parent is opened the same way when a parent range is resolved); versions 1 and 2 (JSON, the
        vaults that wrote them hold them whole) are read into memory as before."""
        spool = spool_file()
        source = f"s3://{self.bucket.bucket}/{key}"
        try:
            try:
                self.bucket.download(key, spool)
            except MissingObjectError as error:
                raise RecoveryPointNotFound(f"vault {self.name}: no manifest at {key}") from error
            spool.seek(0)
            if spool.read(len(MAGIC)) == MAGIC:
                opened = ManifestFile(spool, self.config.manifest_key, source, self._open_parent)
                _check_belongs_at(key, opened, source)
                return opened
            spool.seek(0)
            raw = spool.read()
        except BaseException:
            spool.close()
            raise
        spool.close()
        manifest = Manifest.from_json(
            raw,
            source=source,
            mac_key=self.config.manifest_key,
            accept_unsigned=self.config.chunk_ids == PLAIN,
        )
        _check_belongs_at(key, manifest, source)
        return manifest

    def _open_parent(self, asset_id: str, recovery_point_id: str) -> ManifestFile:
        key = manifest_key(asset_id, recovery_point_id, BINARY_VERSION)  # only version 3 references a parent
        try:
            parent = self.open_manifest(key)
        except RecoveryPointNotFound as error:
            raise ManifestError(
                f"vault {self.name}: the parent manifest {key} that recovery points of {asset_id} resolve through "
                "is gone; compaction keeps a parent a manifest references, so this is damage: restore an older "
                "version of that object (the bucket is versioned) or a later recovery point"
            ) from error
        if not isinstance(parent, ManifestFile):
            raise ManifestError(f"vault {self.name}: {key} is not a version-{BINARY_VERSION} manifest")
        return parent

    def read_manifest(self, key: str) -> Manifest:
        """The whole resolved manifest in memory: tests and small tools; jobs use `open_manifest`."""
        opened = self.open_manifest(key)
        if isinstance(opened, Manifest):
            return opened
        try:
            return opened.as_manifest()
        finally:
            opened.close()

    def manifest_header(self, info: PackInfo) -> ManifestHeader | None:
        """The header of a version-3 manifest (one ranged GET; not MAC-checked: compaction checks it again when
        it reads the whole manifest); None for JSON manifests, which never reference a parent."""
        if not info.key.endswith(".manifest"):
            return None
        length = 4096
        while True:
            head = self.bucket.get(info.key, (0, min(length, info.size)))
            header = read_header(head, f"s3://{self.bucket.bucket}/{info.key}")
            if header is not None or length >= info.size:
                if header is None:
                    raise ManifestError(f"s3://{self.bucket.bucket}/{info.key}: its header runs past the end")
                return header
            length *= 4

    def locate_manifest(self, asset_id: str, recovery_point_id: str) -> str:
        """The key of a point's manifest, in whichever format it was written."""
        formats = (self.manifest_format, 5 - self.manifest_format)  # its own format first, then the other
        keys = [manifest_key(asset_id, recovery_point_id, version) for version in formats]
        for key in keys:
            if self.bucket.exists(key):
                return key
        raise RecoveryPointNotFound(
            f"vault {self.name} has no recovery point {recovery_point_id} of {asset_id} (neither {keys[0]} nor "
            f"{keys[1]} in s3://{self.bucket.bucket}); check the id, or whether it expired"
        )

    def find_manifest_key(self, recovery_point_id: str, asset_id: str | None = None) -> str:
        if asset_id:
            return self.locate_manifest(asset_id, recovery_point_id)
        suffixes = tuple(f"/{recovery_point_id}{suffix}" for suffix in MANIFEST_SUFFIXES)
        for info in self.bucket.list("manifests/"):
            if info.key.endswith(suffixes):
                return info.key
        raise RecoveryPointNotFound(
            f"vault {self.name} has no recovery point {recovery_point_id} (no manifests/*/{recovery_point_id}"
            f".manifest or .json in s3://{self.bucket.bucket}); check the id, or whether it expired"
        )

    def announce_manifest_deletions(self, keys: list[str]) -> None:
        self.bucket.put(MANIFEST_DELETIONS_KEY, json.dumps({"manifests": sorted(keys)}).encode(), "application/json")

    def has_manifest_deletions(self) -> bool:
        return self.bucket.exists(MANIFEST_DELETIONS_KEY)

    def clear_manifest_deletions(self) -> None:
        self.bucket.delete(MANIFEST_DELETIONS_KEY)

    def manifests_being_deleted(self) -> set[str]:
        """What a compaction announced it is deleting (empty when none is); one GET."""
        try:
            return set(json.loads(self.bucket.get(MANIFEST_DELETIONS_KEY))["manifests"])
        except MissingObjectError:
            return set()

    def manifest_objects(self) -> list[PackInfo]:
        return [info for info in self.bucket.list("manifests/") if is_manifest_key(info.key)]

    def manifest_keys(self) -> list[str]:
        return [info.key for info in self.manifest_objects()]

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

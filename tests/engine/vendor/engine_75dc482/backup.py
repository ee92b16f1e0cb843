"""Backup: source segments -> content-defined chunks -> dedup against the vault index -> zstd -> packs.

Order of writes, so an interruption never leaves a visible half recovery point and never loses data:
1. a lease in `staging/` (pins the parent manifest; tells compaction a backup began at this time), renewed
   with every progress write;
2. packs, each followed by its index entries (an entry never points at bytes not yet stored);
3. the manifest under `manifests/`, then `recovery-point.register` with the Catalog: retried when the outcome
   is unknown (the Catalog's register is idempotent), and the manifest is deleted only when the Catalog
   refused the point, never when it may have registered it;
4. the lease is dropped.
Reuse writes nothing unless compaction condemned the chunk: then the backup revives it (a conditional
write that loses to a deletion, and then the chunk is stored again). A backup whose lease was not renewed
in time, or that has run longer than MAX_BACKUP_SECONDS, stops before writing its manifest: compaction
treats such a lease as gone (engine/README.md, "Why compaction is safe").
A rerun of an interrupted backup finds the chunks it already stored in the index, so it resumes in effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.engine.vendor.engine_75dc482.catalog import CatalogError, CatalogRejected, Register
from tests.engine.vendor.engine_75dc482.chunking import ChunkerSettings, Codec, split
from tests.engine.vendor.engine_75dc482.jobs import JobRecord, utc_now_iso
from tests.engine.vendor.engine_75dc482.manifest import ChunkRef, Manifest, Segment, manifest_key
from tests.engine.vendor.engine_75dc482.packs import DEFAULT_PACK_BYTES, PackWriter
from tests.engine.vendor.engine_75dc482.sources import VolumeSource, segment_length
from tests.engine.vendor.engine_75dc482.vault import CLOCK_SKEW_SECONDS, LEASE_TTL_SECONDS, MAX_BACKUP_SECONDS, Lease, RecoveryPointNotFound, Vault

MIB = 1024 * 1024


@dataclass(frozen=True)
class EngineSettings:
    chunker: ChunkerSettings = field(default_factory=ChunkerSettings)
    segment_bytes: int = 4 * MIB  # a multiple of the EBS block size (512 KiB)
    pack_bytes: int = DEFAULT_PACK_BYTES

    def __post_init__(self) -> None:
        if self.segment_bytes < self.chunker.max_size:
            raise ValueError(
                f"segment size {self.segment_bytes} must be at least the maximum chunk size "
                f"{self.chunker.max_size}"
            )
        if self.pack_bytes < self.chunker.max_size:
            raise ValueError(f"pack size {self.pack_bytes} must be at least the maximum chunk size")


@dataclass(frozen=True)
class BackupRequest:
    job_id: str
    asset_id: str
    recovery_point_id: str
    parent_recovery_point_id: str | None = None
    retention_days: int | None = None


@dataclass
class BackupResult:
    manifest: Manifest
    manifest_key: str
    chunks_new: int = 0
    chunks_reused: int = 0
    new_bytes: int = 0  # uncompressed bytes of chunks the vault did not have
    stored_bytes: int = 0  # compressed bytes this backup added to the vault
    segments_read: int = 0
    segments_copied: int = 0
    packs: list[str] = field(default_factory=list)

    def register_payload(self, request: BackupRequest) -> dict:
        payload = {
            "vaultName": self.manifest.vault_name,
            "assetId": self.manifest.asset_id,
            "recoveryPointId": self.manifest.recovery_point_id,
            "snapshotId": self.manifest.snapshot_id,
            "manifestKey": self.manifest_key,
            "logicalBytes": self.manifest.logical_bytes,
            "storedBytes": self.stored_bytes,
            "newBytes": self.new_bytes,
            "chunkCount": self.manifest.chunk_count,
            "jobId": request.job_id,
            "createdAt": self.manifest.created_at,
        }
        if request.parent_recovery_point_id:
            payload["parentRecoveryPointId"] = request.parent_recovery_point_id
        if request.retention_days is not None:
            payload["retentionDays"] = request.retention_days
        return payload


REGISTER_BACKOFF_SECONDS = (1, 4, 16)  # waits between attempts: four attempts over about 20 s


class LeaseLapsed(RuntimeError):
    pass


class RegistrationUncertain(CatalogError):
    pass


def register_durably(register: Register, payload: dict, sleep: Callable[[float], None]) -> None:
    """Register, retrying an unknown outcome; a refusal is final and is raised at once."""
    for wait in (*REGISTER_BACKOFF_SECONDS, None):
        try:
            register(payload)
            return
        except CatalogRejected:
            raise
        except Exception as error:
            if wait is None:
                raise RegistrationUncertain(
                    f"recovery point {payload['recoveryPointId']}: the Catalog did not confirm the registration "
                    f"after {len(REGISTER_BACKOFF_SECONDS) + 1} attempts ({error}); the manifest "
                    f"{payload['manifestKey']} stays, as the Catalog may have stored the point. Rerun the job: "
                    "registering again is harmless"
                ) from error
            sleep(wait)


class LeaseKeeper:
    """This backup's lease: written first, renewed with progress, checked before the manifest is written."""

    def __init__(self, vault: Vault, job_id: str, pinned: tuple[str, ...], clock: Callable[[], float]):
        self._vault, self._job_id, self._pinned, self._clock = vault, job_id, pinned, clock
        self.started = int(clock())
        self._renewed = self.started
        self._write(self.started)

    def _write(self, now: int) -> None:
        self._vault.write_lease(Lease(self._job_id, self.started, now, self._pinned))
        self._renewed = now

    def renew(self) -> None:
        """Renew, unless compaction may already have written the lease off: then stop (as restic does)."""
        now = int(self._clock())
        if now - self._renewed > LEASE_TTL_SECONDS - CLOCK_SKEW_SECONDS:
            raise LeaseLapsed(
                f"backup {self._job_id}: its lease was last renewed {now - self._renewed} s ago, longer than the "
                f"{LEASE_TTL_SECONDS} s compaction waits for; stopped before writing its manifest. Run it again"
            )
        self._write(now)

    def check(self) -> None:
        """Before the manifest: a lease compaction may have written off, or a backup past the grace, stops."""
        if int(self._clock()) - self.started > MAX_BACKUP_SECONDS - CLOCK_SKEW_SECONDS:
            raise LeaseLapsed(
                f"backup {self._job_id}: ran longer than the {MAX_BACKUP_SECONDS} s compaction's grace period "
                "allows; stopped before writing its manifest. Run it again"
            )
        self.renew()

    def drop(self) -> None:
        self._vault.drop_lease(self._job_id)


def _usable_parent(vault: Vault, request: BackupRequest, settings: EngineSettings) -> Manifest | None:
    if not request.parent_recovery_point_id:
        return None
    try:
        parent = vault.read_manifest(manifest_key(request.asset_id, request.parent_recovery_point_id))
    except RecoveryPointNotFound:
        return None  # expired and collected before our lease pinned it: read everything (the index dedups)
    same_layout = (
        parent.segment_bytes == settings.segment_bytes and parent.chunker == settings.chunker.as_dict()
    )
    return parent if same_layout else None  # different layout: read everything, the index still dedups


def plan_segments(
    source: VolumeSource, parent: Manifest | None, segment_bytes: int
) -> tuple[list[int], list[int]]:
    """(segments to read, segments to copy from the parent manifest)."""
    with_data = source.segments_with_data(segment_bytes)
    if parent is None:
        return sorted(with_data), []
    changed = source.changed_segments(parent.snapshot_id, segment_bytes)
    if changed is None:
        return sorted(with_data), []
    copy = {s for s in with_data if s not in changed and s in parent.segments}
    return sorted(with_data - copy), sorted(copy)


def run_backup(
    vault: Vault,
    source: VolumeSource,
    request: BackupRequest,
    register: Register,
    job: JobRecord,
    settings: EngineSettings = EngineSettings(),
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> BackupResult:
    # The lease (pinning the parent) is written before the parent is read: a compaction that reads leases
    # later keeps the parent, and one that already chose to delete it condemns its chunks only after this
    # backup began, so it waits for this backup to end (rule D in engine/README.md).
    parent_id = request.parent_recovery_point_id
    pinned = (manifest_key(request.asset_id, parent_id),) if parent_id else ()
    lease = LeaseKeeper(vault, request.job_id, pinned, clock)
    job.heartbeat = lease.renew
    try:
        job.running()
        parent = _usable_parent(vault, request, settings)
        result = _store(vault, source, request, settings, job, parent, clock)
        lease.check()
        vault.bucket.put(result.manifest_key, vault.manifest_bytes(result.manifest), "application/json")
        try:
            register_durably(register, result.register_payload(request), sleep)
        except CatalogRejected:
            # The Catalog refused this recovery point: leave nothing that looks like one.
            vault.bucket.delete(result.manifest_key)
            raise
        job.result(
            {
                "recoveryPointId": request.recovery_point_id,
                "manifestKey": result.manifest_key,
                "chunksNew": result.chunks_new,
                "chunksReused": result.chunks_reused,
                "storedBytes": result.stored_bytes,
            }
        )
        return result
    finally:
        lease.drop()


def _store(
    vault: Vault,
    source: VolumeSource,
    request: BackupRequest,
    settings: EngineSettings,
    job: JobRecord,
    parent: Manifest | None,
    clock: Callable[[], float],
) -> BackupResult:
    seg = settings.segment_bytes
    to_read, to_copy = plan_segments(source, parent, seg)
    manifest = Manifest(
        vault_name=vault.name,
        asset_id=request.asset_id,
        recovery_point_id=request.recovery_point_id,
        snapshot_id=source.snapshot_id,
        volume_bytes=source.volume_bytes,
        segment_bytes=seg,
        chunker=settings.chunker.as_dict(),
        created_at=utc_now_iso(),
        parent_recovery_point_id=request.parent_recovery_point_id,
    )
    result = BackupResult(manifest, manifest_key(request.asset_id, request.recovery_point_id))
    for index in to_copy:
        manifest.segments[index] = Segment(index, list(parent.segments[index].chunks))
    result.segments_copied = len(to_copy)

    codec = Codec(settings.chunker.zstd_level)
    writer = PackWriter(vault.bucket, vault.index, settings.pack_bytes, epoch=lambda: int(clock()))
    known: set[bytes] = set()  # chunks this backup already stored or secured
    bytes_total = sum(segment_length(i, seg, source.volume_bytes) for i in to_read)
    bytes_done = 0
    for index, data in source.read_segments(to_read, seg):
        bytes_done += len(data)
        result.segments_read += 1
        if data.count(0) == len(data):
            # All zeros: stored as a segment without chunks, so a child backup can copy it too.
            manifest.segments[index] = Segment(index, [])
            continue
        chunks = list(split(data, settings.chunker, vault.chunk_key))
        found = vault.index.lookup(c.digest for c in chunks if c.digest not in known)
        refs = []
        for chunk in chunks:
            refs.append(ChunkRef(chunk.digest, len(chunk.data)))
            if chunk.digest in known:
                result.chunks_reused += 1
                continue
            entry = found.get(chunk.digest)
            # Reuse is free unless compaction condemned the chunk; reviving it then races its deletion.
            if entry is not None and (entry.condemned_at is None or vault.index.revive(entry)):
                result.chunks_reused += 1
            else:
                frame = codec.compress(chunk.data)
                writer.add(chunk.digest, frame, len(chunk.data))
                result.chunks_new += 1
                result.new_bytes += len(chunk.data)
                result.stored_bytes += len(frame)
            known.add(chunk.digest)
        manifest.segments[index] = Segment(index, refs)
        job.progress(bytes_total, bytes_done, result.chunks_new, result.chunks_reused)
    writer.flush()
    result.packs = writer.packs_written
    job.progress(bytes_total, bytes_done, result.chunks_new, result.chunks_reused, final=True)
    return result

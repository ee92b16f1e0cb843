"""Backup: source segments -> content-defined chunks -> dedup against the vault index -> zstd -> packs.

Order of writes, so an interruption never leaves a visible half recovery point and never loses data:
1. a lease in `staging/` (pins the parent manifest; tells compaction a backup began at this time), renewed
   with every progress write;
2. packs, then an index blob naming their chunks (`index/b-*.idx`, also every BLOB_EVERY_PACKS packs: an
   entry never points at bytes not yet stored);
3. the manifest under `manifests/` (streamed to a spool file, then uploaded; an incremental one that
   references its parent is made self-contained if a compaction may be deleting that parent, rule P in
   engine/README.md), then `recovery-point.register` with the Catalog: retried when the outcome
   is unknown (the Catalog's register is idempotent), and the manifest is deleted only when the Catalog
   refused the point, never when it may have registered it;
4. the lease is dropped.
Reuse writes nothing. The index and the newest GC generation are loaded once, after the lease: a chunk whose
only copies are in packs compaction condemned is never reused, it is stored again (so there is no race with
its deletion to lose). A backup whose lease was not renewed
in time, or that has run longer than MAX_BACKUP_SECONDS, stops before writing its manifest: compaction
treats such a lease as gone (engine/README.md, "Why compaction is safe").
A rerun of an interrupted backup finds the chunks its index blobs named, so it resumes in effect; a rerun of
one that wrote its manifest registers that manifest instead of writing another (children may pin its MAC).
"""

from __future__ import annotations

import contextlib
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from heapq import merge

from engine.bounded import RecentDigests, spool_file
from engine.catalog import CatalogError, CatalogRejected, Register
from engine.chunking import ChunkerSettings
from engine.gcstate import read_state
from engine.index import BLOB_EVERY_PACKS, IndexEntry, IndexView
from engine.jobs import JobRecord, utc_now_iso
from engine.manifest import (
    ABSENT,
    BINARY_VERSION,
    MANIFEST_VERSION,
    MAX_CHAIN_DEPTH,
    BackupManifest,
    ChunkRef,
    Manifest,
    ManifestError,
    ManifestFile,
    ManifestHeader,
    ManifestWriter,
    manifest_key,
    segment_table,
)
from engine.packs import DEFAULT_PACK_BYTES, PackWriter
from engine.pipeline import ChunkedSegment, CpuPipeline, PipelineSettings, segments_in_flight
from engine.sources import VolumeSource, segment_length
from engine.upgrade import prepare_vault
from engine.vault import CLOCK_SKEW_SECONDS, LEASE_TTL_SECONDS, MAX_BACKUP_SECONDS, Lease, RecoveryPointNotFound, Vault


@dataclass(frozen=True)
class EngineSettings:
    chunker: ChunkerSettings = field(default_factory=ChunkerSettings)
    # One EBS block (512 KiB): an incremental re-reads and re-chunks exactly the blocks ListChangedBlocks names,
    # as the cost model prices it. Parents written with another segment size are read in full once.
    segment_bytes: int = 512 * 1024
    # Segments are chunked in windows of this many bytes before one index lookup: with 512 KiB segments a
    # lookup per segment would be a round trip per 8 chunks; a window is ~128 chunks, two BatchGetItem calls.
    lookup_window_bytes: int = 8 * 1024 * 1024
    pack_bytes: int = DEFAULT_PACK_BYTES
    # Chunk + hash + compress run on a worker process (engine/pipeline.py), I/O on this one.
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)

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
    manifest: Manifest | ManifestFile | None
    manifest_key: str
    chunks_new: int = 0
    chunks_reused: int = 0
    new_bytes: int = 0  # uncompressed bytes of chunks the vault did not have
    stored_bytes: int = 0  # compressed bytes this backup added to the vault
    segments_read: int = 0
    segments_copied: int = 0
    packs: list[str] = field(default_factory=list)
    manifest_bytes: int = 0  # the manifest's size in S3
    manifest_flattened: bool = False  # written self-contained after all: a compaction may delete its parent

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


LEASE_RENEW_SECONDS = 600  # progress is written every few seconds; the lease needs renewing far less often


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

    def renew(self, force: bool = False) -> None:
        """Renew (at most every LEASE_RENEW_SECONDS: each renewal is an S3 PUT), unless compaction may already
        have written the lease off: then stop (as restic does)."""
        now = int(self._clock())
        if now - self._renewed > LEASE_TTL_SECONDS - CLOCK_SKEW_SECONDS:
            raise LeaseLapsed(
                f"backup {self._job_id}: its lease was last renewed {now - self._renewed} s ago, longer than the "
                f"{LEASE_TTL_SECONDS} s compaction waits for; stopped before writing its manifest. Run it again"
            )
        if force or now - self._renewed >= LEASE_RENEW_SECONDS:
            self._write(now)

    def check(self) -> None:
        """Before the manifest: a lease compaction may have written off, or a backup past the grace, stops."""
        if int(self._clock()) - self.started > MAX_BACKUP_SECONDS - CLOCK_SKEW_SECONDS:
            raise LeaseLapsed(
                f"backup {self._job_id}: ran longer than the {MAX_BACKUP_SECONDS} s compaction's grace period "
                "allows; stopped before writing its manifest. Run it again"
            )
        self.renew(force=True)

    def drop(self) -> None:
        self._vault.drop_lease(self._job_id)


class _BlobWriter:
    """Collects the entries of stored packs; writes them as an index blob every BLOB_EVERY_PACKS packs and at
    the end (before the manifest)."""

    def __init__(self, vault: Vault):
        self._vault = vault
        self._entries: list[IndexEntry] = []
        self._packs = 0
        self._lock = threading.Lock()

    def add(self, entries: list[IndexEntry]) -> None:  # on the upload thread, after the pack is stored
        with self._lock:
            self._entries.extend(entries)
            self._packs += 1
            if self._packs >= BLOB_EVERY_PACKS:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        if self._entries:
            self._vault.index.write_blob(self._entries)
        self._entries, self._packs = [], 0


@dataclass
class ParentManifest:
    """The parent as planning and the manifest writer use it: which segments it holds (4 bytes a segment)."""

    manifest: Manifest | ManifestFile
    table: array  # chunks per segment, ABSENT where the parent holds none

    @property
    def snapshot_id(self) -> str:
        return self.manifest.snapshot_id

    def holds(self, index: int) -> bool:
        return index < len(self.table) and self.table[index] != ABSENT

    def referable(self, manifest_format: int, volume_bytes: int) -> bool:
        """Whether a child may reference its ranges instead of copying them: a version-3 parent whose chain is
        short enough, of a volume the same size (a chain resolves only through manifests of one layout); otherwise
        the child is written in full and starts a new chain."""
        return (
            manifest_format >= BINARY_VERSION
            and isinstance(self.manifest, ManifestFile)
            and self.manifest.depth < MAX_CHAIN_DEPTH
            and self.manifest.volume_bytes == volume_bytes
        )


def parent_keys(asset_id: str, parent_id: str | None) -> tuple[str, ...]:
    """The keys a parent's manifest may have (its vault may have written it in either format)."""
    if not parent_id:
        return ()
    return tuple(manifest_key(asset_id, parent_id, version) for version in (BINARY_VERSION, MANIFEST_VERSION))


def _usable_parent(
    vault: Vault, source: VolumeSource, request: BackupRequest, settings: EngineSettings
) -> ParentManifest | None:
    if not request.parent_recovery_point_id:
        return None
    try:
        parent = vault.open_manifest(vault.locate_manifest(request.asset_id, request.parent_recovery_point_id))
    except RecoveryPointNotFound:
        return None  # expired and collected before our lease pinned it: read everything (the index dedups)
    # A volume that grew (EBS Elastic Volumes: same lineage) keeps its parent's segments as they were, unless the
    # parent's last one was short (it is longer now). A different layout: read everything, the index still dedups.
    same_size_segments = parent.volume_bytes == source.volume_bytes or (
        parent.volume_bytes < source.volume_bytes and parent.volume_bytes % settings.segment_bytes == 0
    )
    same_layout = (
        parent.segment_bytes == settings.segment_bytes
        and parent.chunker == settings.chunker.as_dict()
        and same_size_segments
    )
    return ParentManifest(parent, segment_table(parent)) if same_layout else None


def _read_again_where_lost(
    parent: ParentManifest, to_read: array, to_copy: array, lost: set[bytes]
) -> tuple[array, array]:
    """A parent's segment holding a chunk scan found lost or corrupt is read again from the snapshot, so the
    chunk is stored anew instead of every later point inheriting the loss. Both plans are sorted arrays (8 bytes
    a segment): membership by bisection and a merge, no set of every segment."""

    def copying(index: int) -> bool:
        at = bisect_left(to_copy, index)
        return at < len(to_copy) and to_copy[at] == index

    again = {
        segment.index
        for segment in parent.manifest.iter_segments()
        if copying(segment.index) and any(ref.digest in lost for ref in segment.chunks)
    }
    if not again:
        return to_read, to_copy
    return array("q", merge(to_read, sorted(again))), array("q", (i for i in to_copy if i not in again))


def _ascending(indexes: Iterable[int], what: str) -> Iterator[int]:
    previous = -1
    for index in indexes:
        if index <= previous:
            raise ValueError(f"the source listed {what} {index} after {previous}: a listing must ascend")
        previous = index
        yield index


def plan_segments(
    source: VolumeSource, parent: ParentManifest | None, segment_bytes: int
) -> tuple[array, array]:
    """(segments to read, segments to copy from the parent manifest), in order, 8 bytes a segment.

    The source's segments with data and its changed segments are both ascending streams (an EBS snapshot's
    listings, page by page): they are merged as they come, so nothing but the two plans is held."""
    with_data = source.segments_with_data(segment_bytes)
    changed = source.changed_segments(parent.snapshot_id, segment_bytes) if parent is not None else None
    changes = _ascending(changed, "changed segment") if changed is not None else None
    next_change = next(changes, None) if changes is not None else None
    to_read, to_copy = array("q"), array("q")
    for index in _ascending(with_data, "segment"):
        if changes is None:
            to_read.append(index)
            continue
        while next_change is not None and next_change < index:
            next_change = next(changes, None)
        copied = next_change != index and parent.holds(index)
        (to_copy if copied else to_read).append(index)
    return to_read, to_copy


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
    # Before anything is written (the lease included): the vault's upgrade, when not done (engine/upgrade.py).
    prepare_vault(vault, request.job_id, clock, sleep)
    # It pins its own manifest too: a rerun registers the one an earlier attempt wrote (`_written_before`),
    # which compaction would otherwise expire as never registered once it is older than the grace period.
    pinned = (
        *parent_keys(request.asset_id, request.parent_recovery_point_id),
        *parent_keys(request.asset_id, request.recovery_point_id),
    )
    lease = LeaseKeeper(vault, request.job_id, pinned, clock)
    job.heartbeat = lease.renew
    try:
        job.running()
        result = _written_before(vault, source, request)
        if result is None:
            parent = _usable_parent(vault, source, request, settings)
            # After the lease: a compaction whose generation is published later waits for this backup (rule D).
            with vault.index.load(read_state(vault.bucket).condemned) as view:
                result = _store(vault, source, request, settings, job, parent, view)
            lease.check()
            commit_manifest(vault, result)
        else:
            lease.check()
            keep_rule_p(vault, result)
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
    parent: ParentManifest | None,
    view: IndexView,
) -> BackupResult:
    seg = settings.segment_bytes
    to_read, to_copy = plan_segments(source, parent, seg)
    lost = view.lost()
    if lost and parent is not None and to_copy:
        to_read, to_copy = _read_again_where_lost(parent, to_read, to_copy, lost)
    result = BackupResult(None, vault.manifest_key(request.asset_id, request.recovery_point_id))
    manifest = start_manifest(vault, request, source, settings, parent, to_copy)
    result.segments_copied = len(to_copy)

    stored = _BlobWriter(vault)
    writer = PackWriter(vault.bucket, settings.pack_bytes, on_stored=stored.add)
    known = RecentDigests()  # chunks this backup recently stored or secured (bounded: bounded.py)
    bytes_total = sum(segment_length(i, seg, source.volume_bytes) for i in to_read)
    bytes_done = 0
    window: list[ChunkedSegment] = []  # chunked segments waiting for one index lookup
    looking_up: list[tuple[list, Future]] = []  # the previous window, its lookup under way
    lookups = ThreadPoolExecutor(1, thread_name_prefix="index-lookup")
    # The worker keeps a segment until we ask it to compress the segment's new chunks, after the lookup: it
    # holds at most the two windows here plus those queued ahead of it (engine/pipeline.py).
    cpu = CpuPipeline(
        settings.chunker,
        vault.chunk_key,
        segments_in_flight(settings.pipeline, settings.lookup_window_bytes, seg),
        settings.pipeline,
    )

    def look_up() -> None:
        """Start the window's lookup (100 keys a call) and settle the previous one: lookups overlap chunking."""
        digests = [d for segment in window for d in segment.digests if d not in known]
        looking_up.append((list(window), lookups.submit(view.usable, digests)))
        window.clear()
        if len(looking_up) > 1:
            settle(*looking_up.pop(0))

    def store(digest: bytes, frame: bytes, raw_length: int) -> None:
        writer.add(digest, frame, raw_length)
        result.stored_bytes += len(frame)

    def settle(segments: list[ChunkedSegment], lookup: Future) -> None:
        """Store what the vault lacks. A chunk stored since the lookup began is in `known` by now."""
        found = lookup.result()
        for segment in segments:
            refs, new = [], []
            for position, (digest, length) in enumerate(zip(segment.digests, segment.lengths, strict=True)):
                refs.append(ChunkRef(digest, length))
                if digest in known:
                    result.chunks_reused += 1
                    continue
                if digest in found:  # a copy outside condemned packs: reuse writes nothing
                    result.chunks_reused += 1
                else:
                    new.append(position)  # compressed by the worker, then stored in order (`store`)
                    result.chunks_new += 1
                    result.new_bytes += length
                known.add(digest)
            if not segment.zero:  # a segment of zeros has no chunks for the worker to compress
                cpu.compress(segment, new, store)
            manifest.segment(segment.index, refs)
        job.progress(bytes_total, bytes_done, result.chunks_new, result.chunks_reused)

    try:
        with cpu:
            window_bytes = 0
            for segment in cpu.chunked(source.read_segments(to_read, seg)):
                bytes_done += segment.length
                result.segments_read += 1
                if segment.zero:
                    # All zeros: a segment without chunks (written in order, with its window), so a child
                    # backup can copy it too.
                    window.append(segment)
                    continue
                window.append(segment)
                window_bytes += segment.length
                if window_bytes >= settings.lookup_window_bytes:
                    look_up()
                    window_bytes = 0
                while looking_up and looking_up[0][1].done():
                    settle(*looking_up.pop(0))  # as soon as its lookup is back: the worker gets its segments back
            look_up()
            while looking_up:
                settle(*looking_up.pop(0))
            cpu.finish()
        writer.flush()
        stored.flush()
    except BaseException:
        # Packs already sealed finish uploading and are indexed, so a rerun reuses them.
        with contextlib.suppress(Exception):
            writer.drain()
            stored.flush()
        raise
    finally:
        lookups.shutdown(wait=True)
    result.packs = writer.packs_written
    finish_manifest(vault, result, manifest, parent)
    job.progress(bytes_total, bytes_done, result.chunks_new, result.chunks_reused, final=True)
    return result


# ---- the manifest: streamed to a spool file, uploaded, made self-contained when its parent may go --------


def start_manifest(
    vault: Vault,
    request: BackupRequest,
    source: VolumeSource,
    settings: EngineSettings,
    parent: ParentManifest | None,
    to_copy: array,
) -> BackupManifest:
    by_reference = parent is not None and bool(to_copy) and parent.referable(vault.manifest_format, source.volume_bytes)
    parent_file = parent.manifest if by_reference else None
    header = ManifestHeader(
        vault_name=vault.name,
        asset_id=request.asset_id,
        recovery_point_id=request.recovery_point_id,
        snapshot_id=source.snapshot_id,
        volume_bytes=source.volume_bytes,
        segment_bytes=settings.segment_bytes,
        chunker=settings.chunker.as_dict(),
        created_at=utc_now_iso(),
        parent_recovery_point_id=request.parent_recovery_point_id,
        references_parent=by_reference,
        parent_mac=parent_file.mac if parent_file else None,
        depth=parent_file.depth + 1 if parent_file else 0,
    )
    writer = ManifestWriter(spool_file(), header, vault.config.manifest_key)
    return BackupManifest(
        writer, parent.manifest if parent else None, parent.table if parent else None, iter(to_copy), by_reference
    )


def finish_manifest(vault: Vault, result: BackupResult, manifest: BackupManifest, parent: ParentManifest | None):
    manifest.finish()
    source = f"spool of {result.manifest_key}"
    opened = ManifestFile(manifest.writer.spool, vault.config.manifest_key, source, _parent_of(vault, parent))
    # A vault still writing version 2 gets JSON, built in memory as before (engine/vaultconfig.py).
    result.manifest = opened if vault.manifest_format >= BINARY_VERSION else opened.as_manifest()


def _parent_of(vault: Vault, parent: ParentManifest | None):
    """Resolve parent ranges through the parent this backup opened (it may be deleted meanwhile, rule P)."""

    def open_parent(asset_id: str, recovery_point_id: str) -> ManifestFile:
        if parent is not None and isinstance(parent.manifest, ManifestFile):
            return parent.manifest
        return vault._open_parent(asset_id, recovery_point_id)

    return open_parent


def _written_before(vault: Vault, source: VolumeSource, request: BackupRequest) -> BackupResult | None:
    """The manifest an earlier attempt of this backup wrote (a Batch retry, or the operator's rerun after an
    unconfirmed registration: the same recovery point id). The Catalog may have registered it and children may
    pin its MAC, so it is never written again: the rerun registers it again (harmless, the Catalog's register
    is idempotent). None when there is none, or when it does not open or resolve through its chain (then it
    was never registered: a registered manifest's parent stays, rule P), so the backup runs as new."""
    key = vault.manifest_key(request.asset_id, request.recovery_point_id)
    if not vault.bucket.exists(key):  # a HEAD, as rule P's check of the parent (the first attempt: none)
        return None
    try:
        manifest = vault.open_manifest(key)
    except (RecoveryPointNotFound, ManifestError):
        return None
    try:
        if (manifest.snapshot_id, manifest.parent_recovery_point_id) != (
            source.snapshot_id,
            request.parent_recovery_point_id,
        ):
            raise RecoveryPointExists(
                f"recovery point {request.recovery_point_id} was written from snapshot {manifest.snapshot_id} "
                f"(parent {manifest.parent_recovery_point_id}) at {key}, not from {source.snapshot_id} (parent "
                f"{request.parent_recovery_point_id}); it may be registered, so it is not replaced. Back up with "
                "a new job id"
            )
        if isinstance(manifest, ManifestFile):
            for _ in manifest.iter_segments():  # the whole chain resolves, every parent's MAC matches
                pass
    except BaseException as error:
        if isinstance(manifest, ManifestFile):
            manifest.close()
        if isinstance(error, ManifestError):
            return None
        raise
    return BackupResult(manifest, key)


class RecoveryPointExists(RuntimeError):
    pass


def commit_manifest(vault: Vault, result: BackupResult) -> None:
    """Upload the manifest, then apply rule P (`keep_rule_p`)."""
    manifest = result.manifest
    if isinstance(manifest, Manifest):
        body = vault.manifest_bytes(manifest)
        vault.bucket.put(result.manifest_key, body, "application/json")
        result.manifest_bytes = len(body)
        return
    result.manifest_bytes = vault.write_manifest(result.manifest_key, manifest.spool)
    keep_rule_p(vault, result)


def keep_rule_p(vault: Vault, result: BackupResult) -> None:
    """An incremental manifest in the bucket is checked against rule P (engine/README.md): once it is in the
    bucket, a compaction that lists manifests later keeps its parent; one that announced it is deleting the
    parent may still do so, so then (or when the parent is gone already) it is rewritten self-contained."""
    manifest = result.manifest
    if not isinstance(manifest, ManifestFile) or not manifest.references_parent:
        return
    parent_key = manifest_key(manifest.asset_id, manifest.parent_recovery_point_id, BINARY_VERSION)
    if parent_key not in vault.manifests_being_deleted() and vault.bucket.exists(parent_key):
        return
    full = flatten(vault, manifest)
    result.manifest_bytes = vault.write_manifest(result.manifest_key, full.spool)
    result.manifest, result.manifest_flattened = full, True


def flatten(vault: Vault, manifest: ManifestFile) -> ManifestFile:
    """The same recovery point as a full manifest: every segment written out, no parent reference."""
    header = replace(manifest.header, references_parent=False, parent_mac=None, depth=0)
    writer = ManifestWriter(spool_file(), header, vault.config.manifest_key)
    for segment in manifest.iter_segments():
        writer.segment(segment.index, segment.chunks)
    writer.finish()
    return ManifestFile(writer.spool, vault.config.manifest_key, f"spool of {manifest.recovery_point_id}")

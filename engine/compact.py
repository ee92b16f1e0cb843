"""The `compact` job: expire manifests, then collect packs no manifest needs, in two phases.

The argument for why this never deletes a chunk a recovery point needs is in engine/README.md ("Why
compaction is safe"); the rules it relies on, in the order a run applies them:
1. One compaction per vault at a time (engine/lock.py), renewed before every destructive step.
2. Leases are read (rule D uses these), then expired manifests are chosen: an expired manifest that an
   active lease pins (a running backup copies from it), or that object lock retains, is kept; so is one that
   a manifest staying in the bucket references as its parent (incremental manifests resolve through their
   parents, rule P in engine/README.md).
3. Mark: every manifest in the bucket except those about to be deleted, streamed into a Bloom filter sized
   by the vault's unique chunks, not by the references the manifests hold (a false positive keeps garbage),
   each live digest spooled once; a segment whose exact chunk list was already marked is skipped (a full
   manifest's unchanged segments). Liveness comes from manifests only; the index is never a reason to delete.
4. The chosen manifests are deleted (announced first, then leases read and manifests listed again: one pinned
   meanwhile is kept with its chain, and so is the chain of a manifest written meanwhile).
5. The index blobs are loaded, then the packs listed (a pack a listed blob names is in the listing). A pack
   the index does not know is read for its own chunk list and indexed again, before any pack is judged.
6. Condemn (phase one): a pack whose live share is below `rewrite_below` is condemned in this run's GC
   generation (engine/gcstate.py); a condemned pack that holds a chunk of a manifest deleted in step 4 is
   condemned again, from this generation. Backups never reuse chunks of condemned packs.
7. Sweep (phase two): a condemned pack is collected when rule D allows its stamp: its live chunks (read from
   the pack's own chunk list, verified) are copied into a new pack, except those another copy of which was read
   back whole; the merged index blob is written and the generation published; only then are the merged blobs
   and the collected packs deleted.
A pack without a chunk list (written before lists existed) or with a damaged one is never collected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.bounded import DigestFilter, LiveSet, SeenSegments
from engine.chunking import Codec, chunk_digest
from engine.gcstate import GcGenerations, GcState
from engine.index import ChunkIndex, IndexEntry
from engine.jobs import JobRecord
from engine.lock import CompactionBusy, CompactionLock, LockLost
from engine.manifest import BINARY_VERSION, Manifest, ManifestError, ManifestHeader, Segment, manifest_key
from engine.packs import (
    DEFAULT_PACK_BYTES,
    PACK_PREFIX,
    MissingObjectError,
    PackFormatError,
    PackInfo,
    PackWriter,
    read_chunk_list,
    read_frames,
)
from engine.upgrade import prepare_vault
from engine.vault import CLOCK_SKEW_SECONDS, MAX_BACKUP_SECONDS, Lease, Vault

__all__ = ["CompactionBusy", "CompactionReport", "CompactionSettings", "LockLost", "run_compaction"]


@dataclass(frozen=True)
class CompactionSettings:
    # Condemn (and later rewrite) a pack once less than this share of its chunk bytes is live, i.e. once a
    # fifth of it is dead: restic's prune repacks a pack with 20% or more unused data under the threshold it
    # proposed (restic PR #1994, --repack-threshold 20) and today tolerates 5% unused in the repository
    # (--max-unused, default 5%); kopia rewrites the contents of packs under 60% of the pack size (short
    # packs, repo/maintenance/content_rewrite.go). With one day of noncurrent versions (components/vault.py),
    # copying live bytes costs less than keeping dead ones: the cost model (cost/assumptions.py
    # compaction_live_threshold) puts the vault closest to its storage floor near 0.8 at 30-365 days.
    rewrite_below: float = 0.8
    # Longer than the longest backup (kopia's full safety waits 24 h and two GC cycles): a chunk a backup
    # looked up before it was condemned is referenced by that backup's manifest before the grace ends.
    grace_seconds: int = MAX_BACKUP_SECONDS + 2 * 3600
    lock_ttl_seconds: int = 15 * 60
    pack_bytes: int = DEFAULT_PACK_BYTES


@dataclass
class CompactionReport:
    manifests_expired: list[str] = field(default_factory=list)
    manifests_retained: list[str] = field(default_factory=list)  # object lock: expire them later
    manifests_pinned: list[str] = field(default_factory=list)  # a running backup copies from them
    manifests_referenced: list[str] = field(default_factory=list)  # a live incremental manifest resolves through
    manifests_unregistered: list[str] = field(default_factory=list)  # the Catalog never had them: expired too
    leases_removed: int = 0  # of backups that stopped long ago without dropping them
    packs_condemned: int = 0  # newly, in this run's generation
    chunks_condemned: int = 0  # unreferenced chunks in those packs
    chunks_deleted: int = 0
    chunks_moved: int = 0
    packs_rewritten: int = 0
    packs_deleted: list[str] = field(default_factory=list)
    packs_retained: int = 0
    packs_waiting: int = 0  # hold unreferenced chunks still inside their grace period
    packs_without_chunk_list: int = 0
    live_chunks_not_indexed: int = 0  # in no pack's chunk list and no index blob: reported
    packs_not_indexed: int = 0  # found in no index blob: indexed again from their chunk lists
    generation: int = 0
    bytes_reclaimed: int = 0
    recovery_points_forgotten: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "manifestsExpired": len(self.manifests_expired),
            "manifestsRetained": len(self.manifests_retained),
            "manifestsPinned": len(self.manifests_pinned),
            "manifestsReferenced": len(self.manifests_referenced),
            "manifestsUnregistered": len(self.manifests_unregistered),
            "leasesRemoved": self.leases_removed,
            "packsCondemned": self.packs_condemned,
            "chunksCondemned": self.chunks_condemned,
            "chunksDeleted": self.chunks_deleted,
            "chunksMoved": self.chunks_moved,
            "packsRewritten": self.packs_rewritten,
            "packsDeleted": len(self.packs_deleted),
            "packsRetained": self.packs_retained,
            "packsWaiting": self.packs_waiting,
            "packsWithoutChunkList": self.packs_without_chunk_list,
            "liveChunksNotIndexed": self.live_chunks_not_indexed,
            "packsNotIndexed": self.packs_not_indexed,
            "generation": self.generation,
            "bytesReclaimed": self.bytes_reclaimed,
            "recoveryPointsForgotten": self.recovery_points_forgotten,
            "problems": self.problems[:20],
        }


@dataclass(frozen=True)
class DeletionRule:
    """When something that became unreferenced at `stamp` may go (engine/README.md, rule D)."""

    now: int
    grace_seconds: int
    oldest_lease_start: int | None

    def allows(self, stamp: int) -> bool:
        if stamp + self.grace_seconds > self.now:
            return False
        # A backup that began before the stamp may have looked the chunk up before it was condemned.
        return self.oldest_lease_start is None or self.oldest_lease_start > stamp + CLOCK_SKEW_SECONDS


# ---- the mark (rule 3): bounded memory, streamed manifests ----------------------------------------------------

# A version-3 manifest spends at least 33 bytes a chunk (JSON more), so its size bounds its chunk count.
MIN_MANIFEST_BYTES_PER_CHUNK = 33


@dataclass
class ManifestListing:
    """The manifests a run listed before its mark, with their headers (parents), read once."""

    objects: list[PackInfo]
    headers: dict[str, ManifestHeader | None]

    @classmethod
    def read(cls, vault: Vault) -> ManifestListing:
        objects = vault.manifest_objects()
        return cls(objects, {info.key: vault.manifest_header(info) for info in objects})


def mark(
    vault: Vault,
    to_delete: list[str],
    report: CompactionReport,
    listing: ManifestListing | None = None,
    unique_chunks: int | None = None,
) -> tuple[LiveSet, DigestFilter]:
    """The live set (a Bloom filter, engine/bounded.py: a false positive keeps garbage, never the reverse) from
    every manifest in the bucket but those about to go, and the chunks of those (`freed`). Each manifest is
    streamed once, its own records only: a parent range's chunks are marked through the parent, which stays
    (`keep_referenced_parents`). Removes from `to_delete` the parents live manifests resolve through.

    Memory and disk follow the vault's unique chunks, not the manifests' references (every full manifest lists
    its whole volume again): both filters are sized by the fewer of the manifests' chunk references and
    `unique_chunks` (by default what the index blobs hold, `ChunkIndex.entry_bound`), and the live set spools
    each digest once. An index that names fewer chunks than are live (lost blobs) only fills the filter past
    its size: more garbage kept this run, reported; the run indexes the packs again, so the next one sizes
    right. A segment whose exact record this run already streamed into the same filter is skipped (its chunks
    are in it: exact salted keys, `SeenSegments`), so the filter work follows distinct segments, not
    references (engine/README.md, "The mark's bounds")."""
    listing = listing or ManifestListing.read(vault)
    objects, headers = listing.objects, listing.headers
    keep_referenced_parents(headers, to_delete, report)
    doomed = set(to_delete)
    if unique_chunks is None:
        unique_chunks = vault.index.entry_bound()

    def capacity(keys_doomed: bool) -> int:
        references = sum(i.size for i in objects if (i.key in doomed) == keys_doomed) // MIN_MANIFEST_BYTES_PER_CHUNK
        return min(references, unique_chunks) + 1

    live, freed = LiveSet(capacity(False)), DigestFilter(capacity(True))
    # A segment whose exact chunk list this run already streamed into a filter is skipped (each filter its
    # own set): a full manifest's unchanged segments, so the work follows distinct segments, not references.
    seen_live, seen_freed = SeenSegments(capacity(False)), SeenSegments(capacity(True))
    for info in objects:
        target, seen = (freed, seen_freed) if info.key in doomed else (live, seen_live)
        manifest = vault.open_manifest(info.key)
        if isinstance(manifest, Manifest):
            for ref in manifest.chunk_refs():
                target.add(ref.digest)
            continue
        try:
            listed = headers[info.key]
            same_parent = listed is not None and listed.parent_recovery_point_id == manifest.parent_recovery_point_id
            if manifest.references_parent and not (same_parent and listed.references_parent):
                raise ManifestError(f"{manifest.source}: changed while compaction read it; nothing was deleted")
            for record in manifest.records(seen=seen):
                if isinstance(record, Segment):
                    for ref in record.chunks:
                        target.add(ref.digest)
        finally:
            manifest.close()
    if live.overfull:
        report.problems.append(
            f"the live manifests hold at least {len(live)} distinct chunks, the index blobs name about "
            f"{unique_chunks}: the mark's filter was sized for fewer, so more garbage is kept this run (never a "
            "live chunk); the packs no blob names are indexed again below, and the next run sizes it right"
        )
    return live, freed


def keep_referenced_parents(headers: dict[str, ManifestHeader | None], to_delete: list[str], report) -> None:
    """Rule P: a manifest that stays keeps the parent it references, and that parent its own, and so on."""
    doomed = set(to_delete)
    parent_of = {
        key: manifest_key(header.asset_id, header.parent_recovery_point_id, BINARY_VERSION)
        for key, header in headers.items()
        if header is not None and header.references_parent
    }
    staying = [key for key in headers if key not in doomed]
    while staying:
        parent = parent_of.get(staying.pop())
        if parent in doomed:
            doomed.discard(parent)
            report.manifests_referenced.append(parent)
            staying.append(parent)
    to_delete[:] = [key for key in to_delete if key in doomed]


def keep_what_stays_since(
    vault: Vault, listing: ManifestListing, to_delete: list[str], pinned: set[str], report
) -> None:
    """Rule P once the deletions are announced and the leases read again (engine/README.md): a manifest pinned
    meanwhile stays, and so does every parent up its chain; so does the chain of every manifest written (or
    rewritten) since the listing, which a backup may have committed, registered and unleased during the mark
    without seeing the announcement, made only now. One LIST; a header read per new manifest only."""
    headers = dict(listing.headers)
    before = {info.key: (info.size, info.last_modified) for info in listing.objects}
    for info in vault.manifest_objects():
        if before.get(info.key) != (info.size, info.last_modified):
            headers[info.key] = vault.manifest_header(info)
    for key in to_delete:
        if key in pinned:
            report.manifests_pinned.append(key)
    to_delete[:] = [key for key in to_delete if key not in pinned]
    keep_referenced_parents(headers, to_delete, report)


def run_compaction(
    vault: Vault,
    job: JobRecord,
    expired_manifest_keys: Iterable[str] = (),
    settings: CompactionSettings = CompactionSettings(),
    clock: Callable[[], float] = time.time,
    job_id: str | None = None,
) -> CompactionReport:
    job.running()
    lock = CompactionLock(
        vault.index.dynamodb, vault.index.table_name, vault.name, job_id or job.job_id, settings.lock_ttl_seconds, clock
    )
    lock.acquire()
    try:
        # A vault's first compaction under this engine finishes its upgrade under this lock (engine/upgrade.py).
        prepare_vault(vault, job_id or job.job_id, clock, lock=lock)
        report = _compact(vault, set(expired_manifest_keys), settings, clock, lock)
    finally:
        lock.release()
    job.result(report.as_dict())
    return report


def _pins(leases: list[Lease]) -> set[str]:
    return {key for lease in leases for key in lease.pinned_manifests}


def _compact(vault: Vault, expired: set[str], settings, clock, lock: CompactionLock) -> CompactionReport:
    report = CompactionReport()
    # Rule 2: leases first (rule D counts every backup that was active before the mark), then the choice.
    leases = vault.active_leases(clock())
    pinned = _pins(leases)
    to_delete = []
    for key in sorted(expired):
        if not vault.bucket.exists(key):
            continue
        if vault.bucket.is_retained(key):
            report.manifests_retained.append(key)
        elif key in pinned:
            report.manifests_pinned.append(key)
        else:
            to_delete.append(key)

    # Rule 3: mark from every manifest but those about to go (and keep the parents live ones resolve through).
    listing = ManifestListing.read(vault)
    live, freed = mark(vault, to_delete, report, listing)

    # Rule 4: delete the chosen manifests; one a backup pinned since rule 2 stays, with its chain, and so does
    # the chain of a manifest written since the listing (rule P; their chunks are in `freed`, so their packs
    # are condemned afresh below, after that backup began: rule D waits for it, and the next mark sees them).
    lock.renew()
    announced = bool(to_delete)
    if announced:
        vault.announce_manifest_deletions(to_delete)  # rule P: before the leases are read and manifests listed
        keep_what_stays_since(vault, listing, to_delete, _pins(vault.active_leases(clock())), report)
        # Still ours: a run that lost its lock meanwhile stops here, before the next one (which removes a stale
        # announcement) could see backups reference what it deletes.
        lock.renew()
    elif vault.has_manifest_deletions():
        # Left by a compaction killed before it removed it (we hold the lock: none is running); it would make
        # every backup whose parent it names write its whole manifest until some compaction deletes manifests.
        vault.clear_manifest_deletions()
    for key in to_delete:
        vault.bucket.delete(key)
        report.manifests_expired.append(key)
    if announced:
        vault.clear_manifest_deletions()

    # Rule 5: the index blobs, then the packs (a pack a listed blob names was stored before the blob).
    generations = GcGenerations(vault.bucket, vault.index.dynamodb, vault.index.table_name)
    previous = generations.current()
    state = GcState(generations.next_generation, {}, dict(previous.stamps))
    report.generation = state.generation
    view = vault.index.load(previous.condemned, problems=report.problems)
    try:
        sweeper = _Sweeper(vault, settings, report, live, freed, lock, previous, state)
        rule = DeletionRule(
            int(clock()), settings.grace_seconds, min((lease.started_at for lease in leases), default=None)
        )
        sweeper.view = view
        sweeper.run(view, rule)
        # Rules 6 and 7: the merged index and the generation are published before anything is deleted.
        sweeper.finish(view, generations, clock)
    finally:
        view.close()
        live.close()
    # A lease not renewed for the grace period belongs to a backup that stopped (F1): it protects nothing.
    for lease in vault.leases():
        if clock() - lease.heartbeat_at > settings.grace_seconds:
            vault.drop_lease(lease.job_id)
            report.leases_removed += 1
    return report


MERGE_PART_ENTRIES = 1_000_000  # ~49 MB per merged blob: a job streams them, none is huge


class _Sweeper:
    """One run's phases over the packs: condemn, collect what rule D allows, publish, then delete."""

    def __init__(self, vault, settings, report, live, freed, lock, previous: GcState, state: GcState):
        self.vault, self.settings, self.report = vault, settings, report
        self.live, self.freed, self.lock = live, freed, lock
        self.previous, self.state = previous, state
        self.codec = Codec()
        self.collect: list[tuple[str, int]] = []  # packs to delete once the merged index is published
        self.new_entries: list[IndexEntry] = []
        self.seen_live = DigestFilter(len(live))  # bounded (engine/bounded.py): `live - seen_live` is a report
        self.existing: set[str] = set()
        self.view = None
        self.writer = PackWriter(vault.bucket, settings.pack_bytes, on_stored=self.new_entries.extend)

    def run(self, view, rule: DeletionRule) -> None:
        packs = {info.key: info for info in self.vault.bucket.list(PACK_PREFIX)}
        self.existing = set(packs)
        # A pack only scan repair's blob names (bad copies) is not indexed: its own list says what else it holds.
        indexed = {key for key, entries in view.by_pack() if key in packs and not all(e.bad for e in entries)}
        for key, info in packs.items():
            if key in indexed:
                continue
            self.lock.keep_alive()
            try:
                chunks = read_chunk_list(self.vault.bucket, key, info.size)
            except PackFormatError as error:
                self.report.problems.append(f"{error}; the pack is kept")
                continue
            if chunks is None:
                self.report.packs_without_chunk_list += 1  # what it holds is unknown: never collected
                continue
            # Not in any index blob (an interrupted backup, a compaction that died before its merged blob, a lost
            # blob): indexed again from its own list, into the view before any pack is judged, so its copies count
            # as the duplicates they are (a crashed compaction's copies are not made a second time).
            view.add(IndexEntry(c.digest, key, c.offset, c.length, c.raw_length) for c in chunks)
            self.report.packs_not_indexed += 1
            indexed.add(key)
        for key, entries in view.by_pack():
            if key in indexed:
                self._consider(key, packs[key].size, entries, rule)
        self.writer.flush()
        missing = len(self.live - self.seen_live)
        self.report.live_chunks_not_indexed = missing
        if missing:
            self.report.problems.append(
                f"{missing} chunk(s) referenced by live manifests are in no index blob and no pack's chunk list "
                "(lost, or in packs written before chunk lists): nothing was deleted because of it; "
                "`python -m engine scan` names the recovery points affected"
            )
        if self.report.packs_not_indexed:
            self.report.problems.append(
                f"{self.report.packs_not_indexed} pack(s) were in no index blob: indexed again from their own "
                "chunk lists (an interrupted backup, or lost index blobs); nothing was deleted because of it"
            )

    def _live(self, key: str, digests: list[bytes]) -> set[bytes]:
        """The live chunks a condemned pack must keep: those without a usable copy in another pack that exists
        (a backup that saw the pack condemned stored them again; that copy is the one to keep)."""
        live = [d for d in digests if d in self.live]
        return set(live) - self.view.elsewhere(live, key, self.existing)

    def _own_chunks(self, key: str, size: int) -> list[IndexEntry] | None:
        """What the pack itself says it holds (never the index alone), or None when it cannot say."""
        try:
            chunks = read_chunk_list(self.vault.bucket, key, size)
        except PackFormatError as error:
            self.report.problems.append(f"{error}; the pack is kept")
            return None
        if chunks is None:
            self.report.packs_without_chunk_list += 1
            return None
        return [IndexEntry(c.digest, key, c.offset, c.length, c.raw_length) for c in chunks]

    def _consider(self, key: str, size: int, entries: list[IndexEntry], rule: DeletionRule) -> None:
        self.lock.keep_alive()
        report, state = self.report, self.state
        self.seen_live.update(e.digest for e in entries if e.digest in self.live)
        since = self.previous.condemned.get(key)
        if since is not None:
            # A condemned pack is judged by its own chunk list: whether it holds a chunk of a manifest deleted
            # in this run (invariant S) must not depend on the index.
            own = self._own_chunks(key, size)
            if own is None:
                state.condemned[key] = state.generation  # never collected on an old stamp it cannot check
                report.packs_waiting += 1
                return
            entries = own
            self.seen_live.update(e.digest for e in entries if e.digest in self.live)
        live = self._live(key, [e.digest for e in entries]) if since is not None else self.live
        total = sum(e.length for e in entries)
        live_bytes = sum(e.length for e in entries if e.digest in live)
        if total and live_bytes / total >= self.settings.rewrite_below:
            return  # not (or no longer) mostly dead: not condemned; a later condemnation starts afresh
        if since is None:
            state.condemned[key] = state.generation
            report.packs_condemned += 1
            report.chunks_condemned += sum(e.digest not in self.live for e in entries)
            return
        stamp = self.previous.stamps.get(since)
        if stamp is None or any(e.digest in self.freed for e in entries):
            # Its generation was never stamped, or a manifest holding one of its chunks was deleted only now:
            # condemned again from this generation, whose stamp is later than that deletion (invariant S).
            state.condemned[key] = state.generation
            report.packs_waiting += 1
            return
        if not rule.allows(stamp):
            state.condemned[key] = since
            report.packs_waiting += 1
            return
        if self.vault.bucket.is_retained(key):
            report.packs_retained += 1
            state.condemned[key] = since
            return
        keep = self._live(key, [e.digest for e in entries])
        # A live chunk goes with this pack only once another copy was read back and found whole: the index naming
        # a copy is not proof of it (bit rot, a stale entry, a pack gone since it was listed).
        duplicates = [e.digest for e in entries if e.digest in self.live and e.digest not in keep]
        keep |= self._unverified_duplicates(key, duplicates)
        live_chunks = [e for e in entries if e.digest in keep]
        frames = self._verified_frames(key, live_chunks)
        if frames is None:
            state.condemned[key] = since  # a live chunk is corrupt: kept; scan names the points affected
            return
        for entry in live_chunks:
            self.writer.add(entry.digest, frames[entry.digest], entry.raw_length)
        report.chunks_moved += len(live_chunks)
        report.chunks_deleted += sum(e.digest not in self.live for e in entries)
        report.packs_rewritten += bool(live_chunks)
        # Still condemned in the generation this run publishes: until the pack is gone, a backup that loads the
        # index (old blobs still name the pack) and this generation must not reuse a copy in it.
        state.condemned[key] = since
        self.collect.append((key, size))

    def _unverified_duplicates(self, key: str, digests: list[bytes]) -> set[bytes]:
        """Those of `digests` no other existing copy of which reads back whole (each copy tried in turn)."""
        waiting = set(digests)
        candidates = self.view.copies_elsewhere(digests, key, self.existing)
        for round_ in range(max((len(c) for c in candidates.values()), default=0)):
            by_pack: dict[str, list[IndexEntry]] = {}
            for digest in waiting:
                if round_ < len(candidates.get(digest, ())):
                    copy = candidates[digest][round_]
                    by_pack.setdefault(copy.pack_key, []).append(copy)
            for copies in by_pack.values():
                self.lock.keep_alive()
                try:
                    frames = read_frames(self.vault.bucket, copies)
                except MissingObjectError:
                    continue  # the pack went since it was listed: try the next copy
                for copy in copies:
                    if self._whole(frames.get(copy.digest), copy):
                        waiting.discard(copy.digest)
        if waiting:
            self.report.problems.append(
                f"{key}: {len(waiting)} live chunk(s) whose other copies the index names did not read back whole; "
                "copied from this pack instead (`python -m engine scan` flags the bad copies)"
            )
        return waiting

    def _whole(self, frame: bytes | None, entry: IndexEntry) -> bool:
        if frame is None or len(frame) != entry.length:
            return False
        try:
            return chunk_digest(self.codec.decompress(frame, entry.raw_length), self.vault.chunk_key) == entry.digest
        except Exception:
            return False

    def _verified_frames(self, key: str, live: list[IndexEntry]) -> dict[bytes, bytes] | None:
        if not live:
            return {}
        start, end = live[0].offset, max(c.offset + c.length for c in live)
        blob = self.vault.bucket.get(key, (start, end - start))
        frames = {}
        for chunk in live:
            frame = blob[chunk.offset - start : chunk.offset - start + chunk.length]
            try:
                ok = chunk_digest(self.codec.decompress(frame, chunk.raw_length), self.vault.chunk_key) == chunk.digest
            except Exception:
                ok = False
            if not ok:
                self.report.problems.append(f"{key}: live chunk {chunk.digest.hex()} is corrupt; pack kept")
                return None
            frames[chunk.digest] = frame
        return frames

    def finish(self, view, generations: GcGenerations, clock) -> None:
        index: ChunkIndex = self.vault.index
        going = {key for key, _ in self.collect}
        self.lock.renew()
        # The merged index: every copy of the packs that stay (bad flags kept; those found unindexed are in the
        # view too) and the copies just written. Stored before any blob or pack is deleted, so a reader always
        # finds a copy.
        part: list[IndexEntry] = []
        merged = []

        def add(entry: IndexEntry) -> None:
            part.append(entry)
            if len(part) >= MERGE_PART_ENTRIES:
                self.lock.keep_alive()
                merged.append(index.write_blob(part, "m"))
                part.clear()

        for key, entries in view.by_pack():
            if key in self.existing and key not in going:
                for entry in entries:
                    add(entry)
        for entry in self.new_entries:
            if entry.pack_key not in going:
                add(entry)
        if part:
            merged.append(index.write_blob(part, "m"))
        self.lock.renew()  # writing the merged blobs may outlast the lock: never publish without it
        generations.publish(self.state, clock)
        self.lock.renew()
        for key in view.blobs:
            index.bucket.delete(key)
        for key, size in self.collect:
            self.vault.bucket.delete(key)
            self.report.packs_deleted.append(key)
            self.report.bytes_reclaimed += size
        self.report.bytes_reclaimed -= self.writer.bytes_written

"""The `compact` job: expire manifests, then collect chunks no manifest references, in two phases.

The argument for why this never deletes a chunk a recovery point needs is in engine/README.md ("Why
compaction is safe"); the rules it relies on, in the order a run applies them:
1. One compaction per vault at a time (engine/lock.py), renewed before every destructive step.
2. Leases are read, then expired manifests are chosen: an expired manifest that an active lease pins (a
   running backup copies from it), or that object lock retains, is kept.
3. Mark: every manifest in the bucket except those about to be deleted. Liveness comes from manifests only;
   the index is never a reason to delete, and a live chunk the index lacks is a reported inconsistency.
4. The chosen manifests are deleted (leases are read again first: one pinned meanwhile is kept).
5. Condemn: index entries of unmarked chunks get `condemnedAt = now` (phase one); marked ones lose it.
6. Sweep (phase two): a pack is collected only when every unmarked chunk it lists is deletable: its entry
   was condemned at least `grace_seconds` ago and no active lease began before it was condemned (or, with no
   entry, the pack itself is that old). Dead entries are deleted on the condition that they are still
   condemned with the same stamp (a backup that reused one revived it, and then the pack stays); live chunks
   are verified, copied into a new pack and their entries moved; only then is the old pack deleted.
Packs are read for their own chunk list (packs.py), so a pack's contents never come from the index alone.
A pack without a list (written before lists existed) or with a damaged one is never deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from tests.engine.vendor.engine_75dc482.chunking import Codec, chunk_digest
from tests.engine.vendor.engine_75dc482.index import IndexEntry
from tests.engine.vendor.engine_75dc482.jobs import JobRecord
from tests.engine.vendor.engine_75dc482.lock import CompactionBusy, CompactionLock, LockLost
from tests.engine.vendor.engine_75dc482.packs import (
    DEFAULT_PACK_BYTES,
    PACK_PREFIX,
    PackedChunk,
    PackFormatError,
    PackInfo,
    PackWriter,
    read_chunk_list,
)
from tests.engine.vendor.engine_75dc482.vault import CLOCK_SKEW_SECONDS, MAX_BACKUP_SECONDS, Lease, Vault

__all__ = ["CompactionBusy", "CompactionReport", "CompactionSettings", "LockLost", "run_compaction"]


@dataclass(frozen=True)
class CompactionSettings:
    rewrite_below: float = 0.5  # rewrite a pack when less than this share of its chunk bytes is live
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
    manifests_unregistered: list[str] = field(default_factory=list)  # the Catalog never had them: expired too
    leases_removed: int = 0  # of backups that stopped long ago without dropping them
    chunks_condemned: int = 0
    chunks_deleted: int = 0
    chunks_moved: int = 0
    packs_rewritten: int = 0
    packs_deleted: list[str] = field(default_factory=list)
    packs_retained: int = 0
    packs_waiting: int = 0  # hold unreferenced chunks still inside their grace period
    packs_without_chunk_list: int = 0
    live_chunks_not_indexed: int = 0
    bytes_reclaimed: int = 0
    recovery_points_forgotten: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "manifestsExpired": len(self.manifests_expired),
            "manifestsRetained": len(self.manifests_retained),
            "manifestsPinned": len(self.manifests_pinned),
            "manifestsUnregistered": len(self.manifests_unregistered),
            "leasesRemoved": self.leases_removed,
            "chunksCondemned": self.chunks_condemned,
            "chunksDeleted": self.chunks_deleted,
            "chunksMoved": self.chunks_moved,
            "packsRewritten": self.packs_rewritten,
            "packsDeleted": len(self.packs_deleted),
            "packsRetained": self.packs_retained,
            "packsWaiting": self.packs_waiting,
            "packsWithoutChunkList": self.packs_without_chunk_list,
            "liveChunksNotIndexed": self.live_chunks_not_indexed,
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
        report = _compact(vault, set(expired_manifest_keys), settings, clock, lock)
    finally:
        lock.release()
    job.result(report.as_dict())
    return report


def _pins(leases: list[Lease]) -> set[str]:
    return {key for lease in leases for key in lease.pinned_manifests}


def _compact(vault: Vault, expired: set[str], settings, clock, lock: CompactionLock) -> CompactionReport:
    report = CompactionReport()
    # Rule 2: leases first, then what may be deleted.
    pinned = _pins(vault.active_leases(clock()))
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

    # Rule 3: mark from every manifest but those about to go.
    live: set[bytes] = set()
    freed: set[bytes] = set()  # chunks of the manifests about to go
    for key in vault.manifest_keys():
        digests = vault.read_manifest(key).digests()
        if key in to_delete:
            freed |= digests
        else:
            live |= digests
    freed -= live

    # Rule 4: delete the chosen manifests; one a backup pinned since rule 2 stays (its chunks are safe anyway:
    # their stamps below are later than that backup's start, so rule D waits for it).
    lock.renew()
    pinned = _pins(vault.active_leases(clock()))
    for key in to_delete:
        if key in pinned:
            report.manifests_pinned.append(key)
            continue
        vault.bucket.delete(key)
        report.manifests_expired.append(key)

    # Rule 5: stamp what is unmarked, from now (after the deletions), and clear the stamp of marked chunks. A
    # chunk a deleted manifest referenced is stamped afresh even if an earlier run condemned it: its stamp
    # must be later than the last moment any manifest could be read for it.
    condemned_at = int(clock())
    entries: dict[bytes, IndexEntry] = {}
    for entry in vault.index.scan():
        if entry.digest in live:
            if entry.condemned_at is not None:
                vault.index.revive(entry)
                entry = replace(entry, condemned_at=None)
        elif entry.condemned_at is None:
            report.chunks_condemned += vault.index.condemn(entry, condemned_at)
            # Condemned just now (or changed meanwhile, which is no better): not deletable in this run.
            entry = replace(entry, condemned_at=condemned_at)
        elif entry.digest in freed:
            vault.index.restamp(entry, condemned_at)
            entry = replace(entry, condemned_at=condemned_at)
        entries[entry.digest] = entry

    # Rule 6: sweep, pack by pack.
    leases = vault.active_leases(clock())
    rule = DeletionRule(int(clock()), settings.grace_seconds, min((lease.started_at for lease in leases), default=None))
    sweeper = _Sweeper(vault, settings, report, entries, live, rule, lock, condemned_at)
    packs = list(vault.bucket.list(PACK_PREFIX))
    for pack in packs:
        sweeper.consider(pack)
    sweeper.finish()
    _report_unindexed(live, entries, report)
    # A lease not renewed for the grace period belongs to a backup that stopped (F1): it protects nothing.
    for lease in vault.leases():
        if clock() - lease.heartbeat_at > settings.grace_seconds:
            vault.drop_lease(lease.job_id)
            report.leases_removed += 1
    return report


def _report_unindexed(live: set[bytes], entries: dict[bytes, IndexEntry], report) -> None:
    """Live chunks the index does not know: an inconsistency to report and repair, never a reason to delete."""
    missing = [d for d in live if d not in entries]
    report.live_chunks_not_indexed = len(missing)
    if missing:
        report.problems.append(
            f"{len(missing)} chunk(s) referenced by live manifests have no index entry (e.g. {missing[0].hex()}): "
            "the index disagrees with the manifests; nothing was deleted because of it. Run "
            "`python -m engine rebuild-index` to index them again from the packs"
        )


class _Sweeper:
    """Phase two of one run: collects packs whose unreferenced chunks are all past their grace."""

    def __init__(self, vault, settings, report, entries, live, rule: DeletionRule, lock, condemned_at):
        self.vault, self.settings, self.report = vault, settings, report
        self.entries, self.live, self.rule, self.lock = entries, live, rule, lock
        self.codec = Codec()
        self.moved_from: dict[bytes, tuple[str, IndexEntry | None]] = {}
        self.emptied: list[tuple[PackInfo, list[PackedChunk]]] = []
        self.writer = PackWriter(
            vault.bucket, vault.index, settings.pack_bytes, epoch=lambda: condemned_at, on_stored=self._index_copies
        )

    def consider(self, pack: PackInfo) -> None:
        report = self.report
        try:
            chunks = read_chunk_list(self.vault.bucket, pack.key, pack.size)
        except PackFormatError as error:
            report.problems.append(f"{error}; the pack is kept")
            return
        if chunks is None:
            report.packs_without_chunk_list += 1  # it may hold chunks the index forgot: never collected
            return
        live = [c for c in chunks if c.digest in self.live]
        dead = [c for c in chunks if c.digest not in self.live]
        frame_bytes = sum(c.length for c in chunks)
        if not dead or (frame_bytes and sum(c.length for c in live) / frame_bytes >= self.settings.rewrite_below):
            return
        dead_entries, waiting = [], False
        for chunk in dead:
            entry = self.entries.get(chunk.digest)
            if entry is None:
                # Unindexed (an interrupted backup, a damaged index): index it as condemned from now, so
                # rule D counts from a moment after anything could have referenced it.
                entry = IndexEntry(
                    chunk.digest, pack.key, chunk.offset, chunk.length, chunk.raw_length, self.rule.now, self.rule.now
                )
                self.vault.index.add_if_absent(entry)
                self.entries[chunk.digest] = entry
                waiting = True
            elif entry.pack_key == pack.key:
                if entry.condemned_at is None or not self.rule.allows(entry.condemned_at):
                    waiting = True
                dead_entries.append(entry)
            # else: the index points at another copy; this one is unreachable
        if waiting:
            report.packs_waiting += 1
            return
        if self.vault.bucket.is_retained(pack.key):
            report.packs_retained += 1
            return
        frames = self._verified_frames(pack, live)
        if frames is None:
            return
        self.lock.renew()
        for entry in dead_entries:
            if not self.vault.index.delete_condemned(entry):
                # A backup revived it: it is referenced again, so this pack stays (a later run decides again).
                report.packs_waiting += 1
                return
            report.chunks_deleted += 1
        for chunk in live:
            entry = self.entries.get(chunk.digest)
            if entry is not None and entry.pack_key != pack.key:
                continue  # indexed in another pack already
            if chunk.digest not in self.moved_from:
                self.moved_from[chunk.digest] = (pack.key, entry)
                self.writer.add(chunk.digest, frames[chunk.digest], chunk.raw_length)
        report.packs_rewritten += bool(live)
        self.emptied.append((pack, live))

    def _verified_frames(self, pack: PackInfo, live: list[PackedChunk]) -> dict[bytes, bytes] | None:
        if not live:
            return {}
        start, end = live[0].offset, max(c.offset + c.length for c in live)
        blob = self.vault.bucket.get(pack.key, (start, end - start))
        frames = {}
        for chunk in live:
            frame = blob[chunk.offset - start : chunk.offset - start + chunk.length]
            try:
                ok = chunk_digest(self.codec.decompress(frame, chunk.raw_length), self.vault.chunk_key) == chunk.digest
            except Exception:
                ok = False
            if not ok:
                self.report.problems.append(f"{pack.key}: live chunk {chunk.digest.hex()} is corrupt; pack kept")
                return None
            frames[chunk.digest] = frame
        return frames

    def _index_copies(self, new_entries: list[IndexEntry]) -> None:
        for new in new_entries:
            old_pack, old_entry = self.moved_from[new.digest]
            if old_entry is not None:
                moved = self.vault.index.repoint(old_entry, new.pack_key, new.offset, new.length)
            else:
                moved = self.vault.index.add_if_absent(new)  # a live chunk the index had lost: indexed again
            self.report.chunks_moved += moved

    def finish(self) -> None:
        self.writer.flush()
        self.lock.renew()
        for pack, live in self.emptied:
            still_needed = [
                c.digest
                for c in live
                if (current := self.vault.index.get(c.digest)) is None or current.pack_key == pack.key
            ]
            if still_needed:
                continue  # an entry was not moved (a race lost): the pack stays for a later run
            self.vault.bucket.delete(pack.key)
            self.report.packs_deleted.append(pack.key)
            self.report.bytes_reclaimed += pack.size
        self.report.bytes_reclaimed -= self.writer.bytes_written

"""The `compact` job: expire manifests, then reclaim chunks no live manifest references (mark, then sweep).

Safety, also while backups run:
- *Live* chunks are those any current manifest references, those a running backup pinned (its parent's),
  and any chunk a backup stored or reused since `cutoff` (the start of the oldest running backup, minus a
  clock-skew margin). Only the rest is *dead*.
- A dead index entry is deleted only on the condition that its epoch is unchanged, and a backup reuses an
  entry only on the condition that it still exists: whichever happens first wins, and the loser adapts
  (the backup stores the chunk again; compaction keeps it).
- A pack is rewritten only when its live share is below `rewrite_below`: live chunks are copied into a new
  pack and their index entries moved, and only then is the old pack deleted. Packs newer than `cutoff`
  (a running backup may not have indexed them yet) and packs under object-lock retention are not touched.
- In the versioned bucket, deleting adds a delete marker; the bucket's lifecycle rule removes old versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.chunking import Codec, chunk_digest
from engine.index import IndexEntry
from engine.jobs import JobRecord
from engine.packs import DEFAULT_PACK_BYTES, PACK_PREFIX, PackWriter, read_frames
from engine.vault import Vault


@dataclass(frozen=True)
class CompactionSettings:
    rewrite_below: float = 0.5  # rewrite a pack when less than this share of its bytes is live
    lease_ttl_seconds: int = 6 * 3600  # a backup lease without a heartbeat for this long is abandoned
    clock_skew_seconds: int = 300
    pack_bytes: int = DEFAULT_PACK_BYTES


@dataclass
class CompactionReport:
    manifests_expired: list[str] = field(default_factory=list)
    manifests_retained: list[str] = field(default_factory=list)  # object lock: expire them later
    chunks_deleted: int = 0
    chunks_moved: int = 0
    packs_rewritten: int = 0
    packs_deleted: list[str] = field(default_factory=list)
    packs_retained: int = 0
    bytes_reclaimed: int = 0
    recovery_points_forgotten: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "manifestsExpired": len(self.manifests_expired),
            "manifestsRetained": len(self.manifests_retained),
            "chunksDeleted": self.chunks_deleted,
            "chunksMoved": self.chunks_moved,
            "packsRewritten": self.packs_rewritten,
            "packsDeleted": len(self.packs_deleted),
            "packsRetained": self.packs_retained,
            "bytesReclaimed": self.bytes_reclaimed,
            "recoveryPointsForgotten": self.recovery_points_forgotten,
            "problems": self.problems[:20],
        }


def run_compaction(
    vault: Vault,
    job: JobRecord,
    expired_manifest_keys: Iterable[str] = (),
    settings: CompactionSettings = CompactionSettings(),
    clock: Callable[[], float] = time.time,
) -> CompactionReport:
    job.running()
    report = CompactionReport()
    now = int(clock())
    # Leases before manifests: a backup that finishes in between is seen by one or the other.
    leases = [lease for lease in vault.leases() if now - lease.heartbeat_at <= settings.lease_ttl_seconds]
    cutoff = min([now, *(lease.started_at for lease in leases)]) - settings.clock_skew_seconds
    pinned = {key for lease in leases for key in lease.pinned_manifests}

    expired = set(expired_manifest_keys)
    for key in sorted(expired):
        if vault.bucket.exists(key) and vault.bucket.is_retained(key):
            report.manifests_retained.append(key)
    expired -= set(report.manifests_retained)

    live: set[bytes] = set()
    for key in vault.manifest_keys():
        if key not in expired or key in pinned:
            live |= vault.read_manifest(key).digests()
    for key in sorted(expired):
        if vault.bucket.exists(key):
            vault.bucket.delete(key)
            report.manifests_expired.append(key)

    entries_by_pack: dict[str, list[IndexEntry]] = {}
    for entry in vault.index.scan():
        entries_by_pack.setdefault(entry.pack_key, []).append(entry)

    moved_from: dict[bytes, IndexEntry] = {}

    def repoint(new_entries: list[IndexEntry]) -> None:
        for new in new_entries:
            if vault.index.repoint(moved_from[new.digest], new.pack_key, new.offset, new.length):
                report.chunks_moved += 1

    writer = PackWriter(vault.bucket, vault.index, settings.pack_bytes, epoch=lambda: now, on_stored=repoint)
    codec = Codec()
    emptied: list[tuple[str, int]] = []
    for pack in list(vault.bucket.list(PACK_PREFIX)):
        if pack.last_modified.timestamp() >= cutoff:
            continue  # a running backup may not have indexed it yet
        entries = entries_by_pack.get(pack.key, [])
        live_bytes = sum(e.length for e in entries if e.digest in live or e.epoch >= cutoff)
        if pack.size and live_bytes / pack.size >= settings.rewrite_below:
            continue
        if vault.bucket.is_retained(pack.key):
            report.packs_retained += 1
            continue
        keep: list[IndexEntry] = []
        for entry in entries:
            if entry.digest in live or entry.epoch >= cutoff:
                keep.append(entry)
            elif vault.index.delete_if_unchanged(entry):
                report.chunks_deleted += 1
            else:
                current = vault.index.get(entry.digest)  # a backup reused it meanwhile: it lives
                if current is not None and current.pack_key == pack.key:
                    keep.append(current)
        if keep and not _copy_live_chunks(vault, writer, codec, keep, moved_from, report):
            continue
        emptied.append((pack.key, pack.size))
    writer.flush()
    for key, size in emptied:
        moved = [e for e in moved_from.values() if e.pack_key == key]
        if not any(_still_points_at(vault, e, key) for e in moved):
            vault.bucket.delete(key)
            report.packs_deleted.append(key)
            report.bytes_reclaimed += size
    report.bytes_reclaimed -= writer.bytes_written
    job.result(report.as_dict())
    return report


def _copy_live_chunks(vault, writer, codec, keep, moved_from, report) -> bool:
    """Copy verified live chunks into the new pack; a pack with a bad live chunk is left as it is."""
    frames = read_frames(vault.bucket, keep)
    for entry in keep:
        frame = frames.get(entry.digest, b"")
        try:
            ok = chunk_digest(codec.decompress(frame, entry.raw_length)) == entry.digest
        except Exception:
            ok = False
        if not ok:
            report.problems.append(f"{entry.pack_key}: live chunk {entry.digest.hex()} is corrupt; pack kept")
            return False
    for entry in keep:
        if entry.digest not in moved_from:
            moved_from[entry.digest] = entry
            writer.add(entry.digest, frames[entry.digest], entry.raw_length)
    report.packs_rewritten += 1
    return True


def _still_points_at(vault: Vault, entry: IndexEntry, pack_key: str) -> bool:
    current = vault.index.get(entry.digest)
    return current is not None and current.pack_key == pack_key

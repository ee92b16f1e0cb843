"""`python -m engine rebuild-index`: the index blobs again, from the packs' own chunk lists.

The index is a cache of where chunks are (index.py); the packs are the truth (packs.py). Rebuilding reads
every pack's chunk list and writes merged index blobs naming every listed chunk (and, for a pack whose list is
damaged or absent, what the old blobs said it holds), keeps the bad flags scan repair set on copies in packs
that still exist, and then deletes every index blob it found before (lost,
stale or damaged ones included). It holds the compaction lock, so no compaction deletes a pack it is
indexing; a blob a backup writes meanwhile is not touched. Condemnation is not the index's business
(engine/gcstate.py), so nothing becomes deletable sooner than rule D allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.index import IndexEntry, IndexFormatError
from engine.jobs import JobRecord
from engine.lock import CompactionLock
from engine.packs import PACK_PREFIX, MissingObjectError, PackFormatError, read_chunk_list
from engine.upgrade import record_fence, record_index_migrated
from engine.vault import Vault

LOCK_TTL_SECONDS = 15 * 60


@dataclass
class RebuildReport:
    packs_read: int = 0
    packs_without_chunk_list: list[str] = field(default_factory=list)
    packs_damaged: list[str] = field(default_factory=list)
    entries_added: int = 0  # copies no readable index blob named
    entries_dropped: int = 0  # named a pack that no longer exists
    blobs_replaced: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "packsRead": self.packs_read,
            "packsWithoutChunkList": len(self.packs_without_chunk_list),
            "packsDamaged": len(self.packs_damaged),
            "entriesAdded": self.entries_added,
            "entriesDropped": self.entries_dropped,
            "blobsReplaced": self.blobs_replaced,
            "problems": self.problems[:20],
        }


def rebuild_index(vault: Vault, job: JobRecord, clock: Callable[[], float] = time.time) -> RebuildReport:
    job.running()
    lock = CompactionLock(
        vault.index.dynamodb, vault.index.table_name, vault.name, job.job_id, LOCK_TTL_SECONDS, clock
    )
    lock.acquire()
    try:
        record_fence(vault)  # the lock item carries the fence (engine/lock.py)
        report = rebuild_under_lock(vault, lock)
    finally:
        lock.release()
    job.result(report.as_dict())
    return report


def rebuild_under_lock(vault: Vault, lock: CompactionLock) -> RebuildReport:
    """The rebuild, then `indexMigrated` recorded (engine/upgrade.py): the blobs now name every pack."""
    report = _rebuild(vault, lock)
    record_index_migrated(vault)
    return report


def _rebuild(vault: Vault, lock: CompactionLock) -> RebuildReport:
    report = RebuildReport()
    old_blobs = vault.index.blob_keys()
    known: set[tuple[bytes, str]] = set()
    bad: set[tuple[bytes, str]] = set()
    by_pack: dict[str, dict[bytes, IndexEntry]] = {}  # for packs that cannot list their chunks: kept as they were
    for key in old_blobs:
        try:
            for entry in vault.index.read_blob(key):
                known.add((entry.digest, entry.pack_key))
                by_pack.setdefault(entry.pack_key, {})[entry.digest] = entry
                if entry.bad:
                    bad.add((entry.digest, entry.pack_key))
        except (MissingObjectError, IndexFormatError) as error:
            report.problems.append(f"{error}; replaced")
    packs = list(vault.bucket.list(PACK_PREFIX))
    existing = {pack.key for pack in packs}
    report.entries_dropped = sum(pack not in existing for _, pack in known)
    entries: list[IndexEntry] = []
    for pack in packs:
        lock.keep_alive()
        try:
            chunks = read_chunk_list(vault.bucket, pack.key, pack.size)
        except PackFormatError as error:
            report.packs_damaged.append(pack.key)
            report.problems.append(str(error))
            chunks = None
        else:
            report.packs_read += 1
            if chunks is None:
                report.packs_without_chunk_list.append(pack.key)
        if chunks is None:
            # What the old blobs said it holds stays (restores verify every chunk's hash): dropping it would make
            # points whose frames are intact unrestorable.
            entries.extend(
                IndexEntry(e.digest, e.pack_key, e.offset, e.length, e.raw_length, (e.digest, e.pack_key) in bad)
                for e in by_pack.get(pack.key, {}).values()
            )
            continue
        for chunk in chunks:
            copy = (chunk.digest, pack.key)
            report.entries_added += copy not in known
            entries.append(
                IndexEntry(chunk.digest, pack.key, chunk.offset, chunk.length, chunk.raw_length, copy in bad)
            )
    unlisted = {key for key in report.packs_without_chunk_list if key not in by_pack}
    if unlisted:
        # Packs from before chunk lists, in a vault upgraded from the DynamoDB index: its old items say what
        # they hold (restores verify every chunk's hash, so a wrong item costs a failed read, never wrong bytes).
        legacy = list(vault.index.legacy_entries(unlisted))
        report.entries_added += len(legacy)
        entries.extend(legacy)
        lock.keep_alive()
    lock.renew()
    vault.index.write_blob(entries, "m")
    for key in old_blobs:
        vault.bucket.delete(key)
    report.blobs_replaced = len(old_blobs)
    if report.packs_without_chunk_list:
        report.problems.append(
            f"{len(report.packs_without_chunk_list)} pack(s) predate chunk lists (e.g. "
            f"{report.packs_without_chunk_list[0]}): indexed from the old per-chunk items where the table has them; "
            "compaction never collects them"
        )
    return report

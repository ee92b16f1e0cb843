"""`python -m engine rebuild-index`: the dedup index again, from the packs' own chunk lists.

The index is a cache of where chunks are (index.py); the packs are the truth (packs.py). Rebuilding reads
every pack's chunk list, drops entries whose pack no longer exists, and indexes every listed chunk the index
lacks, each with a conditional write (an entry a backup wrote meanwhile wins). It holds the compaction lock,
so no compaction deletes a pack it is indexing. Entries of chunks no manifest references get no stamp here;
the next compaction condemns them, so nothing becomes deletable sooner than the grace period allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.index import IndexEntry
from engine.jobs import JobRecord
from engine.lock import CompactionLock
from engine.packs import PACK_PREFIX, PackFormatError, read_chunk_list
from engine.vault import Vault

LOCK_TTL_SECONDS = 15 * 60


@dataclass
class RebuildReport:
    packs_read: int = 0
    packs_without_chunk_list: list[str] = field(default_factory=list)
    packs_damaged: list[str] = field(default_factory=list)
    entries_added: int = 0
    entries_dropped: int = 0  # pointed at a pack that no longer exists
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "packsRead": self.packs_read,
            "packsWithoutChunkList": len(self.packs_without_chunk_list),
            "packsDamaged": len(self.packs_damaged),
            "entriesAdded": self.entries_added,
            "entriesDropped": self.entries_dropped,
            "problems": self.problems[:20],
        }


def rebuild_index(vault: Vault, job: JobRecord, clock: Callable[[], float] = time.time) -> RebuildReport:
    job.running()
    lock = CompactionLock(
        vault.index.dynamodb, vault.index.table_name, vault.name, job.job_id, LOCK_TTL_SECONDS, clock
    )
    lock.acquire()
    try:
        report = _rebuild(vault, lock, int(clock()))
    finally:
        lock.release()
    job.result(report.as_dict())
    return report


def _rebuild(vault: Vault, lock: CompactionLock, now: int) -> RebuildReport:
    report = RebuildReport()
    located: dict[bytes, IndexEntry] = {}  # the first copy of each chunk found in a pack
    packs = list(vault.bucket.list(PACK_PREFIX))
    for pack in packs:
        try:
            chunks = read_chunk_list(vault.bucket, pack.key, pack.size)
        except PackFormatError as error:
            report.packs_damaged.append(pack.key)
            report.problems.append(str(error))
            continue
        report.packs_read += 1
        if chunks is None:
            report.packs_without_chunk_list.append(pack.key)
            continue
        for chunk in chunks:
            located.setdefault(
                chunk.digest, IndexEntry(chunk.digest, pack.key, chunk.offset, chunk.length, chunk.raw_length, now)
            )
    existing = {pack.key for pack in packs}
    lock.renew()
    indexed: set[bytes] = set()
    for entry in vault.index.scan():
        if entry.pack_key in existing:
            indexed.add(entry.digest)
        elif vault.index.forget(entry.digest, entry.pack_key):
            report.entries_dropped += 1
    for digest, entry in located.items():
        if digest not in indexed and vault.index.add_if_absent(entry):
            report.entries_added += 1
    if report.packs_without_chunk_list:
        report.problems.append(
            f"{len(report.packs_without_chunk_list)} pack(s) predate chunk lists (e.g. "
            f"{report.packs_without_chunk_list[0]}): their chunks are indexed only where entries survived"
        )
    return report

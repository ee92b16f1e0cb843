"""A vault's first job under this engine finishes the vault's upgrade: nobody has to run anything by hand.

Every job calls `prepare_vault` before it writes anything or loads the index (engine/README.md, "Upgrading a
vault"). Once a vault's `config/vault.json` carries both markers it costs nothing (the job reads that object
anyway). Until then, in this order:

1. The fence (engine/lock.py): the lock item is made to refuse engines from before the S3 index for good, waiting
   while such an engine's compaction holds it. Then `oldEnginesFenced: true` is recorded, and with it
   `manifestFormat: 3`: only those engines could not see version-3 manifests (they list `*.json`), and from now on
   none of them can compact the vault, the only job of theirs that deletes anything.
2. The index: a vault that has packs but no index blob, or still holds the per-chunk items of the DynamoDB index,
   is indexed again from its packs (engine/rebuild.py, which reads those items for packs without chunk lists),
   under the vault lock, and `indexMigrated: true` is recorded. Without it a backup would store every chunk again
   and a restore of a point written before the upgrade would find none of its chunks.

Crash-safe at every write: the fence and the markers are idempotent, and the rebuild stores its merged blob before
it deletes any blob it replaces and deletes no pack, so a job killed anywhere leaves every point restorable and
the next job does what is left. Two first jobs: one takes the lock, the other waits for it and then finds the
marker set.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from engine.index import STATE_KEY_PREFIX
from engine.lock import OLD_LOCK_POLL_SECONDS, CompactionBusy, CompactionLock, place_fence
from engine.packs import PACK_PREFIX
from engine.vaultconfig import FENCED_MARKER, MIGRATED_MARKER, update_document

MIGRATION_LOCK_TTL_SECONDS = 15 * 60
LOCK_WAIT_SECONDS = 3600  # for another job's compaction or migration to end; then the job goes on without


def prepare_vault(
    vault,
    job_id: str,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    lock: CompactionLock | None = None,
    wait_seconds: int = LOCK_WAIT_SECONDS,
) -> None:
    """`lock`: the vault lock the caller already holds (compaction, rebuild-index); it carries the fence."""
    config = vault.config
    if not config.old_engines_fenced:
        if lock is None:
            place_fence(vault.index.dynamodb, vault.index.table_name, vault.name, clock, sleep, wait_seconds)
        _record(vault, _fenced)
    if not vault.config.index_migrated:
        _migrate_index(vault, job_id, clock, sleep, lock, wait_seconds)


def record_fence(vault) -> None:
    """The caller holds the vault lock (so the fence is in place): record it in the configuration."""
    if not vault.config.old_engines_fenced:
        _record(vault, _fenced)


def record_index_migrated(vault) -> None:
    if not vault.config.index_migrated:
        _record(vault, _migrated)


def _fenced(document: dict) -> dict | None:
    if document.get(FENCED_MARKER) is True:
        return None
    # The automatic switch to version-3 manifests, once (engine/README.md, "Upgrading a vault").
    return {**document, FENCED_MARKER: True, "manifestFormat": 3}


def _migrated(document: dict) -> dict | None:
    return None if document.get(MIGRATED_MARKER) is True else {**document, MIGRATED_MARKER: True}


def _record(vault, change) -> None:
    stored = update_document(vault.bucket, change)
    vault.__dict__["config"] = dataclasses.replace(
        vault.config,
        manifest_format=int(stored.get("manifestFormat", 2)),
        old_engines_fenced=stored.get(FENCED_MARKER) is True,
        index_migrated=stored.get(MIGRATED_MARKER) is True,
    )


def needs_index_migration(vault) -> bool:
    """Packs but no index blob (a vault of the DynamoDB index), or per-chunk items left by it."""
    if not vault.bucket.holds_any(PACK_PREFIX):
        return False
    return not vault.index.blob_keys() or holds_legacy_items(vault.index)


def holds_legacy_items(index) -> bool:
    """One page of at most 10 items: the table's own state is two items (lock, generation); anything else is a
    per-chunk item of the DynamoDB index."""
    page = index.dynamodb.scan(TableName=index.table_name, Limit=10, ProjectionExpression="chunkHash")
    return any(not item["chunkHash"]["S"].startswith(STATE_KEY_PREFIX) for item in page.get("Items", []))


def _migrate_index(vault, job_id, clock, sleep, lock, wait_seconds) -> None:
    from engine.rebuild import rebuild_under_lock  # rebuild imports this module

    if not needs_index_migration(vault):
        record_index_migrated(vault)
        return
    if lock is not None:
        rebuild_under_lock(vault, lock)
        return
    lock = CompactionLock(
        vault.index.dynamodb, vault.index.table_name, vault.name, job_id, MIGRATION_LOCK_TTL_SECONDS, clock
    )
    deadline = clock() + wait_seconds
    while True:
        try:
            lock.acquire()
            break
        except CompactionBusy:
            if clock() >= deadline:
                return  # the holder (a compaction, another first job) migrates; this job goes on without
            sleep(OLD_LOCK_POLL_SECONDS)
    try:
        vault.__dict__.pop("config", None)  # another job may have migrated while we waited
        if not vault.config.index_migrated:
            rebuild_under_lock(vault, lock)
    finally:
        lock.release()

"""One compaction per vault at a time: a lock item with an expiry in the vault's table; and the fence that keeps
engines from before the S3 index out of a vault this engine has written to.

restic's prune takes an exclusive repository lock and kopia lets only the maintenance owner collect garbage:
two collectors interleaving their mark and sweep could each see the other's half-done work. The lock item
(`chunkHash = "#lock/compaction"`) is taken and renewed with a conditional UpdateItem (UpdateItem creates the
item when absent) and expires `ttl` seconds after its last renewal, so a compaction whose task was killed
blocks the vault for at most that long. A holder renews before every destructive step and stops when it
cannot (its lock may have expired and been taken): like restic since 0.16, it never goes on without it.

The fence (engine/README.md, "Upgrading a vault"). Engines before the S3 index (the last is commit 75dc482)
took the same item with `owner`/`expiresAt` and the condition `attribute_not_exists(chunkHash) OR expiresAt <
:now OR owner = :me`, and renewed it with `owner = :me AND expiresAt >= :now` before every destructive step. Their
compaction decides liveness from `*.json` manifests and the per-chunk items only, so in a vault this engine
writes to it would delete packs that version-3 manifests and index blobs need. A Batch job keeps the job
definition revision it was submitted with, so such a job can still start after `pulumi up`. This engine
therefore never leaves that item takeable by them: it writes `owner = FENCE_OWNER` and `expiresAt =
FENCE_EXPIRES` (year 9999) and keeps its own holder in `holder`/`heldUntil`; releasing removes only those. An
old acquire finds the condition false and stops with CompactionBusy before it reads or deletes anything; an
old holder whose lock lapsed fails its next renewal (LockLost) before its next deletion. The fence is placed
only when no old lock is live (`expiresAt < now`): while an old compaction holds the item, this engine waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from elastio_contract.tables import VAULT_TABLE_KEY

LOCK_KEY = "#lock/compaction"
# What engines before the S3 index check (their owner and expiry): never theirs, never expired.
FENCE_OWNER = "fence: this vault is written by an engine with the index in S3; older engines must not compact it"
FENCE_EXPIRES = 253402300799  # 9999-12-31T23:59:59Z
OLD_LOCK_WAIT_SECONDS = 3600  # how long a job waits for an old-image compaction to finish before it gives up
OLD_LOCK_POLL_SECONDS = 30


class CompactionBusy(RuntimeError):
    pass


class LockLost(RuntimeError):
    pass


class OldEngineCompacting(RuntimeError):
    """A compaction of an engine from before the S3 index holds the vault's lock: nothing may be written."""


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _key() -> dict:
    return {VAULT_TABLE_KEY.hash_key: {"S": LOCK_KEY}}


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _read(db, table: str) -> dict:
    return db.get_item(TableName=table, Key=_key(), ConsistentRead=True).get("Item", {})


def _old_holder(item: dict) -> tuple[str, int]:
    return item.get("owner", {}).get("S", "an old-image compaction"), int(item.get("expiresAt", {}).get("N", "0"))


def place_fence(
    db,
    table: str,
    vault_name: str,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: int = OLD_LOCK_WAIT_SECONDS,
) -> None:
    """Make the lock item refuse engines from before the S3 index, for good (idempotent: one UpdateItem). Waits
    while such an engine's compaction holds it (it renews before every step, so it is alive), then gives up
    with OldEngineCompacting having written nothing."""
    deadline = clock() + wait_seconds
    while True:
        now = int(clock())
        try:
            db.update_item(
                TableName=table,
                Key=_key(),
                UpdateExpression="SET #owner = :fence, expiresAt = :forever",
                ConditionExpression="attribute_not_exists(chunkHash) OR expiresAt < :now OR #owner = :fence",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":fence": {"S": FENCE_OWNER},
                    ":forever": {"N": str(FENCE_EXPIRES)},
                    ":now": {"N": str(now)},
                },
            )
            return
        except ClientError as error:
            if not _condition_failed(error):
                raise
        holder, until = _old_holder(_read(db, table))
        if clock() >= deadline:
            raise OldEngineCompacting(
                f"vault {vault_name}: compaction {holder} of the engine image from before the index moved to S3 "
                f"holds the vault's lock (until {_iso(until)} unless renewed); this job waited {wait_seconds} s "
                "and wrote nothing. Run it again once that job has ended (it was queued before `pulumi up`)"
            )
        sleep(min(OLD_LOCK_POLL_SECONDS, max(1, until - now)))


class CompactionLock:
    def __init__(self, dynamodb, table_name: str, vault_name: str, owner: str, ttl_seconds: int, clock: Callable):
        self._db = dynamodb
        self._table = table_name
        self._vault = vault_name
        self.owner = owner
        self._ttl = ttl_seconds
        self._clock = clock
        self._renewed_at = 0

    def _take(self, condition: str) -> bool:
        now = int(self._clock())
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(),
                # The fence rides along with every take: the item never becomes takeable by an older engine.
                UpdateExpression="SET #owner = :fence, expiresAt = :forever, holder = :me, heldUntil = :expires",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":fence": {"S": FENCE_OWNER},
                    ":forever": {"N": str(FENCE_EXPIRES)},
                    ":me": {"S": self.owner},
                    ":expires": {"N": str(now + self._ttl)},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        self._renewed_at = now
        return True

    def acquire(self) -> None:
        # Absent, an old engine's lapsed lock, or the fence with no live holder (or us again).
        if self._take(
            "attribute_not_exists(chunkHash) OR expiresAt < :now OR (#owner = :fence AND "
            "(attribute_not_exists(heldUntil) OR heldUntil < :now OR holder = :me))"
        ):
            return
        item = _read(self._db, self._table)
        if item.get("owner", {}).get("S") == FENCE_OWNER:
            holder = item.get("holder", {}).get("S", "another compaction")
            until = _iso(int(item.get("heldUntil", {}).get("N", "0")))
            what = f"compaction {holder} is running"
        else:
            holder, expires = _old_holder(item)
            until = _iso(expires)
            what = f"compaction {holder} of the engine image from before the index moved to S3 is running"
        raise CompactionBusy(
            f"vault {self._vault}: {what} (its lock lasts until {until} unless renewed); one compaction per vault "
            "at a time, so this one did nothing. The Catalog submits the next one with the next expiry"
        )

    def renew(self) -> None:
        """Before each destructive step: still ours, for another `ttl` seconds."""
        if not self._take("#owner = :fence AND holder = :me AND heldUntil >= :now"):
            raise LockLost(
                f"vault {self._vault}: compaction {self.owner} lost its lock (it expired and may have been taken); "
                "stopped before deleting anything more"
            )

    def keep_alive(self) -> None:
        """During long reads (a large vault's chunk lists, its merged index): renewed once a third of the TTL has
        passed, so a run that is alive keeps its lock and one that was frozen past it stops."""
        if int(self._clock()) - self._renewed_at >= self._ttl // 3:
            self.renew()

    def release(self) -> None:
        """Our holder goes; the fence stays (deleting the item would let an old-image compaction take it)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(),
                UpdateExpression="REMOVE holder, heldUntil",
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise

"""One compaction per vault at a time: a lock item with an expiry in the vault's index table.

restic's prune takes an exclusive repository lock and kopia lets only the maintenance owner collect garbage:
two collectors interleaving their mark and sweep could each see the other's half-done work. The lock item
(`chunkHash = "#lock/compaction"`) is taken and renewed with a conditional UpdateItem (UpdateItem creates the
item when absent) and expires `ttl` seconds after its last renewal, so a compaction whose task was killed
blocks the vault for at most that long. A holder renews before every destructive step and stops when it
cannot (its lock may have expired and been taken): like restic since 0.16, it never goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError

LOCK_KEY = "#lock/compaction"


class CompactionBusy(RuntimeError):
    pass


class LockLost(RuntimeError):
    pass


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class CompactionLock:
    def __init__(self, dynamodb, table_name: str, vault_name: str, owner: str, ttl_seconds: int, clock: Callable):
        self._db = dynamodb
        self._table = table_name
        self._vault = vault_name
        self.owner = owner
        self._ttl = ttl_seconds
        self._clock = clock

    def _take(self, condition: str) -> bool:
        now = int(self._clock())
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"chunkHash": {"S": LOCK_KEY}},
                UpdateExpression="SET #owner = :me, expiresAt = :expires",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":expires": {"N": str(now + self._ttl)},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def acquire(self) -> None:
        if self._take("attribute_not_exists(chunkHash) OR expiresAt < :now OR #owner = :me"):
            return
        item = self._db.get_item(
            TableName=self._table, Key={"chunkHash": {"S": LOCK_KEY}}, ConsistentRead=True
        ).get("Item", {})
        holder = item.get("owner", {}).get("S", "another compaction")
        until = _iso(int(item.get("expiresAt", {}).get("N", "0")))
        raise CompactionBusy(
            f"vault {self._vault}: compaction {holder} is running (its lock lasts until {until} unless renewed); "
            "one compaction per vault at a time, so this one did nothing. The Catalog submits the next one "
            "with the next expiry"
        )

    def renew(self) -> None:
        """Before each destructive step: still ours, for another `ttl` seconds."""
        if not self._take("#owner = :me AND expiresAt >= :now"):
            raise LockLost(
                f"vault {self._vault}: compaction {self.owner} lost its lock (it expired and may have been taken); "
                "stopped before deleting anything more"
            )

    def release(self) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"chunkHash": {"S": LOCK_KEY}},
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

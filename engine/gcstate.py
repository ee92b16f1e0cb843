"""GC generations: which packs compaction has condemned, and since when (engine/README.md, "Why compaction is
safe").

Each compaction run publishes generation n: first the state object `gc/<n, 10 digits>.json` in the bucket
({"generation": n, "condemned": {packKey: generation since which it is condemned}, "stamps": {generation:
stamp} for the earlier generations it still names}), then, once that PUT has returned, the stamp of
generation n: a time measured after the object became readable, kept in the vault's table as the small item
`#gc/generation` ({generation, stampedAt}). A backup reads the newest state object after writing its lease and
never reuses a chunk whose only copies are in condemned packs; so a backup whose lease began after the stamp
(plus clock skew) cannot have reused one. A generation whose stamp never got written (the run died between
the two writes) has no stamp: its condemnations count from the next generation instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from elastio_contract.tables import VAULT_TABLE_KEY
from engine.lock import LockLost
from engine.packs import MissingObjectError, VaultBucket

GC_PREFIX = "gc/"
GENERATION_KEY = "#gc/generation"
KEEP_STATES = 2  # the newest and the one before it (a backup may be reading it)


@dataclass
class GcState:
    generation: int = 0
    condemned: dict[str, int] = field(default_factory=dict)  # pack key -> generation it was condemned in
    stamps: dict[int, int] = field(default_factory=dict)  # generation -> its stamp (epoch seconds)

    def stamp(self, pack_key: str) -> int | None:
        generation = self.condemned.get(pack_key)
        return None if generation is None else self.stamps.get(generation)

    def to_json(self) -> bytes:
        used = set(self.condemned.values())
        return json.dumps(
            {
                "generation": self.generation,
                "condemned": dict(sorted(self.condemned.items())),
                "stamps": {str(g): t for g, t in sorted(self.stamps.items()) if g in used},
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> GcState:
        doc = json.loads(raw)
        return cls(
            int(doc["generation"]),
            {key: int(g) for key, g in doc["condemned"].items()},
            {int(g): int(t) for g, t in doc.get("stamps", {}).items()},
        )


def state_key(generation: int) -> str:
    return f"{GC_PREFIX}{generation:010d}.json"


def _state_keys(bucket: VaultBucket) -> list[str]:
    return sorted(info.key for info in bucket.list(GC_PREFIX) if info.key.endswith(".json"))


class GcStateUnreadable(RuntimeError):
    pass


def read_state(bucket: VaultBucket) -> GcState:
    """The newest published state (what a backup must honour). Only older states are ever deleted."""
    for _ in range(3):
        keys = _state_keys(bucket)
        if not keys:
            return GcState()
        try:
            return GcState.from_json(bucket.get(keys[-1]))
        except MissingObjectError:
            continue  # deleted by an operator while we listed: list again
    # Never "nothing condemned": a backup would reuse chunks of packs compaction is about to delete.
    raise GcStateUnreadable(
        f"s3://{bucket.bucket}/{GC_PREFIX}: the newest GC generation vanished each of 3 times it was listed and "
        "read (is something deleting gc/ objects?); stopped before reusing any chunk. Run the job again"
    )


class GcGenerations:
    """Compaction's side: the newest state with every stamp it can vouch for, and publishing the next."""

    def __init__(self, bucket: VaultBucket, dynamodb, table_name: str):
        self.bucket, self._db, self._table = bucket, dynamodb, table_name
        self.next_generation = 1  # set by current()

    def current(self) -> GcState:
        state = read_state(self.bucket)
        item = self._db.get_item(
            TableName=self._table, Key={VAULT_TABLE_KEY.hash_key: {"S": GENERATION_KEY}}, ConsistentRead=True
        ).get("Item")
        if item and int(item["generation"]["N"]) == state.generation and "stampedAt" in item:
            state.stamps[state.generation] = int(item["stampedAt"]["N"])
        # The next run's number is above both: were gc/ objects lost (an operator, a lifecycle rule), numbers the
        # table has stamped would be reused and a new generation would take an old generation's stamp.
        self.next_generation = max(state.generation, int(item["generation"]["N"]) if item else 0) + 1
        return state

    def publish(self, state: GcState, clock: Callable[[], float]) -> int:
        """Store generation `state.generation`, then its stamp (measured after the object is readable)."""
        try:
            # Never over another run's generation: that run may have stamped it already and deleted what it
            # collected (a run whose lock lapsed while it merged the index would publish over it).
            self.bucket.put_if_absent(state_key(state.generation), state.to_json(), "application/json")
        except ClientError as error:
            # 412: it exists; 409: another PUT of it is in flight (S3 conditional writes, engine/vaultconfig.py).
            if error.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            raise LockLost(
                f"generation {state.generation} was published by another compaction meanwhile (this one's lock "
                "lapsed); stopped before publishing or deleting anything"
            ) from error
        stamp = int(clock()) + 1  # strictly after the PUT returned, whole seconds
        try:
            self._db.update_item(
                TableName=self._table,
                Key={VAULT_TABLE_KEY.hash_key: {"S": GENERATION_KEY}},
                UpdateExpression="SET generation = :g, stampedAt = :t",
                ConditionExpression="attribute_not_exists(generation) OR generation < :g",
                ExpressionAttributeValues={":g": {"N": str(state.generation)}, ":t": {"N": str(stamp)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # A later generation exists (only under a broken lock): leave it; ours stays unstamped.
        state.stamps[state.generation] = stamp
        for key in _state_keys(self.bucket)[:-KEEP_STATES]:
            self.bucket.delete(key)
        return stamp

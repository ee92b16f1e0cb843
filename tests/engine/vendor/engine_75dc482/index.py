"""The vault's dedup index (one DynamoDB table per vault): chunk hash -> where its compressed bytes live.

Item layout (docs/CONTRACT.md): `chunkHash` (hex BLAKE2b-256), `packKey`, `offset`, `length` (compressed),
`rawLength`, `epoch` (unix seconds when a backup stored the chunk), and `condemnedAt` while garbage
collection considers the chunk unreferenced (engine/compact.py). The index is a cache of where chunks are:
which chunks are live follows from the manifests, and the packs list their own chunks, so a lost or wrong
index entry costs a re-upload or a `rebuild-index`, never a deletion.

Every change that races a backup is conditional on the entry: compaction deletes an entry only if it is still
condemned with the same stamp and in the same pack; a backup that reuses a condemned entry revives it on the
condition that the stamp is unchanged. Exactly one of the two wins and the loser adapts.

Items whose key starts with `#` are not chunks but the vault's small GC state (the compaction lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

BATCH_GET_LIMIT = 100
STATE_KEY_PREFIX = "#"  # never the start of a hex digest


@dataclass(frozen=True)
class IndexEntry:
    digest: bytes
    pack_key: str
    offset: int
    length: int
    raw_length: int
    epoch: int
    condemned_at: int | None = None

    def to_item(self) -> dict:
        item = {
            "chunkHash": {"S": self.digest.hex()},
            "packKey": {"S": self.pack_key},
            "offset": {"N": str(self.offset)},
            "length": {"N": str(self.length)},
            "rawLength": {"N": str(self.raw_length)},
            "epoch": {"N": str(self.epoch)},
        }
        if self.condemned_at is not None:
            item["condemnedAt"] = {"N": str(self.condemned_at)}
        return item

    @classmethod
    def from_item(cls, item: dict) -> IndexEntry:
        return cls(
            digest=bytes.fromhex(item["chunkHash"]["S"]),
            pack_key=item["packKey"]["S"],
            offset=int(item["offset"]["N"]),
            length=int(item["length"]["N"]),
            raw_length=int(item["rawLength"]["N"]),
            epoch=int(item["epoch"]["N"]),
            condemned_at=int(item["condemnedAt"]["N"]) if "condemnedAt" in item else None,
        )


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class ChunkIndex:
    def __init__(self, dynamodb, table_name: str):
        self._db = dynamodb
        self.dynamodb = dynamodb  # the vault's small GC state (engine/lock.py) lives in the same table
        self.table_name = table_name

    def lookup(self, digests: Iterable[bytes]) -> dict[bytes, IndexEntry]:
        wanted = list(dict.fromkeys(digests))
        found: dict[bytes, IndexEntry] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request = {
                self.table_name: {
                    "Keys": [{"chunkHash": {"S": d.hex()}} for d in wanted[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._db.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    entry = IndexEntry.from_item(item)
                    found[entry.digest] = entry
                request = response.get("UnprocessedKeys") or {}
        return found

    def get(self, digest: bytes) -> IndexEntry | None:
        item = self._db.get_item(
            TableName=self.table_name, Key={"chunkHash": {"S": digest.hex()}}, ConsistentRead=True
        ).get("Item")
        return IndexEntry.from_item(item) if item else None

    def _conditional(self, **request) -> bool:
        """An UpdateItem or DeleteItem whose condition may fail: False when it did."""
        operation = self._db.delete_item if request.pop("delete", False) else self._db.update_item
        try:
            operation(TableName=self.table_name, **request)
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def condemn(self, entry: IndexEntry, at: int) -> bool:
        """Mark an unreferenced entry; it may be deleted once the grace period has passed (compact.py)."""
        return self._conditional(
            Key={"chunkHash": {"S": entry.digest.hex()}},
            UpdateExpression="SET condemnedAt = :at",
            ConditionExpression="packKey = :pack AND attribute_not_exists(condemnedAt)",
            ExpressionAttributeValues={":pack": {"S": entry.pack_key}, ":at": {"N": str(at)}},
        )

    def restamp(self, entry: IndexEntry, at: int) -> bool:
        """Condemn again from `at`: a manifest referencing the chunk was deleted only now (compact.py)."""
        return self._conditional(
            Key={"chunkHash": {"S": entry.digest.hex()}},
            UpdateExpression="SET condemnedAt = :at",
            ConditionExpression="packKey = :pack AND condemnedAt = :old",
            ExpressionAttributeValues={
                ":pack": {"S": entry.pack_key},
                ":at": {"N": str(at)},
                ":old": {"N": str(entry.condemned_at)},
            },
        )

    def revive(self, entry: IndexEntry) -> bool:
        """A backup reuses a condemned chunk. False when compaction deleted it first: store it again."""
        return self._conditional(
            Key={"chunkHash": {"S": entry.digest.hex()}},
            UpdateExpression="REMOVE condemnedAt",
            ConditionExpression="condemnedAt = :at AND packKey = :pack",
            ExpressionAttributeValues={":at": {"N": str(entry.condemned_at)}, ":pack": {"S": entry.pack_key}},
        )

    def delete_condemned(self, entry: IndexEntry) -> bool:
        """Delete an entry still condemned with the same stamp in the same pack (no backup revived it)."""
        return self._conditional(
            delete=True,
            Key={"chunkHash": {"S": entry.digest.hex()}},
            ConditionExpression="packKey = :pack AND condemnedAt = :at",
            ExpressionAttributeValues={":pack": {"S": entry.pack_key}, ":at": {"N": str(entry.condemned_at)}},
        )

    def add_if_absent(self, entry: IndexEntry) -> bool:
        """Index a chunk found in a pack (rebuild, compaction) unless an entry exists; UpdateItem creates it."""
        item = entry.to_item()
        del item["chunkHash"]
        names = {f"#a{i}": name for i, name in enumerate(item)}
        return self._conditional(
            Key={"chunkHash": {"S": entry.digest.hex()}},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(item))),
            ConditionExpression="attribute_not_exists(chunkHash)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(item.values())},
        )

    def forget(self, digest: bytes, pack_key: str) -> bool:
        """Drop an entry whose bytes are lost or corrupt (scan repair), unless it already points elsewhere."""
        return self._conditional(
            delete=True,
            Key={"chunkHash": {"S": digest.hex()}},
            ConditionExpression="packKey = :pack",
            ExpressionAttributeValues={":pack": {"S": pack_key}},
        )

    def put_many(self, entries: Iterable[IndexEntry]) -> None:
        """Unconditional: two backups storing the same chunk both point at valid packs; the last one wins."""
        items = [{"PutRequest": {"Item": entry.to_item()}} for entry in entries]
        for start in range(0, len(items), 25):
            request = {self.table_name: items[start : start + 25]}
            while request:
                response = self._db.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}

    def repoint(self, entry: IndexEntry, pack_key: str, offset: int, length: int) -> bool:
        """Move an entry to its copy in a new pack, unless it no longer points at the pack being rewritten."""
        return self._conditional(
            Key={"chunkHash": {"S": entry.digest.hex()}},
            UpdateExpression="SET packKey = :new, #offset = :offset, #length = :length REMOVE condemnedAt",
            ConditionExpression="packKey = :old",
            ExpressionAttributeNames={"#offset": "offset", "#length": "length"},
            ExpressionAttributeValues={
                ":new": {"S": pack_key},
                ":old": {"S": entry.pack_key},
                ":offset": {"N": str(offset)},
                ":length": {"N": str(length)},
            },
        )

    def scan(self) -> Iterator[IndexEntry]:
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for item in page["Items"]:
                if not item["chunkHash"]["S"].startswith(STATE_KEY_PREFIX):
                    yield IndexEntry.from_item(item)

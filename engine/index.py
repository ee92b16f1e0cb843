"""The vault's dedup index (one DynamoDB table per vault): chunk hash -> where its compressed bytes live.

Item layout (docs/CONTRACT.md): `chunkHash` (hex BLAKE2b-256), `packKey`, `offset`, `length` (compressed),
`rawLength`, `epoch` (unix seconds when a backup last stored or reused the chunk). The epoch is how a
running backup protects a chunk it reuses from a concurrent compaction: both sides change an entry only on
a condition on it, so exactly one of "backup reuses it" and "compaction deletes it" happens first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

BATCH_GET_LIMIT = 100


@dataclass(frozen=True)
class IndexEntry:
    digest: bytes
    pack_key: str
    offset: int
    length: int
    raw_length: int
    epoch: int

    def to_item(self) -> dict:
        return {
            "chunkHash": {"S": self.digest.hex()},
            "packKey": {"S": self.pack_key},
            "offset": {"N": str(self.offset)},
            "length": {"N": str(self.length)},
            "rawLength": {"N": str(self.raw_length)},
            "epoch": {"N": str(self.epoch)},
        }

    @classmethod
    def from_item(cls, item: dict) -> IndexEntry:
        return cls(
            digest=bytes.fromhex(item["chunkHash"]["S"]),
            pack_key=item["packKey"]["S"],
            offset=int(item["offset"]["N"]),
            length=int(item["length"]["N"]),
            raw_length=int(item["rawLength"]["N"]),
            epoch=int(item["epoch"]["N"]),
        )


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class ChunkIndex:
    def __init__(self, dynamodb, table_name: str):
        self._db = dynamodb
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

    def touch(self, digest: bytes, epoch: int) -> bool:
        """Mark a chunk as reused now. False when it is gone (a compaction removed it): store it again."""
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key={"chunkHash": {"S": digest.hex()}},
                UpdateExpression="SET #epoch = :epoch",
                ConditionExpression="attribute_exists(chunkHash)",
                ExpressionAttributeNames={"#epoch": "epoch"},
                ExpressionAttributeValues={":epoch": {"N": str(epoch)}},
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def put_many(self, entries: Iterable[IndexEntry]) -> None:
        """Unconditional: two backups storing the same chunk both point at valid packs; the last one wins."""
        items = [{"PutRequest": {"Item": entry.to_item()}} for entry in entries]
        for start in range(0, len(items), 25):
            request = {self.table_name: items[start : start + 25]}
            while request:
                response = self._db.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}

    def delete_if_unchanged(self, entry: IndexEntry) -> bool:
        """Delete a dead entry unless a backup reused it (epoch moved) or it moved to another pack."""
        try:
            self._db.delete_item(
                TableName=self.table_name,
                Key={"chunkHash": {"S": entry.digest.hex()}},
                ConditionExpression="packKey = :pack AND #epoch = :epoch",
                ExpressionAttributeNames={"#epoch": "epoch"},
                ExpressionAttributeValues={":pack": {"S": entry.pack_key}, ":epoch": {"N": str(entry.epoch)}},
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def repoint(self, entry: IndexEntry, pack_key: str, offset: int, length: int) -> bool:
        """Move an entry to its copy in a new pack, unless it no longer points at the pack being rewritten."""
        try:
            self._db.update_item(
                TableName=self.table_name,
                Key={"chunkHash": {"S": entry.digest.hex()}},
                UpdateExpression="SET packKey = :new, #offset = :offset, #length = :length",
                ConditionExpression="packKey = :old",
                ExpressionAttributeNames={"#offset": "offset", "#length": "length"},
                ExpressionAttributeValues={
                    ":new": {"S": pack_key},
                    ":old": {"S": entry.pack_key},
                    ":offset": {"N": str(offset)},
                    ":length": {"N": str(length)},
                },
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def scan(self) -> Iterator[IndexEntry]:
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for item in page["Items"]:
                yield IndexEntry.from_item(item)

"""Pack objects in the vault bucket: many compressed chunks per S3 object, so request costs stay low.

A pack (`packs/<packId>.pack`) is the concatenation of independent zstd frames, one per chunk, followed by
its own chunk list and a fixed footer (layout below), so a pack says what it holds without the index: the
index can be rebuilt from the packs (`python -m engine rebuild-index`), and compaction learns a pack's
contents from the pack itself, never from the index alone. The index records each chunk's offset and
length, so a chunk is read back with one ranged GET (neighbours are read together). Index entries are
written only after their pack is stored: an entry never points at bytes that are not there.

Layout: frames | chunk list (count x [BLAKE2b-256 digest, u32 compressed length, u32 raw length], in frame
order: offsets are cumulative) | footer [u32 count, u32 CRC-32 of the chunk list, b"ELPACK01"], little-endian.
Packs written before chunk lists existed end in a zstd frame, not the magic, and are read as "no list".
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from tests.engine.vendor.engine_75dc482.index import ChunkIndex, IndexEntry

# Packs of tens of MiB keep S3 request costs low (cost/ prices requests per pack, not per chunk).
DEFAULT_PACK_BYTES = 32 * 1024 * 1024

PACK_PREFIX = "packs/"
# Ranged reads of one pack are merged when the gap between them is smaller than this.
MERGE_GAP_BYTES = 1024 * 1024


CHUNK_LIST_ENTRY = struct.Struct("<32sII")
FOOTER = struct.Struct("<II8s")
PACK_MAGIC = b"ELPACK01"
# One GET of a pack's tail usually covers its list (32 MiB packs of ~30 KiB frames: ~1000 entries, 40 KB).
TAIL_READ_BYTES = 64 * 1024


class MissingObjectError(LookupError):
    pass


class PackFormatError(ValueError):
    pass


@dataclass(frozen=True)
class PackedChunk:
    """One chunk as its pack lists it."""

    digest: bytes
    offset: int
    length: int
    raw_length: int


def pack_object(frames: list[bytes], chunks: list[tuple[bytes, int]]) -> bytes:
    """The pack's bytes: `frames` in order, then the list of (digest, raw length) with their frame lengths."""
    listing = b"".join(
        CHUNK_LIST_ENTRY.pack(digest, len(frame), raw) for frame, (digest, raw) in zip(frames, chunks, strict=True)
    )
    return b"".join([*frames, listing, FOOTER.pack(len(chunks), zlib.crc32(listing), PACK_MAGIC)])


def parse_chunk_list(tail: bytes, pack_size: int, key: str = "pack") -> list[PackedChunk] | None:
    """The chunks a pack lists, from the last bytes of it (`tail`, at least the list and footer).

    None when the pack predates chunk lists; PackFormatError when the list is damaged."""
    if len(tail) < FOOTER.size or tail[-len(PACK_MAGIC) :] != PACK_MAGIC:
        return None
    count, crc, _ = FOOTER.unpack(tail[-FOOTER.size :])
    list_bytes = count * CHUNK_LIST_ENTRY.size
    if list_bytes + FOOTER.size > min(len(tail), pack_size):
        raise PackFormatError(f"{key}: its chunk list of {count} entries does not fit in the pack")
    listing = tail[-FOOTER.size - list_bytes : len(tail) - FOOTER.size]
    if zlib.crc32(listing) != crc:
        raise PackFormatError(f"{key}: its chunk list fails its CRC-32 check")
    chunks, offset = [], 0
    for digest, length, raw in CHUNK_LIST_ENTRY.iter_unpack(listing):
        chunks.append(PackedChunk(digest, offset, length, raw))
        offset += length
    if offset + list_bytes + FOOTER.size != pack_size:
        raise PackFormatError(f"{key}: its chunk list covers {offset} bytes of frames, the pack holds others")
    return chunks


@dataclass(frozen=True)
class PackInfo:
    key: str
    size: int
    last_modified: datetime


class VaultBucket:
    """The S3 side of a vault: packs, manifests, staging leases and reports."""

    def __init__(self, s3, bucket: str, kms_key_arn: str | None = None):
        self._s3 = s3
        self.bucket = bucket
        self._kms_key_arn = kms_key_arn

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream", **conditions) -> None:
        extra = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_arn} if self._kms_key_arn else {}
        )
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra, **conditions)

    def put_if_absent(self, key: str, body: bytes, content_type: str) -> None:
        """S3 conditional write: PreconditionFailed when the key exists (one writer wins)."""
        self.put(key, body, content_type, IfNoneMatch="*")

    def holds_any(self, prefix: str) -> bool:
        return bool(self._s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"))

    def get(self, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """`byte_range` is (offset, length)."""
        extra = {"Range": f"bytes={byte_range[0]}-{byte_range[0] + byte_range[1] - 1}"} if byte_range else {}
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise MissingObjectError(f"s3://{self.bucket}/{key} does not exist") from error
            raise

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        """In a versioned bucket this adds a delete marker; the lifecycle rule removes the old version."""
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> Iterable[PackInfo]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield PackInfo(obj["Key"], int(obj["Size"]), obj["LastModified"])

    def tail(self, key: str, size: int, length: int) -> bytes:
        """The last `length` bytes of an object of `size` bytes."""
        length = min(length, size)
        return self.get(key, (size - length, length)) if length else b""

    def retained_until(self, key: str) -> datetime | None:
        """The object-lock retention date of the current version, if any."""
        head = self._s3.head_object(Bucket=self.bucket, Key=key)
        return head.get("ObjectLockRetainUntilDate")

    def is_retained(self, key: str, now: datetime | None = None) -> bool:
        until = self.retained_until(key)
        return until is not None and until > (now or datetime.now(UTC))


class PackWriter:
    """Buffers compressed chunks and stores them as one pack once `target_bytes` is reached.

    `on_stored(entries)` runs after each pack is stored; by default it writes the index entries.
    """

    def __init__(
        self,
        bucket: VaultBucket,
        index: ChunkIndex,
        target_bytes: int,
        epoch: Callable[[], int],
        on_stored: Callable[[list[IndexEntry]], None] | None = None,
    ):
        self._bucket = bucket
        self._index = index
        self._target = target_bytes
        self._epoch = epoch
        self._on_stored = on_stored or index.put_many
        self._frames: list[bytes] = []
        self._pending: list[tuple[bytes, int, int, int]] = []  # digest, offset, length, raw_length
        self._size = 0
        self.packs_written: list[str] = []
        self.bytes_written = 0

    def __contains__(self, digest: bytes) -> bool:
        return any(pending[0] == digest for pending in self._pending)

    def add(self, digest: bytes, frame: bytes, raw_length: int) -> None:
        self._pending.append((digest, self._size, len(frame), raw_length))
        self._frames.append(frame)
        self._size += len(frame)
        if self._size >= self._target:
            self.flush()

    def flush(self) -> list[IndexEntry]:
        if not self._frames:
            return []
        key = f"{PACK_PREFIX}{uuid.uuid4().hex}.pack"
        body = pack_object(self._frames, [(d, raw) for d, _, _, raw in self._pending])
        self._bucket.put(key, body)
        epoch = self._epoch()
        entries = [IndexEntry(d, key, offset, length, raw, epoch) for d, offset, length, raw in self._pending]
        self.packs_written.append(key)
        self.bytes_written += len(body)
        self._frames, self._pending, self._size = [], [], 0
        self._on_stored(entries)
        return entries


def read_chunk_list(bucket: VaultBucket, key: str, size: int) -> list[PackedChunk] | None:
    """What a pack holds, read from the pack (one ranged GET, two for a pack with a very long list)."""
    tail = bucket.tail(key, size, TAIL_READ_BYTES)
    if len(tail) >= FOOTER.size and tail[-len(PACK_MAGIC) :] == PACK_MAGIC:
        count = FOOTER.unpack(tail[-FOOTER.size :])[0]
        needed = count * CHUNK_LIST_ENTRY.size + FOOTER.size
        if needed > len(tail) and needed <= size:
            tail = bucket.tail(key, size, needed)
    return parse_chunk_list(tail, size, f"s3://{bucket.bucket}/{key}")


def read_frames(bucket: VaultBucket, entries: Iterable[IndexEntry]) -> dict[bytes, bytes]:
    """Fetch the compressed frames of `entries`, one GET per run of nearby chunks in the same pack."""
    by_pack: dict[str, list[IndexEntry]] = {}
    for entry in entries:
        by_pack.setdefault(entry.pack_key, []).append(entry)
    frames: dict[bytes, bytes] = {}
    for pack_key, pack_entries in by_pack.items():
        pack_entries.sort(key=lambda e: e.offset)
        run: list[IndexEntry] = []
        for entry in pack_entries:
            if run and entry.offset - (run[-1].offset + run[-1].length) > MERGE_GAP_BYTES:
                frames.update(_read_run(bucket, pack_key, run))
                run = []
            run.append(entry)
        frames.update(_read_run(bucket, pack_key, run))
    return frames


def _read_run(bucket: VaultBucket, pack_key: str, run: list[IndexEntry]) -> dict[bytes, bytes]:
    start = run[0].offset
    end = max(e.offset + e.length for e in run)
    blob = bucket.get(pack_key, (start, end - start))
    return {e.digest: blob[e.offset - start : e.offset - start + e.length] for e in run}

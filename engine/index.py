"""The vault's dedup index, held in S3 as immutable index blobs (as kopia and restic keep theirs).

Where chunks are: `index/<name>.idx` objects, each a sorted list of chunk copies (digest -> pack key, offset,
compressed length, raw length, flags). A backup writes one after its packs are stored and before its manifest
(and one every `BLOB_EVERY_PACKS` packs, so a rerun reuses what an interrupted run stored); compaction and
`rebuild-index` merge them into fewer blobs and delete the ones they merged; scan repair writes a blob that
flags copies as bad. No per-chunk request ever goes to DynamoDB: the vault's table keeps small state only
(the compaction lock, engine/lock.py; the GC generation, engine/gcstate.py).

A job loads the blobs it needs once, after writing its lease, into an `IndexView`: a SQLite file in the task's
ephemeral storage (`ELASTIO_ENGINE_WORK_DIR`, else the temp directory), so memory stays flat whatever the
vault's size (SQLite keeps a bounded page cache; on disk ~60 bytes per chunk copy, 16 GB for 270 M chunks,
benchmarks/engine_index_view.py; the job definitions size the ephemeral storage for it).

The index is a cache of where chunks are. Which chunks are live follows from the manifests only, and packs
list their own chunks (packs.py): a lost, stale or deleted index blob costs a re-upload (a backup stores
what it cannot find) or a `rebuild-index`, never a deletion (engine/README.md, "Why compaction is safe").

Blob layout (little-endian; docs/CONTRACT.md): b"ELIDX001" | u32 pack count | per pack: u16 length, UTF-8
key | u32 entry count | entries sorted by digest, each [32-byte digest, u32 pack number, u32 offset, u32
length, u32 raw length, u8 flags (1 = bad: lost or corrupt, never reused)] | u32 CRC-32 of all before.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import tempfile
import uuid
import zlib
from collections.abc import Iterable, Iterator

from elastio_contract import environment as env
from engine.packs import IndexEntry, MissingObjectError, VaultBucket

INDEX_PREFIX = "index/"
INDEX_SUFFIX = ".idx"
BLOB_MAGIC = b"ELIDX001"
ENTRY = struct.Struct("<32sIIIIB")
FLAG_BAD = 1
# A backup writes its blob every this many packs (2 GiB of 32 MiB packs) besides at its end.
BLOB_EVERY_PACKS = 64
STATE_KEY_PREFIX = "#"  # the table's items are small state only; their keys start with this
WORK_DIR_ENV = env.ENGINE_WORK_DIR
LOOKUP_BATCH = 500  # SQLite's default limit of bound parameters is 999 (32766 since 3.32)


class IndexFormatError(ValueError):
    pass


def encode_blob(entries: Iterable[IndexEntry]) -> bytes:
    ordered = sorted(entries, key=lambda e: (e.digest, e.pack_key))
    packs: dict[str, int] = {}
    for entry in ordered:
        packs.setdefault(entry.pack_key, len(packs))
    parts = [BLOB_MAGIC, struct.pack("<I", len(packs))]
    for key in packs:
        raw = key.encode()
        parts.append(struct.pack("<H", len(raw)) + raw)
    parts.append(struct.pack("<I", len(ordered)))
    parts.extend(
        ENTRY.pack(e.digest, packs[e.pack_key], e.offset, e.length, e.raw_length, FLAG_BAD if e.bad else 0)
        for e in ordered
    )
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def _parse(blob: bytes, source: str) -> tuple[list[str], memoryview]:
    """The pack table and the entries' bytes of a checked blob."""
    if len(blob) < len(BLOB_MAGIC) + 12 or blob[: len(BLOB_MAGIC)] != BLOB_MAGIC:
        raise IndexFormatError(f"{source}: not an index blob (no {BLOB_MAGIC.decode()} header)")
    body, (crc,) = memoryview(blob)[:-4], struct.unpack("<I", blob[-4:])
    if zlib.crc32(body) != crc:
        raise IndexFormatError(f"{source}: fails its CRC-32 check")
    try:
        position = len(BLOB_MAGIC)
        (pack_count,) = struct.unpack_from("<I", body, position)
        position += 4
        packs = []
        for _ in range(pack_count):
            (length,) = struct.unpack_from("<H", body, position)
            packs.append(bytes(body[position + 2 : position + 2 + length]).decode())
            position += 2 + length
        (count,) = struct.unpack_from("<I", body, position)
        position += 4
    except (struct.error, UnicodeDecodeError) as error:
        raise IndexFormatError(f"{source}: damaged ({error})") from error
    if position + count * ENTRY.size != len(body):
        raise IndexFormatError(f"{source}: {count} entries do not fill the blob")
    rows = body[position:]
    if any(pack >= len(packs) for _, pack, *_ in ENTRY.iter_unpack(rows)):
        raise IndexFormatError(f"{source}: an entry names a pack the blob does not list")
    return packs, rows


def decode_blob(blob: bytes, source: str = "index blob") -> list[IndexEntry]:
    packs, rows = _parse(blob, source)
    return [
        IndexEntry(digest, packs[pack], offset, length, raw, bool(flags & FLAG_BAD))
        for digest, pack, offset, length, raw, flags in ENTRY.iter_unpack(rows)
    ]


def blob_key(kind: str) -> str:
    """`kind`: `b` a backup's, `m` a merge by compaction or rebuild, `x` scan repair's bad copies."""
    return f"{INDEX_PREFIX}{kind}-{uuid.uuid4().hex}{INDEX_SUFFIX}"


class IndexView:
    """The index blobs a job loaded, in a SQLite file on local disk, and the packs condemned when it loaded.

    `usable` answers reuse: a copy that is neither bad nor in a condemned pack (a backup never reuses a
    condemned chunk; it stores it again). `locate` answers reads: any copy not flagged bad, a copy outside a
    condemned pack first."""

    def __init__(self, condemned: Iterable[str] = (), work_dir: str | None = None):
        self._dir = tempfile.mkdtemp(prefix="elastio-index-", dir=work_dir or os.environ.get(WORK_DIR_ENV))
        self._db = sqlite3.connect(os.path.join(self._dir, "index.sqlite"), check_same_thread=False)
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;
            CREATE TABLE packs (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, condemned INTEGER DEFAULT 0);
            CREATE TABLE copies (digest BLOB, pack INTEGER, offset INTEGER, length INTEGER, raw INTEGER,
                                 bad INTEGER, PRIMARY KEY (digest, pack)) WITHOUT ROWID;
            """
        )
        self._pack_ids: dict[str, int] = {}
        self.condemned = set(condemned)
        self.blobs: list[str] = []
        self._flagged: set[bytes] = set()  # digests with a copy flagged bad (few: scan repair's findings)

    def _pack_id(self, key: str) -> int:
        pack_id = self._pack_ids.get(key)
        if pack_id is None:
            pack_id = len(self._pack_ids) + 1
            self._pack_ids[key] = pack_id
            self._db.execute("INSERT INTO packs VALUES (?, ?, ?)", (pack_id, key, int(key in self.condemned)))
        return pack_id

    def add(self, entries: Iterable[IndexEntry]) -> None:
        """Copies of the same chunk in the same pack are one copy; flagged bad once, bad for good."""
        entries = list(entries)
        self._flagged.update(e.digest for e in entries if e.bad)
        rows = (
            (e.digest, self._pack_id(e.pack_key), e.offset, e.length, e.raw_length, int(e.bad)) for e in entries
        )
        self._db.executemany(
            "INSERT INTO copies VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (digest, pack) DO UPDATE SET bad = max(bad, excluded.bad)",
            rows,
        )
        self._db.commit()

    def add_blob(self, blob: bytes, source: str = "index blob") -> None:
        """A blob's entries, streamed into the view (memory: the blob itself and SQLite's page cache)."""
        packs, rows = _parse(blob, source)
        ids = [self._pack_id(key) for key in packs]
        self._flagged.update(digest for digest, *_, flags in ENTRY.iter_unpack(rows) if flags & FLAG_BAD)
        self._db.executemany(
            "INSERT INTO copies VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (digest, pack) DO UPDATE SET bad = max(bad, excluded.bad)",
            (
                (digest, ids[pack], offset, length, raw, flags & FLAG_BAD)
                for digest, pack, offset, length, raw, flags in ENTRY.iter_unpack(rows)
            ),
        )
        self._db.commit()

    def _copies(self, digests: Iterable[bytes], where: str) -> Iterator[tuple]:
        wanted = list(dict.fromkeys(digests))
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            yield from self._db.execute(
                "SELECT c.digest, p.key, c.offset, c.length, c.raw, c.bad, p.condemned FROM copies c "
                f"JOIN packs p ON p.id = c.pack WHERE c.digest IN ({','.join('?' * len(batch))}) {where} "
                "ORDER BY p.condemned, p.key",
                batch,
            )

    def usable(self, digests: Iterable[bytes]) -> dict[bytes, IndexEntry]:
        found: dict[bytes, IndexEntry] = {}
        for digest, key, offset, length, raw, _, _ in self._copies(digests, "AND c.bad = 0 AND p.condemned = 0"):
            found.setdefault(digest, IndexEntry(digest, key, offset, length, raw))
        return found

    def locate(self, digests: Iterable[bytes]) -> dict[bytes, IndexEntry]:
        found: dict[bytes, IndexEntry] = {}
        for digest, key, offset, length, raw, _, _ in self._copies(digests, "AND c.bad = 0"):
            found.setdefault(digest, IndexEntry(digest, key, offset, length, raw))
        return found

    def lost(self) -> set[bytes]:
        """Chunks every copy of which is flagged bad: a backup must not copy a parent's segment holding one."""
        return self._flagged - self.locate(self._flagged).keys()

    def elsewhere(self, digests: Iterable[bytes], pack_key: str, existing: set[str]) -> set[bytes]:
        """Digests with a usable copy in another pack that exists (compaction: a condemned pack's copy of
        such a chunk is a duplicate, not live data)."""
        return {
            digest
            for digest, key, *_ in self._copies(digests, "AND c.bad = 0 AND p.condemned = 0")
            if key != pack_key and key in existing
        }

    def copies_elsewhere(self, digests: Iterable[bytes], pack_key: str, existing: set[str]) -> dict[bytes, list]:
        """Each digest's usable copies in other packs that exist (not bad, not condemned), for compaction to read
        back before it lets a condemned pack's copy go."""
        found: dict[bytes, list[IndexEntry]] = {}
        for digest, key, offset, length, raw, _, _ in self._copies(digests, "AND c.bad = 0 AND p.condemned = 0"):
            if key != pack_key and key in existing:
                found.setdefault(digest, []).append(IndexEntry(digest, key, offset, length, raw))
        return found

    def entries(self) -> Iterator[IndexEntry]:
        """Every copy, bad ones included, in digest order."""
        cursor = self._db.execute(
            "SELECT c.digest, p.key, c.offset, c.length, c.raw, c.bad FROM copies c JOIN packs p ON p.id = c.pack "
            "ORDER BY c.digest, p.key"
        )
        for digest, key, offset, length, raw, bad in cursor:
            yield IndexEntry(digest, key, offset, length, raw, bool(bad))

    def by_pack(self) -> Iterator[tuple[str, list[IndexEntry]]]:
        """Each pack's copies (bad ones included), one pack at a time."""
        cursor = self._db.execute(
            "SELECT p.key, c.digest, c.offset, c.length, c.raw, c.bad FROM copies c JOIN packs p ON p.id = c.pack "
            "ORDER BY c.pack, c.offset"
        )
        current, group = None, []
        for key, digest, offset, length, raw, bad in cursor:
            if key != current:
                if group:
                    yield current, group
                current, group = key, []
            group.append(IndexEntry(digest, key, offset, length, raw, bool(bad)))
        if group:
            yield current, group

    def pack_keys(self) -> set[str]:
        return set(self._pack_ids)

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> IndexView:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ChunkIndex:
    """The index blobs of one vault's bucket, and the table that keeps the vault's small state."""

    def __init__(self, bucket: VaultBucket, dynamodb, table_name: str):
        self.bucket = bucket
        self.dynamodb = dynamodb  # small state only: engine/lock.py, engine/gcstate.py
        self.table_name = table_name

    def blob_keys(self) -> list[str]:
        return [info.key for info in self.bucket.list(INDEX_PREFIX) if info.key.endswith(INDEX_SUFFIX)]

    def entry_bound(self) -> int:
        """At least as many entries as the index blobs hold (their sizes over an entry's bytes; the pack table
        and header only add to it): one LIST, no GET. Compaction sizes its mark by it (engine/compact.py)."""
        blobs = (info for info in self.bucket.list(INDEX_PREFIX) if info.key.endswith(INDEX_SUFFIX))
        return sum(info.size for info in blobs) // ENTRY.size

    def legacy_entries(self, pack_keys: set[str]) -> Iterator[IndexEntry]:
        """The per-chunk items engines before the S3 index wrote to the table (docs/CONTRACT.md, "Dedup index,
        before S3"), of the given packs: `rebuild-index` reads them once for packs that have no chunk list."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table_name, ConsistentRead=True,
            ProjectionExpression="chunkHash, packKey, #o, #l, rawLength",
            ExpressionAttributeNames={"#o": "offset", "#l": "length"},
        )
        for page in pages:
            for item in page.get("Items", []):
                key = item["chunkHash"]["S"]
                if key.startswith(STATE_KEY_PREFIX) or "packKey" not in item:
                    continue
                if item["packKey"]["S"] in pack_keys:
                    yield IndexEntry(
                        bytes.fromhex(key), item["packKey"]["S"], int(item["offset"]["N"]),
                        int(item["length"]["N"]), int(item["rawLength"]["N"]), False,
                    )

    def read_blob(self, key: str) -> list[IndexEntry]:
        return decode_blob(self.bucket.get(key), f"s3://{self.bucket.bucket}/{key}")

    def write_blob(self, entries: Iterable[IndexEntry], kind: str = "b") -> str | None:
        entries = list(entries)
        if not entries:
            return None
        key = blob_key(kind)
        self.bucket.put(key, encode_blob(entries))
        return key

    def load(self, condemned: Iterable[str] = (), problems: list[str] | None = None) -> IndexView:
        """Every index blob in the bucket, into a local view. A blob deleted while we list (a merge replaced
        it, and the merged blob is listed again) or a damaged one is skipped: what the view lacks is stored
        again or located after a reload, never a reason to delete."""
        view = IndexView(condemned)
        seen: set[str] = set()
        for _ in range(3):
            vanished = False
            for key in self.blob_keys():
                if key in seen:
                    continue
                seen.add(key)
                try:
                    view.add_blob(self.bucket.get(key), f"s3://{self.bucket.bucket}/{key}")
                    view.blobs.append(key)
                except MissingObjectError:
                    vanished = True
                except IndexFormatError as error:
                    if problems is not None:
                        problems.append(f"{error}; skipped (run `python -m engine rebuild-index`)")
            if not vanished:
                break
        return view

    # Conveniences for one-off questions (tests, scan): a fresh view each time.
    def lookup(self, digests: Iterable[bytes]) -> dict[bytes, IndexEntry]:
        with self.load() as view:
            return view.locate(digests)

    def scan(self) -> Iterator[IndexEntry]:
        """Every copy not flagged bad."""
        with self.load() as view:
            return iter([entry for entry in view.entries() if not entry.bad])


class Locator:
    """A reader's index (restore, scan): loaded once, loaded again when a pack it pointed at was collected
    (compaction writes the copies' merged blob before it deletes a pack)."""

    def __init__(self, index: ChunkIndex):
        self._index = index
        self._view = index.load()

    def locate(self, digests: Iterable[bytes]) -> dict[bytes, IndexEntry]:
        return self._view.locate(digests)

    def reload(self) -> None:
        self._view.close()
        self._view = self._index.load()

    def close(self) -> None:
        self._view.close()

    def __enter__(self) -> Locator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Recovery point manifests: which chunks, in which order, rebuild a volume.

A manifest names chunks by hash only, never by pack location, so compaction can move chunks between packs
without touching any manifest. A volume is a sequence of fixed-size segments; a segment missing from the
manifest is all zeros (EBS snapshots are sparse). Chunking restarts at every segment boundary, which lets
an incremental backup re-chunk only the segments that hold changed blocks and copy the rest from its parent.

Version 3 (`manifests/<assetId>/<recoveryPointId>.manifest`, what vaults write unless their configuration
says `manifestFormat: 2`) is binary and is written and read as a stream, so no job holds a whole manifest:

    "ELMANIF3" | u32 header length | header (JSON: ids, sizes, chunker, parent id, parent MAC, chain depth)
    records, in increasing segment order:
      0x01 segment:      varint index | varint chunk count | varint body length | count x (32 B digest,
                         varint raw length)           (a count of 0 is a segment of zeros)
      0x02 parent range: varint first | varint end     (segments [first, end) are exactly the parent's)
    0x03 segment map: one varint per segment of the volume, its resolved chunk count + 1 (0: no segment)
    0x00 | u64 segments | u64 chunks | u64 bytes covered (totals of the resolved manifest) | u64 map offset
    MAC: keyed BLAKE2b-256 (the vault's manifest key) of every byte before it

About 35 bytes per chunk, plus about one byte per segment for the map, which lets a child backup plan from
its parent's manifest alone (no read of the chain). Any edit or truncation fails the MAC, which readers
check over a locally spooled copy before they use a byte of it (`ManifestFile`). An incremental manifest
records runs of segments its backup copied from the parent as parent ranges; the header pins the parent by
id and by its MAC, and reading resolves through the chain, one open cursor per level. Chains are at most MAX_CHAIN_DEPTH
references long: the next backup writes a full manifest. A parent that a manifest in the bucket references
is never deleted (engine/README.md, "Incremental manifests").

Version 2 (`.json`) ends in `"mac":"<hex>"`, a keyed BLAKE2b-256 of the exact bytes before it; version 1 (no
MAC) is read only in vaults that predate the vault configuration (plain chunk ids). Both are read whole, as
before, and never reference a parent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from engine.chunking import HASH_BYTES

MANIFEST_VERSION = 2  # JSON with a MAC
BINARY_VERSION = 3
UNSIGNED_VERSION = 1
MAX_CHAIN_DEPTH = 8  # references to parents a manifest may resolve through; a full manifest at least every 9
_MAC_SUFFIX = re.compile(rb',"mac":"([0-9a-f]{64})"\}$')

MAGIC = b"ELMANIF3"
_HEADER_LENGTH = struct.Struct("<I")
_TRAILER = struct.Struct("<BQQQQ")
MAC_BYTES = 32
TAG_END, TAG_SEGMENT, TAG_PARENT, TAG_MAP = 0, 1, 2, 3
READ_BLOCK = 1 << 20
ABSENT = -1  # a segment the manifest does not hold, in a segment table


def _mac(body: bytes, key: bytes) -> str:
    return hashlib.blake2b(body, digest_size=32, key=key).hexdigest()


def new_mac(key: bytes):
    return hashlib.blake2b(digest_size=MAC_BYTES, key=key)


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class ChunkRef:
    digest: bytes
    raw_length: int


@dataclass
class Segment:
    index: int  # segment number; byte offset = index * segment_bytes
    chunks: list[ChunkRef]

    @property
    def raw_length(self) -> int:
        return sum(ref.raw_length for ref in self.chunks)


def segment_length(volume_bytes: int, segment_bytes: int, index: int) -> int:
    """Bytes of segment `index` (the last one may be short; one past the volume holds none)."""
    return max(0, min(segment_bytes, volume_bytes - index * segment_bytes))


class _ManifestView:
    """What restore, scan, compaction and tests use, whichever way the manifest is held."""

    volume_bytes: int
    segment_bytes: int

    def iter_segments(self) -> Iterator[Segment]:
        raise NotImplementedError

    def chunk_refs(self) -> Iterator[ChunkRef]:
        for segment in self.iter_segments():
            yield from segment.chunks

    def digests(self) -> set[bytes]:
        """Every distinct chunk: O(chunks) memory, for tests and small tools; jobs stream `iter_segments`."""
        return {ref.digest for ref in self.chunk_refs()}

    def segment_length(self, index: int) -> int:
        return segment_length(self.volume_bytes, self.segment_bytes, index)

    @property
    def logical_bytes(self) -> int:
        return self.volume_bytes


@dataclass
class Manifest(_ManifestView):
    """A manifest held whole in memory: versions 1 and 2, and tests. Jobs stream `ManifestFile`s instead."""

    vault_name: str
    asset_id: str
    recovery_point_id: str
    snapshot_id: str
    volume_bytes: int
    segment_bytes: int
    chunker: dict[str, int]
    created_at: str
    parent_recovery_point_id: str | None = None
    segments: dict[int, Segment] = field(default_factory=dict)

    def iter_segments(self) -> Iterator[Segment]:
        for index in sorted(self.segments):
            yield self.segments[index]

    @property
    def chunk_count(self) -> int:
        return sum(len(segment.chunks) for segment in self.segments.values())

    @property
    def stored_logical_bytes(self) -> int:
        """Bytes the segments cover (the rest of the volume is zeros and costs nothing)."""
        return sum(segment.raw_length for segment in self.segments.values())

    def header(self) -> ManifestHeader:
        return ManifestHeader(
            self.vault_name, self.asset_id, self.recovery_point_id, self.snapshot_id, self.volume_bytes,
            self.segment_bytes, self.chunker, self.created_at, self.parent_recovery_point_id,
        )  # fmt: skip

    def to_binary(self, mac_key: bytes) -> bytes:
        """Version 3 bytes of a small manifest (tests, tools): jobs write through `ManifestWriter`."""
        import io

        out = io.BytesIO()
        writer = ManifestWriter(out, self.header(), mac_key)
        for segment in self.iter_segments():
            writer.segment(segment.index, segment.chunks)
        writer.finish()
        return out.getvalue()

    def to_json(self, mac_key: bytes) -> bytes:
        document = {
            "version": MANIFEST_VERSION,
            "vaultName": self.vault_name,
            "assetId": self.asset_id,
            "recoveryPointId": self.recovery_point_id,
            "snapshotId": self.snapshot_id,
            "parentRecoveryPointId": self.parent_recovery_point_id,
            "volumeBytes": self.volume_bytes,
            "segmentBytes": self.segment_bytes,
            "chunker": self.chunker,
            "createdAt": self.created_at,
            # Compact on purpose: a manifest holds one entry per chunk.
            "segments": [
                [index, [[ref.digest.hex(), ref.raw_length] for ref in self.segments[index].chunks]]
                for index in sorted(self.segments)
            ],
        }
        body = json.dumps(document, separators=(",", ":")).encode()
        return body[:-1] + b',"mac":"' + _mac(body, mac_key).encode() + b'"}'

    @classmethod
    def from_json(
        cls, raw: bytes, source: str = "manifest", mac_key: bytes | None = None, accept_unsigned: bool = False
    ) -> Manifest:
        try:
            document = json.loads(raw)
            version = document.get("version")
            if version == MANIFEST_VERSION:
                signed = _MAC_SUFFIX.search(raw)
                body = raw[: signed.start()] + b"}" if signed else b""
                if not (signed and mac_key and hmac.compare_digest(_mac(body, mac_key), signed.group(1).decode())):
                    raise ManifestError(
                        f"{source}: fails its integrity check (its MAC does not match the vault's key): it was "
                        "edited or damaged; nothing is restored from it"
                    )
            elif not (version == UNSIGNED_VERSION and accept_unsigned):
                raise ManifestError(
                    f"{source}: manifest version {version!r} is not supported here "
                    f"(this vault reads versions {MANIFEST_VERSION} and {BINARY_VERSION}, with a MAC)"
                )
            manifest = cls(
                vault_name=document["vaultName"],
                asset_id=document["assetId"],
                recovery_point_id=document["recoveryPointId"],
                snapshot_id=document["snapshotId"],
                parent_recovery_point_id=document.get("parentRecoveryPointId"),
                volume_bytes=int(document["volumeBytes"]),
                segment_bytes=int(document["segmentBytes"]),
                chunker=dict(document["chunker"]),
                created_at=document["createdAt"],
            )
            for index, refs in document["segments"]:
                chunks = [ChunkRef(bytes.fromhex(digest), int(length)) for digest, length in refs]
                if any(len(ref.digest) != HASH_BYTES for ref in chunks):
                    raise ManifestError(f"{source}: segment {index} has a chunk hash of the wrong length")
                segment = Segment(int(index), chunks)
                _check_segment(source, manifest.segment_length(segment.index), segment.index, chunks)
                manifest.segments[segment.index] = segment
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise ManifestError(
                f"{source}: not a readable manifest ({type(error).__name__}: {error})"
            ) from error
        return manifest


def _check_segment(source: str, expected: int, index: int, chunks: list[ChunkRef]) -> None:
    # A segment is stored whole or as zeros (no chunks): anything else restores wrong bytes.
    if chunks:
        total = sum(ref.raw_length for ref in chunks)
        if total != expected:
            raise ManifestError(
                f"{source}: segment {index}'s chunks add up to {total} bytes, the segment holds {expected}; "
                "the manifest is damaged"
            )


# ---- version 3 -------------------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _varint_at(buffer, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ManifestError("a varint longer than 64 bits")


@dataclass(frozen=True)
class ManifestHeader:
    vault_name: str
    asset_id: str
    recovery_point_id: str
    snapshot_id: str
    volume_bytes: int
    segment_bytes: int
    chunker: dict[str, int]
    created_at: str
    parent_recovery_point_id: str | None = None  # the backup's parent (it may have copied segments from it)
    references_parent: bool = False  # parent ranges resolve through the parent's manifest
    parent_mac: bytes | None = None  # the exact parent manifest the ranges refer to
    depth: int = 0  # parent references below this manifest: 0 for a full manifest

    def to_bytes(self) -> bytes:
        document = {
            "version": BINARY_VERSION,
            "vaultName": self.vault_name,
            "assetId": self.asset_id,
            "recoveryPointId": self.recovery_point_id,
            "snapshotId": self.snapshot_id,
            "parentRecoveryPointId": self.parent_recovery_point_id,
            "referencesParent": self.references_parent,
            "parentMac": self.parent_mac.hex() if self.parent_mac else None,
            "depth": self.depth,
            "volumeBytes": self.volume_bytes,
            "segmentBytes": self.segment_bytes,
            "chunker": self.chunker,
            "createdAt": self.created_at,
        }
        body = json.dumps(document, separators=(",", ":")).encode()
        return MAGIC + _HEADER_LENGTH.pack(len(body)) + body

    @classmethod
    def from_document(cls, document: dict) -> ManifestHeader:
        if document.get("version") != BINARY_VERSION:
            raise ManifestError(f"header version {document.get('version')!r} is not {BINARY_VERSION}")
        header = cls(
            vault_name=document["vaultName"],
            asset_id=document["assetId"],
            recovery_point_id=document["recoveryPointId"],
            snapshot_id=document["snapshotId"],
            volume_bytes=int(document["volumeBytes"]),
            segment_bytes=int(document["segmentBytes"]),
            chunker=dict(document["chunker"]),
            created_at=document["createdAt"],
            parent_recovery_point_id=document.get("parentRecoveryPointId"),
            references_parent=bool(document.get("referencesParent")),
            parent_mac=bytes.fromhex(document["parentMac"]) if document.get("parentMac") else None,
            depth=int(document.get("depth", 0)),
        )
        if header.segment_bytes <= 0 or header.volume_bytes < 0:
            raise ManifestError("segment or volume size out of range")
        if header.references_parent and not (header.parent_recovery_point_id and header.parent_mac):
            raise ManifestError("references a parent without naming it and its MAC")
        return header

    @property
    def segment_count(self) -> int:
        return -(-self.volume_bytes // self.segment_bytes)


def read_header(raw: bytes, source: str) -> ManifestHeader | None:
    """The header from the first bytes of a version-3 manifest (not yet MAC-checked); None when `raw` is too
    short to hold it; ManifestError when it is not a version-3 manifest."""
    if raw[: len(MAGIC)] != MAGIC:
        raise ManifestError(f"{source}: not a version-{BINARY_VERSION} manifest")
    if len(raw) < len(MAGIC) + _HEADER_LENGTH.size:
        return None
    (length,) = _HEADER_LENGTH.unpack_from(raw, len(MAGIC))
    end = len(MAGIC) + _HEADER_LENGTH.size + length
    if len(raw) < end:
        return None
    try:
        return ManifestHeader.from_document(json.loads(raw[len(MAGIC) + _HEADER_LENGTH.size : end]))
    except ManifestError as error:
        raise ManifestError(f"{source}: {error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"{source}: not a readable manifest header ({error})") from error


@dataclass
class Totals:
    segments: int = 0
    chunks: int = 0
    covered_bytes: int = 0  # bytes of the segments present (stored or zero), the rest of the volume is a hole


class ManifestWriter:
    """Writes a version-3 manifest to `out` as it goes (a spool file: never the whole manifest in memory).

    Records must come in increasing segment order. It does not check that a segment's chunks add up (readers
    refuse one that does not); `finish()` writes the totals and the MAC and returns the MAC."""

    def __init__(self, out: BinaryIO, header: ManifestHeader, mac_key: bytes):
        self._out = out
        self._mac = new_mac(mac_key)
        self._buffer = bytearray()
        self._next = 0
        self.header = header
        self.totals = Totals()
        self.own_chunks = 0
        self.bytes_written = 0
        self._map = bytearray()  # resolved chunk count + 1 per segment so far (0: none): ~1 byte a segment
        self._mapped = 0  # segments in the map
        self._emit(header.to_bytes())

    def _emit(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= READ_BLOCK:
            self._drain()

    def _drain(self) -> None:
        self._mac.update(self._buffer)
        self._out.write(self._buffer)
        self.bytes_written += len(self._buffer)
        self._buffer = bytearray()

    def _order(self, first: int, end: int) -> None:
        if first < self._next or end <= first:
            raise ValueError(f"manifest records out of order: segments [{first}, {end}) after {self._next}")
        self._next = end

    @property
    def spool(self) -> BinaryIO:
        return self._out

    def _map_to(self, index: int) -> None:
        self._map += bytes(index - self._mapped)
        self._mapped = index

    def segment(self, index: int, chunks: list[ChunkRef]) -> None:
        self._order(index, index + 1)
        self._map_to(index)
        self._map += varint(len(chunks) + 1)
        self._mapped += 1
        body = b"".join([ref.digest + varint(ref.raw_length) for ref in chunks])
        self._emit(b"\x01" + varint(index) + varint(len(chunks)) + varint(len(body)) + body)
        self.totals.segments += 1
        self.totals.chunks += len(chunks)
        self.totals.covered_bytes += segment_length(self.header.volume_bytes, self.header.segment_bytes, index)
        self.own_chunks += len(chunks)

    def parent_range(self, first: int, end: int, copied: Totals, counts: array) -> None:
        """Segments [first, end) are the parent's, which hold `copied` (for the totals) and `counts` chunks each
        (ABSENT where none; for the segment map)."""
        if not self.header.references_parent:
            raise ValueError("this manifest was not opened as an incremental one")
        self._order(first, end)
        self._map_to(first)
        self._map += b"".join([varint(count + 1) if count != ABSENT else b"\0" for count in counts])
        self._mapped = end
        self._emit(b"\x02" + varint(first) + varint(end))
        self.totals.segments += copied.segments
        self.totals.chunks += copied.chunks
        self.totals.covered_bytes += copied.covered_bytes

    def finish(self) -> bytes:
        t = self.totals
        self._map_to(self.header.segment_count)
        map_offset = self.bytes_written + len(self._buffer)
        self._emit(bytes([TAG_MAP]))
        self._emit(bytes(self._map))
        self._map = bytearray()
        self._emit(_TRAILER.pack(TAG_END, t.segments, t.chunks, t.covered_bytes, map_offset))
        self._drain()
        mac = self._mac.digest()
        self._out.write(mac)
        self.bytes_written += len(mac)
        self._out.flush()
        return mac


@dataclass(frozen=True)
class ParentRange:
    first: int
    end: int


def verify_mac(spool: BinaryIO, mac_key: bytes, source: str) -> bytes:
    """Check the MAC over the whole spooled file (before anything acts on it); returns it."""
    spool.seek(0, 2)
    size = spool.tell()
    if size < len(MAGIC) + _HEADER_LENGTH.size + _TRAILER.size + MAC_BYTES:
        raise ManifestError(f"{source}: truncated ({size} bytes): nothing is restored from it")
    spool.seek(0)
    mac, remaining = new_mac(mac_key), size - MAC_BYTES
    while remaining:
        block = spool.read(min(READ_BLOCK, remaining))
        if not block:
            raise ManifestError(f"{source}: the spooled copy shrank while it was read")
        mac.update(block)
        remaining -= len(block)
    stored = spool.read(MAC_BYTES)
    if not hmac.compare_digest(mac.digest(), stored):
        raise ManifestError(
            f"{source}: fails its integrity check (its MAC does not match the vault's key): it was edited, "
            "damaged or cut short; nothing is restored from it"
        )
    return stored


ParentOpener = Callable[[str, str], "ManifestFile"]


class ManifestFile(_ManifestView):
    """A version-3 manifest spooled on local disk whose MAC has been checked; read as a stream.

    `open_parent(asset_id, recovery_point_id)` opens the parent when a parent range is resolved."""

    def __init__(self, spool: BinaryIO, mac_key: bytes, source: str, open_parent: ParentOpener | None = None):
        self._spool = spool
        self.source = source
        self.mac = verify_mac(spool, mac_key, source)
        spool.seek(0)
        head = spool.read(64 * 1024)
        if head[: len(MAGIC)] != MAGIC:
            raise ManifestError(f"{source}: not a version-{BINARY_VERSION} manifest")
        self._records_start = self._header_end(head)
        if self._records_start > len(head):
            spool.seek(0)
            head = spool.read(self._records_start)
        self.header = read_header(head, source)
        if self.header is None:
            raise ManifestError(f"{source}: its header runs past the end")
        spool.seek(-(MAC_BYTES + _TRAILER.size), 2)
        self._map_end = spool.tell()
        tag, segments, chunks, covered, map_offset = _TRAILER.unpack(spool.read(_TRAILER.size))
        if tag != TAG_END or not len(MAGIC) < map_offset < self._map_end:
            raise ManifestError(f"{source}: has no end record or segment map; the manifest is damaged")
        spool.seek(map_offset)
        if spool.read(1) != bytes([TAG_MAP]):
            raise ManifestError(f"{source}: has no segment map; the manifest is damaged")
        self._records_end = map_offset
        self.totals = Totals(segments, chunks, covered)
        self._open_parent = open_parent
        self._parent: ManifestFile | None = None
        if self.header.depth > MAX_CHAIN_DEPTH or self._records_start > self._records_end:
            raise ManifestError(f"{source}: its chain depth or its layout is out of range; the manifest is damaged")

    @staticmethod
    def _header_end(head: bytes) -> int:
        return len(MAGIC) + _HEADER_LENGTH.size + _HEADER_LENGTH.unpack_from(head, len(MAGIC))[0]

    def __getattr__(self, name: str):
        # Header fields (recovery_point_id, volume_bytes, ...) read as the in-memory Manifest's do.
        if name.startswith("_") or name in ("header",):
            raise AttributeError(name)
        return getattr(self.header, name)

    @property
    def chunk_count(self) -> int:
        return self.totals.chunks

    @property
    def stored_logical_bytes(self) -> int:
        return self.totals.covered_bytes

    @property
    def spool(self) -> BinaryIO:
        return self._spool

    @property
    def spooled_bytes(self) -> int:
        return self._map_end + _TRAILER.size + MAC_BYTES

    def close(self) -> None:
        self._spool.close()
        if self._parent is not None:
            self._parent.close()

    def records(self, chunks: bool = True, seen=None) -> Iterator[Segment | ParentRange]:
        """This manifest's own records, checked as they are read (order, sizes, segment sums). With `chunks`
        false, a segment's chunks are not decoded (its `chunks` is a list of that many None): the MAC already
        vouches for them, and the segment table needs only their number.

        With `seen` (compaction's mark: engine/bounded.py `SeenSegments`), a segment whose record and length
        are exactly one yielded before is neither decoded nor yielded (it would decode to the same chunks and
        pass the same check); one yielded is added to `seen` when the consumer asks for the next record, so
        only after it handled every chunk of that segment."""
        decode = chunks
        source, header = self.source, self.header
        spool = self._spool
        offset = self._records_start  # positioned reads: several readers may share the spool (a chain's cursors)

        def read(length: int) -> bytes:
            nonlocal offset
            spool.seek(offset)
            block = spool.read(min(length, self._records_end - offset))
            offset += len(block)
            return block

        buffer, position, next_index = b"", 0, 0
        count_segments = header.segment_count
        while True:
            remaining = self._records_end - offset
            if len(buffer) - position < 64 and remaining:
                buffer, position = buffer[position:] + read(READ_BLOCK), 0
            if position >= len(buffer):
                return
            try:
                tag = buffer[position]
                if tag == TAG_SEGMENT:
                    index, position = _varint_at(buffer, position + 1)
                    count, position = _varint_at(buffer, position)
                    length, position = _varint_at(buffer, position)
                    if len(buffer) - position < length and offset < self._records_end:
                        buffer, position = buffer[position:] + read(max(READ_BLOCK, length)), 0
                    body, position = buffer[position : position + length], position + length
                    if len(body) != length:
                        raise ManifestError("a segment record runs past the end")
                    if index < next_index or index >= count_segments:
                        raise ManifestError(f"segment {index} is out of order or past the volume")
                    next_index = index + 1
                    if not decode:
                        yield Segment(index, [None] * count)
                        continue
                    key = None
                    if seen is not None:
                        key = seen.key(varint(self.segment_length(index)) + body)
                        if seen.seen(key):
                            continue
                    refs, at = [], 0
                    for _ in range(count):
                        digest = body[at : at + HASH_BYTES]
                        raw, at = _varint_at(body, at + HASH_BYTES)
                        refs.append(ChunkRef(digest, raw))
                    if at != length:
                        raise ManifestError(f"segment {index}'s record is {length} bytes, its chunks {at}")
                    _check_segment(source, self.segment_length(index), index, refs)
                    yield Segment(index, refs)
                    if key is not None:
                        seen.add(key)
                elif tag == TAG_PARENT:
                    first, position = _varint_at(buffer, position + 1)
                    end, position = _varint_at(buffer, position)
                    if not header.references_parent or first < next_index or end <= first or end > count_segments:
                        raise ManifestError(f"parent range [{first}, {end}) is out of order or not allowed")
                    next_index = end
                    yield ParentRange(first, end)
                else:
                    raise ManifestError(f"unknown record type {tag}")
            except ManifestError as error:
                raise ManifestError(f"{source}: {error}; the manifest is damaged") from None
            except IndexError:
                raise ManifestError(f"{source}: a record runs past the end; the manifest is damaged") from None

    def check(self) -> None:
        """Read every own record once (restore and scan do, before they act on any)."""
        for _ in self.records():
            pass

    def parent(self) -> ManifestFile:
        if self._parent is None:
            header = self.header
            if self._open_parent is None:
                raise ManifestError(f"{self.source}: references its parent, and no way to open it was given")
            parent = self._open_parent(header.asset_id, header.parent_recovery_point_id)
            if not hmac.compare_digest(parent.mac, header.parent_mac):
                raise ManifestError(
                    f"{self.source}: its parent {header.parent_recovery_point_id} is not the manifest it was "
                    "written against (MACs differ); nothing is restored from it"
                )
            if (parent.segment_bytes, parent.volume_bytes) != (header.segment_bytes, header.volume_bytes) or (
                parent.depth + 1 != header.depth
            ):
                raise ManifestError(f"{self.source}: its parent's layout or chain depth does not match")
            self._parent = parent
        return self._parent

    def iter_segments(self) -> Iterator[Segment]:
        """The resolved segments in order: parent ranges read through the chain (one cursor per level)."""
        seen = Totals()
        cursor: _Cursor | None = None
        for record in self.records():
            if isinstance(record, Segment):
                seen.segments += 1
                seen.chunks += len(record.chunks)
                yield record
                continue
            cursor = cursor or _Cursor(self.parent().iter_segments())
            for segment in cursor.until(record.end):
                if segment.index >= record.first:
                    seen.segments += 1
                    seen.chunks += len(segment.chunks)
                    yield segment
        if (seen.segments, seen.chunks) != (self.totals.segments, self.totals.chunks):
            raise ManifestError(
                f"{self.source}: resolves to {seen.segments} segments and {seen.chunks} chunks, it records "
                f"{self.totals.segments} and {self.totals.chunks}; the manifest or its parent is damaged"
            )

    def segment_table(self) -> array:
        """Chunks per segment of the resolved manifest (ABSENT where it holds no segment), from its segment map:
        4 bytes a segment, and no read of the chain."""
        self._spool.seek(self._records_end + 1)
        data = self._spool.read(self._map_end - self._records_end - 1)
        if data and max(data) < 0x80:  # every count below 127: one byte each
            table = array("i", array("B", data))  # (a bytes initializer would be read as packed ints)
        else:
            table, position = array("i"), 0
            while position < len(data):
                value, position = _varint_at(data, position)
                table.append(value)
        if len(table) != self.header.segment_count:
            raise ManifestError(f"{self.source}: its segment map has {len(table)} segments; the manifest is damaged")
        for index, value in enumerate(table):
            table[index] = value - 1  # 0 (no segment) becomes ABSENT
        return table

    def as_manifest(self) -> Manifest:
        """The whole resolved manifest in memory (tests, small tools)."""
        h = self.header
        manifest = Manifest(
            h.vault_name, h.asset_id, h.recovery_point_id, h.snapshot_id, h.volume_bytes, h.segment_bytes,
            h.chunker, h.created_at, h.parent_recovery_point_id,
        )  # fmt: skip
        for segment in self.iter_segments():
            manifest.segments[segment.index] = segment
        return manifest


def segment_table(manifest: _ManifestView) -> array:
    """Chunks per segment (ABSENT where none) of any manifest: 4 bytes a segment, a 16 TiB volume's 128 MiB."""
    if isinstance(manifest, ManifestFile):
        return manifest.segment_table()
    count = -(-manifest.volume_bytes // manifest.segment_bytes)
    table = array("i", [ABSENT]) * count
    for segment in manifest.iter_segments():
        table[segment.index] = len(segment.chunks)
    return table


class _Cursor:
    """Reads an ordered segment stream up to a bound without consuming what lies beyond it."""

    def __init__(self, segments: Iterator[Segment]):
        self._segments = segments
        self._pending: Segment | None = None

    def until(self, end: int) -> Iterator[Segment]:
        while True:
            if self._pending is None:
                self._pending = next(self._segments, None)
                if self._pending is None:
                    return
            if self._pending.index >= end:
                return
            segment, self._pending = self._pending, None
            yield segment


class BackupManifest:
    """A backup's manifest as its segments settle: read segments arrive in increasing order, and the segments
    copied from the parent are written between them, as parent ranges (`by_reference`) or, for a full
    manifest, as explicit records streamed from the parent. Consecutive copied segments form one range, and
    so do copies separated only by segments neither the parent nor this backup holds."""

    def __init__(
        self,
        writer: ManifestWriter,
        parent: _ManifestView | None,
        parent_table: array | None,
        to_copy: Iterator[int],
        by_reference: bool,
    ):
        self.writer = writer
        self._table = parent_table
        self._copies = iter(to_copy)
        self._next_copy = next(self._copies, None)
        self._by_reference = by_reference
        self._run: list[int] | None = None  # [first, end) of the open parent range
        self._run_totals = Totals()
        self._parent = _Cursor(parent.iter_segments()) if parent is not None and not by_reference else None

    def segment(self, index: int, chunks: list[ChunkRef]) -> None:
        self._copy_before(index)
        self._close_run()
        self.writer.segment(index, chunks)

    def finish(self) -> bytes:
        self._copy_before(None)
        self._close_run()
        return self.writer.finish()

    def _copy_before(self, bound: int | None) -> None:
        header = self.writer.header
        while self._next_copy is not None and (bound is None or self._next_copy < bound):
            index = self._next_copy
            self._next_copy = next(self._copies, None)
            if not self._by_reference:
                for segment in self._parent.until(index + 1):
                    if segment.index == index:
                        self.writer.segment(index, segment.chunks)
                continue
            run, table = self._run, self._table
            if run is not None and all(table[gap] == ABSENT for gap in range(run[1], index)):
                run[1] = index + 1
            else:
                self._close_run()
                self._run = [index, index + 1]
            self._run_totals.segments += 1
            self._run_totals.chunks += table[index]
            self._run_totals.covered_bytes += segment_length(header.volume_bytes, header.segment_bytes, index)

    def _close_run(self) -> None:
        if self._run is not None:
            first, end = self._run
            self.writer.parent_range(first, end, self._run_totals, self._table[first:end])
            self._run, self._run_totals = None, Totals()


def manifest_key(asset_id: str, recovery_point_id: str, version: int = BINARY_VERSION) -> str:
    suffix = "manifest" if version >= BINARY_VERSION else "json"
    return f"manifests/{asset_id}/{recovery_point_id}.{suffix}"


MANIFEST_SUFFIXES = (".manifest", ".json")


def is_manifest_key(key: str) -> bool:
    return key.startswith("manifests/") and key.endswith(MANIFEST_SUFFIXES)

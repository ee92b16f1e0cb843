"""Sets of chunk digests whose memory does not grow with the volume (issue 14: 16 TiB, ~270 M chunks, in 8 GiB).

- `RecentDigests`: the last `capacity` digests a job saw (a backup's "already stored or secured", a scan's
  "already checked"). Forgetting an old one only costs work: a backup looks the chunk up in the index again
  (and may store a duplicate copy if its pack is still uploading: garbage compaction reclaims), a scan
  checks a chunk twice. Never a wrong answer.
- `DigestFilter`: a Bloom filter, 16 bits and 4 probes a digest (about 2 bytes a chunk, 0.24% false
  positives). Compaction's mark uses it for "is this digest live?": a false positive keeps a dead chunk for
  another run (garbage, the safe side; the filter is salted per run, so a later run collects it); there are
  no false negatives, so no live chunk is ever collected.
  Chosen over an external sort of the live set because the sweep asks in pack order, not digest order, and
  a probe is four bit reads where an on-disk sorted set would be a binary search per chunk. Digests are
  keyed BLAKE2b-256 output, uniformly distributed, so the probes are read from the digest's own bytes.
- `LiveSet`: the filter plus a spool file of the distinct digests added (32 bytes a unique chunk on ephemeral
  storage), so compaction can still walk the live chunks (to report those the index lacks). A digest the
  filter already answers for is not spooled again: the live manifests list each chunk once per full manifest
  (13 times at 90 days of retention, 42 at 365), and the spool must not grow with them. Adding such a digest
  to the filter would change no bit (all its probes are set: that is what "in the filter" means), so the
  filter, the only thing compaction's deletions ask, is the same as if every reference had been added; only
  the walk misses a digest whose first sight was a false positive (engine/README.md, "The mark's bounds").
- `SeenSegments`: the segments (exact chunk lists) the mark already streamed into a filter this run, so a full
  manifest's segments that earlier manifests listed are not offered to the filter again. Exact, not a Bloom
  filter: a key is a 16-byte BLAKE2b of the segment's record under a per-run random key, so a segment is
  skipped only if its chunk list is byte-for-byte one already marked (a collision would need ~2^63 work against
  a key nobody outside the run knows). Bounded (16-byte slots, 21-43 bytes a segment, at most 1 GiB): a
  segment it does not remember is only marked again, which changes no filter bit.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import tempfile
from collections.abc import Iterator

from engine.index import WORK_DIR_ENV

BITS_PER_DIGEST = 16
_PROBES = struct.Struct("<4Q")
_MASK64 = (1 << 64) - 1


def spool_file():
    """An anonymous file on the task's ephemeral storage (`ELASTIO_ENGINE_WORK_DIR`, where the index's local
    copy lives too, else the temp dir), removed when closed or when the process ends."""
    return tempfile.TemporaryFile(dir=os.environ.get(WORK_DIR_ENV) or None, prefix="elastio-spool-")


class RecentDigests:
    """The recently added digests, between `capacity / 2` and `capacity` of them (about 100 bytes each): two
    generations of sets; when the newer fills, the older is dropped (O(1), unlike evicting one at a time)."""

    def __init__(self, capacity: int = 1 << 20):
        self._generation = max(1, capacity // 2)
        self._newer: set[bytes] = set()
        self._older: set[bytes] = set()

    def __contains__(self, digest: bytes) -> bool:
        return digest in self._newer or digest in self._older

    def __len__(self) -> int:
        return len(self._newer | self._older)

    def add(self, digest: bytes) -> None:
        if digest in self._newer:
            return
        self._newer.add(digest)
        if len(self._newer) >= self._generation:
            self._older, self._newer = self._newer, set()


# At most this many segments remembered: a table of at most 2^26 16-byte slots (1 GiB, 3/4 full). The engine's
# segments are 512 KiB (ELASTIO_ENGINE_SEGMENT_BYTES), so a 16 TiB volume has ~33.5 M: one volume's whole
# full manifest fits, with the segments its incrementals changed. A set of bytes objects held 81 bytes a key
# (tracemalloc, 1 M keys): 2.7 GiB for those 33.5 M.
SEEN_SEGMENTS_CAPACITY = 3 << 24
_EMPTY_SLOT = bytes(16)


class SeenSegments:
    """Exact set of segment keys marked this run: open addressing, 16 bytes a slot, at most 3/4 full (the
    table doubles as keys arrive, so it holds 21-43 bytes per key), up to `capacity` keys; once full it
    remembers no more (a later segment is marked again: work, never a wrong answer; the ones it holds keep
    being skipped, which a scan of manifests larger than it would not get from evicting the oldest).
    `key(record)` is the salted 16-byte BLAKE2b of the bytes that fix a segment's chunk list (and its length
    check), with its low bit set so that no key equals an empty slot."""

    def __init__(self, capacity: int = SEEN_SEGMENTS_CAPACITY):
        self._salt = secrets.token_bytes(16)
        self.capacity = max(1, min(capacity, SEEN_SEGMENTS_CAPACITY))
        self._table = bytearray(16 << 12)
        self._mask = (1 << 12) - 1
        self._count = 0

    @property
    def memory_bytes(self) -> int:
        return len(self._table)

    def key(self, record: bytes) -> bytes:
        key = bytearray(hashlib.blake2b(record, digest_size=16, key=self._salt).digest())
        key[0] |= 1
        return bytes(key)

    def __len__(self) -> int:
        return self._count

    def _slot(self, key: bytes) -> tuple[int, bool]:
        """The offset of the slot holding `key` (True), else of the empty slot where it would go (False)."""
        table, mask = self._table, self._mask
        slot = int.from_bytes(key[8:], "little") & mask
        while True:
            offset = slot * 16
            held = table[offset : offset + 16]
            if held == key:
                return offset, True
            if held == _EMPTY_SLOT:
                return offset, False
            slot = (slot + 1) & mask

    def seen(self, key: bytes) -> bool:
        return self._slot(key)[1]

    def add(self, key: bytes) -> None:
        """Only after every chunk of the segment is in the filter."""
        if self._count >= self.capacity:
            return
        if 4 * (self._count + 1) > 3 * (self._mask + 1):  # keep it at most 3/4 full: every probe ends
            self._grow()
        offset, held = self._slot(key)
        if not held:
            self._table[offset : offset + 16] = key
            self._count += 1

    def _grow(self) -> None:
        old = self._table
        self._table = bytearray(2 * len(old))
        self._mask = 2 * self._mask + 1
        for offset in range(0, len(old), 16):
            key = bytes(old[offset : offset + 16])
            if key != _EMPTY_SLOT:
                at, _ = self._slot(key)
                self._table[at : at + 16] = key


class DigestFilter:
    """Bloom filter over uniformly random 32-byte digests: no false negatives. Each filter mixes the digest's
    words with its own random odd multiplier, so the chunks one run's false positives keep are not the next
    run's: garbage a false positive kept is collected later."""

    def __init__(self, expected: int):
        self._bits = max(1 << 16, expected * BITS_PER_DIGEST)
        self._array = bytearray(self._bits // 8 + 1)
        self._salt = secrets.randbits(64) | 1

    @property
    def memory_bytes(self) -> int:
        return len(self._array)

    def add(self, digest: bytes) -> None:
        bits, array, salt = self._bits, self._array, self._salt
        for word in _PROBES.unpack_from(digest):
            bit = (word * salt & _MASK64) % bits
            array[bit >> 3] |= 1 << (bit & 7)

    def update(self, digests) -> None:
        for digest in digests:
            self.add(digest)

    def __contains__(self, digest: bytes) -> bool:
        bits, array, salt = self._bits, self._array, self._salt
        for word in _PROBES.unpack_from(digest):
            bit = (word * salt & _MASK64) % bits
            if not array[bit >> 3] & (1 << (bit & 7)):
                return False
        return True


class LiveSet:
    """Compaction's mark: `in` answers from the filter (false positives keep garbage), iteration reads the
    spooled digests back: each digest at most once, so the spool holds at most one digest per unique chunk
    however many manifests list it (a digest first seen as a false positive is not spooled at all)."""

    def __init__(self, expected: int):
        self.filter = DigestFilter(expected)
        self.expected = expected
        self._spool = spool_file()
        self._buffer = bytearray()
        self.added = 0  # digests spooled: the distinct ones, less those first seen as false positives
        self.references = 0  # digests offered: one per chunk reference in the manifests marked

    def add(self, digest: bytes) -> None:
        self.references += 1
        if digest in self.filter:
            return  # every bit it would set is set already: the filter is unchanged, and it was spooled before
        self.filter.add(digest)
        self._buffer += digest
        self.added += 1
        if len(self._buffer) >= 1 << 20:
            self._spool.write(self._buffer)
            self._buffer = bytearray()

    def __contains__(self, digest: bytes) -> bool:
        return digest in self.filter

    def __len__(self) -> int:
        """Distinct digests spooled (within the filter's false positives of the distinct live chunks)."""
        return self.added

    @property
    def overfull(self) -> bool:
        """More distinct digests than the filter was sized for: more false positives (garbage kept), no harm."""
        return self.added > self.expected

    def __sub__(self, other) -> list[bytes]:
        """The live digests not in `other` (any container): streamed from the spool, for reports."""
        return [digest for digest in self if digest not in other]

    def __iter__(self) -> Iterator[bytes]:
        self._spool.write(self._buffer)
        self._buffer = bytearray()
        self._spool.flush()
        self._spool.seek(0)
        while block := self._spool.read(32 << 15):
            for start in range(0, len(block), 32):
                yield block[start : start + 32]
        self._spool.seek(0, 2)

    @property
    def spooled_bytes(self) -> int:
        return self.added * 32

    def close(self) -> None:
        self._spool.close()

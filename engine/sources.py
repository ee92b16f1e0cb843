"""Where backup data comes from: an EBS snapshot (direct APIs) or a raw image file (local use, measuring).

Both are read as fixed-size segments (see manifest.py); a segment is returned zero-filled where the
source has no data.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from botocore.exceptions import ClientError

from engine.ebs import EbsDirect


class SourceError(ValueError):
    pass


class VolumeSource(Protocol):
    volume_bytes: int
    snapshot_id: str

    def segments_with_data(self, segment_bytes: int) -> Iterable[int]:
        """Segments that hold data, ascending, each once (streamed: nothing per segment is kept)."""

    def changed_segments(self, parent_snapshot_id: str, segment_bytes: int) -> Iterable[int] | None:
        """Segments that may differ from the parent snapshot, ascending; None when the source cannot tell."""

    def read_segments(self, indexes: Iterable[int], segment_bytes: int) -> Iterator[tuple[int, bytes]]: ...


def _incomparable(error: ClientError) -> bool:
    """ListChangedBlocks' answer when the first snapshot is gone or unrelated (EBS direct APIs errors:
    ResourceNotFoundException SNAPSHOT_NOT_FOUND, ValidationException UNRELATED_SNAPSHOTS,
    https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListChangedBlocks.html)."""
    code = error.response.get("Error", {}).get("Code")
    reason = error.response.get("Reason") or error.response.get("Error", {}).get("Reason")
    return code == "ResourceNotFoundException" or (code == "ValidationException" and reason == "UNRELATED_SNAPSHOTS")


def segment_length(index: int, segment_bytes: int, volume_bytes: int) -> int:
    return max(0, min(segment_bytes, volume_bytes - index * segment_bytes))


def _segments_of(blocks: Iterable[int], per: int) -> Iterator[int]:
    """Ascending block indexes -> the ascending segments they fall in, each once."""
    last = -1
    for block in blocks:
        segment = block // per
        if segment != last:
            yield segment
            last = segment


class EbsSnapshotSource:
    """A snapshot read through the EBS direct APIs. Its block listing is streamed: the segments with data and
    the changed ones come page by page, and reading lists tokens as it goes (engine/ebs.py), so the source
    holds nothing per block of the snapshot."""

    def __init__(self, ebs: EbsDirect, snapshot_id: str):
        self._ebs = ebs
        self.snapshot_id = snapshot_id
        shape = ebs.shape(snapshot_id)
        self.volume_bytes, self._block_size = shape.volume_bytes, shape.block_size

    def _blocks_per_segment(self, segment_bytes: int) -> int:
        block = self._block_size
        if segment_bytes % block:
            raise SourceError(
                f"segment size {segment_bytes} is not a multiple of the snapshot's block size {block}; "
                f"set ELASTIO_ENGINE_SEGMENT_BYTES to a multiple of {block}"
            )
        return segment_bytes // block

    def segments_with_data(self, segment_bytes: int) -> Iterator[int]:
        per = self._blocks_per_segment(segment_bytes)
        return _segments_of(self._ebs.snapshot_blocks(self.snapshot_id), per)

    def changed_segments(self, parent_snapshot_id: str, segment_bytes: int) -> Iterator[int] | None:
        """None when EBS cannot compare with the parent's snapshot: it was deleted, or it is of another volume
        lineage (the asset's volume was replaced). The backup then reads every segment (the index still
        dedups) rather than failing at every run from now on. Otherwise streamed: the first page is asked for
        here (that is where EBS refuses), the rest as the plan reaches it."""
        per = self._blocks_per_segment(segment_bytes)
        changed = self._ebs.changed_blocks(parent_snapshot_id, self.snapshot_id)
        try:
            first = next(changed, None)
        except ClientError as error:
            if not _incomparable(error):
                raise
            return None
        return _segments_of(itertools.chain(() if first is None else (first,), changed), per)

    def read_segments(self, indexes: Iterable[int], segment_bytes: int) -> Iterator[tuple[int, bytes]]:
        """`indexes` ascending (a backup's plan); each segment zero-filled where the snapshot has no data."""
        per = self._blocks_per_segment(segment_bytes)
        block = self._block_size
        # The segments asked for whose blocks the reads have reached: the reads pull ranges as they go, so this
        # holds at most their window ahead (engine/ebs.py), never the plan.
        wanted: deque[int] = deque()

        def ranges() -> Iterator[tuple[int, int]]:
            for segment in indexes:
                wanted.append(segment)
                yield segment * per, (segment + 1) * per

        reads = self._ebs.read_blocks(self.snapshot_id, ranges())
        pending = next(reads, None)
        while wanted or pending is not None:
            segment = wanted.popleft()  # a block read is always of a segment already pulled
            length = segment_length(segment, segment_bytes, self.volume_bytes)
            if per == 1 and pending is not None and pending[0] == segment and len(pending[1]) == length:
                # A segment of one whole block (the default: both 512 KiB) is that block's bytes: no buffer to
                # zero and fill, no copy (measured: a third of the backup's main-process time with I/O).
                yield segment, pending[1]
                pending = next(reads, None)
                continue
            buffer = bytearray(length)
            while pending is not None and segment * per <= pending[0] < (segment + 1) * per:
                offset = (pending[0] - segment * per) * block
                buffer[offset : offset + len(pending[1])] = pending[1]
                pending = next(reads, None)
            yield segment, bytes(buffer)


class ImageFileSource:
    """A raw volume image on disk. No change tracking: every segment is re-chunked (the index dedups)."""

    def __init__(self, path: Path, snapshot_id: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such image file")
        self.volume_bytes = self.path.stat().st_size
        self.snapshot_id = snapshot_id or f"file:{self.path.name}"

    def segments_with_data(self, segment_bytes: int) -> range:
        return range(-(-self.volume_bytes // segment_bytes))

    def changed_segments(self, parent_snapshot_id: str, segment_bytes: int) -> None:
        return None

    def read_segments(self, indexes: Iterable[int], segment_bytes: int) -> Iterator[tuple[int, bytes]]:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for index in indexes:
                length = segment_length(index, segment_bytes, self.volume_bytes)
                yield index, os.pread(fd, length, index * segment_bytes)
        finally:
            os.close(fd)

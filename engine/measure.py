"""Measure dedup and compression of real data with the engine's own chunker and compressor.

Used by `python -m cost --sample PATH`: the measured factors replace a data profile's assumptions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.chunking import ChunkerSettings, Codec, split

READ_BYTES = 64 * 1024 * 1024


class MeasureError(ValueError):
    pass


@dataclass(frozen=True)
class SampleMeasurement:
    path: str
    files: int
    logical_bytes: int  # bytes read
    unique_bytes: int  # after dedup, before compression
    stored_bytes: int  # after dedup and compression: what the vault would store
    chunks: int
    unique_chunks: int

    @property
    def dedup_factor(self) -> float:
        return self.logical_bytes / self.unique_bytes if self.unique_bytes else 1.0

    @property
    def compression_factor(self) -> float:
        return self.unique_bytes / self.stored_bytes if self.stored_bytes else 1.0

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "files": self.files,
            "logicalBytes": self.logical_bytes,
            "uniqueBytes": self.unique_bytes,
            "storedBytes": self.stored_bytes,
            "chunks": self.chunks,
            "uniqueChunks": self.unique_chunks,
            "dedupFactor": round(self.dedup_factor, 3),
            "compressionFactor": round(self.compression_factor, 3),
        }


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def measure_path(path: str | os.PathLike, settings: ChunkerSettings | None = None) -> SampleMeasurement:
    """Chunk every regular file under `path` (or `path` itself) as one stream of volume data.

    Files are chunked one by one, in large reads cut at chunk boundaries, so memory stays bounded.
    """
    settings = settings or ChunkerSettings()
    root = Path(path)
    if not root.exists():
        raise MeasureError(f"{root}: no such file or directory")
    codec = Codec(settings.zstd_level)
    seen: set[bytes] = set()
    files = logical = unique = stored = chunks = 0
    for file in _files(root):
        try:
            handle = file.open("rb")
        except OSError as error:
            raise MeasureError(f"{root}: cannot read {file} ({error.strerror})") from error
        files += 1
        with handle:
            carry = b""
            while True:
                block = handle.read(READ_BYTES)
                data = carry + block
                if not data:
                    break
                pieces = list(split(data, settings))
                # Keep the last piece of a full read for the next round: its end is not a real boundary.
                if block and len(pieces) > 1:
                    carry = bytes(pieces[-1].data)
                    pieces = pieces[:-1]
                else:
                    carry = b""
                for piece in pieces:
                    chunks += 1
                    logical += len(piece.data)
                    if piece.digest not in seen:
                        seen.add(piece.digest)
                        unique += len(piece.data)
                        stored += len(codec.compress(piece.data))
                if not block:
                    break
    if files == 0 or logical == 0:
        raise MeasureError(f"{root}: found no data to measure (empty file or directory)")
    return SampleMeasurement(str(root), files, logical, unique, stored, chunks, len(seen))

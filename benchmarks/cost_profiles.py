"""Measure dedup and compression factors of real file trees with the engine's own chunker and compressor.

The cost model's data profiles cite these runs (cost/profiles.py). Not a test: run it by hand, e.g.

    .venv/bin/python benchmarks/cost_profiles.py general /usr --mib 1024
    .venv/bin/python benchmarks/cost_profiles.py media / --mib 512 --ext jpg,jpeg,png,gz,xz,bz2,zip,whl,zst

Files are read in sorted path order and treated as one volume image (a file tree on a disk); chunks are
deduplicated within the run, as within one vault, and each new chunk is compressed on its own, as the
engine stores it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.chunking import ChunkerSettings, Codec, split  # noqa: E402

MIB = 1024 * 1024
SKIP = ("/proc", "/sys", "/dev", "/run", "/tmp")


def files(root: Path, extensions: set[str] | None) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not os.path.join(dirpath, d).startswith(SKIP))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if extensions and path.suffix.lower().lstrip(".") not in extensions:
                continue
            if path.is_file() and not path.is_symlink():
                yield path


def measure(root: Path, limit: int, extensions: set[str] | None) -> dict[str, float]:
    settings = ChunkerSettings()
    codec = Codec(settings.zstd_level)
    seen: set[bytes] = set()
    logical = unique_raw = stored = 0
    started = time.perf_counter()
    for path in files(root, extensions):
        if logical >= limit:
            break
        try:
            data = path.read_bytes()[: limit - logical]
        except OSError:
            continue
        for chunk in split(data, settings):
            logical += len(chunk.data)
            if chunk.digest in seen:
                continue
            seen.add(chunk.digest)
            unique_raw += len(chunk.data)
            stored += len(codec.compress(chunk.data))
    return {
        "logical_mib": logical / MIB,
        "dedup_factor": logical / max(unique_raw, 1),
        "compression_factor": unique_raw / max(stored, 1),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label")
    parser.add_argument("root", type=Path)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--ext", default="", help="comma-separated file extensions to include (default: all)")
    args = parser.parse_args()
    extensions = {e.strip().lower() for e in args.ext.split(",") if e.strip()} or None
    result = measure(args.root, args.mib * MIB, extensions)
    print(
        f"{args.label}: {result['logical_mib']:.0f} MiB of {args.root} -> "
        f"dedup {result['dedup_factor']:.3f}x, "
        f"compression {result['compression_factor']:.3f}x (zstd level {ChunkerSettings().zstd_level}, "
        f"avg chunk {ChunkerSettings().avg_size // 1024} KiB) in {result['seconds']:.1f}s"
    )


if __name__ == "__main__":
    main()

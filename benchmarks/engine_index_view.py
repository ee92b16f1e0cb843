"""The local index view a job loads (engine/index.py): bytes per chunk in S3 and on local disk, load and lookup
speed, for one merged blob of synthetic entries (random digests, 1000 chunks per pack).

Scaled to 16 TiB of unique data (~270 M chunks): S3 bytes and disk bytes grow linearly; memory does not (the
view streams each blob into SQLite, whose page cache is capped at 64 MiB). Timings on a shared machine vary.

    .venv/bin/python benchmarks/engine_index_view.py [--entries 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from engine.index import IndexView, encode_blob  # noqa: E402
from engine.packs import IndexEntry  # noqa: E402

CHUNKS_16_TIB = 270e6


def resident_bytes() -> int:
    """Current resident set size (Linux /proc), not the peak: the blob built above is already counted."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    n = parser.parse_args().entries
    packs = [f"packs/{os.urandom(16).hex()}.pack" for _ in range(-(-n // 1000))]
    blob = encode_blob(
        IndexEntry(os.urandom(32), packs[i // 1000], (i % 1000) * 30000, 30000, 65536) for i in range(n)
    )
    before = resident_bytes()
    with IndexView() as view:
        began = time.perf_counter()
        view.add_blob(blob)
        load = time.perf_counter() - began
        disk = os.path.getsize(os.path.join(view._dir, "index.sqlite"))
        grown = resident_bytes() - before
        sample = [os.urandom(32) for _ in range(5000)]
        began = time.perf_counter()
        view.usable(sample)
        lookup = (time.perf_counter() - began) / len(sample)
    print(f"entries        {n:,} (one merged blob)")
    print(f"in S3          {len(blob) / n:.1f} bytes per chunk   16 TiB: {len(blob) / n * CHUNKS_16_TIB / 1e9:.0f} GB")
    print(f"on local disk  {disk / n:.0f} bytes per chunk   16 TiB: {disk / n * CHUNKS_16_TIB / 1e9:.0f} GB "
          "(target: within 200 GiB of ephemeral storage)")  # fmt: skip
    print(f"load           {n / load:,.0f} chunks/s   16 TiB: {CHUNKS_16_TIB / (n / load) / 60:.0f} min per job")
    print(f"lookup         {lookup * 1e6:.0f} us per chunk (batches of 500)")
    print(f"memory         +{grown / 2**20:.0f} MiB resident after loading (SQLite's page cache, capped at 64 MiB)")


if __name__ == "__main__":
    main()

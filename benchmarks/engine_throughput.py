"""Chunk + hash + compress throughput of the vault engine, per core, on generated data with a realistic mix.

Prints MB/s and the dedup / compression ratios it measured. Not a test: run it by hand.

    .venv/bin/python benchmarks/engine_throughput.py [--mib 1024] [--zstd-level 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.chunking import ChunkerSettings, Codec, split  # noqa: E402

MIB = 1024 * 1024


def realistic_mix(total: int, seed: int = 7) -> bytearray:
    """Text-like data, incompressible data, zero runs and duplicated regions, interleaved in 1-8 MiB runs."""
    rng = random.Random(seed)
    # Incompressible runs come from their own seeded stream: runs repeat, and the layout is still rng's alone.
    noise = random.Random(seed + 1_000_003)
    words = [
        bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(5000)
    ]
    out = bytearray()
    while len(out) < total:
        run = min(total - len(out), rng.randint(1, 8) * MIB)
        kind = rng.choices(["text", "random", "zeros", "duplicate"], weights=[35, 30, 15, 20])[0]
        if kind == "text":
            piece = b" ".join(rng.choice(words) for _ in range(run // 5))[:run]
        elif kind == "random":
            piece = noise.randbytes(run)  # stands in for already-compressed media
        elif kind == "zeros":
            piece = bytes(run)
        elif len(out) > run:
            start = rng.randrange(0, len(out) - run)
            piece = bytes(out[start : start + run])
        else:
            piece = noise.randbytes(run)
        out += piece
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mib", type=int, default=1024, help="amount of generated data (default 1024 = 1 GiB)"
    )
    parser.add_argument("--zstd-level", type=int, default=1)
    args = parser.parse_args()

    data = realistic_mix(args.mib * MIB)
    settings = ChunkerSettings(zstd_level=args.zstd_level)
    codec = Codec(settings.zstd_level)
    seen: set[bytes] = set()
    stored = unique_raw = chunks = 0
    began = time.process_time()
    for chunk in split(data, settings):
        chunks += 1
        if chunk.digest in seen:
            continue
        seen.add(chunk.digest)
        unique_raw += len(chunk.data)
        stored += len(codec.compress(chunk.data))
    cpu_seconds = time.process_time() - began

    logical = len(data)
    print(
        f"data           {logical / MIB:,.0f} MiB generated (text, incompressible, zeros, duplicated regions)"
    )
    print(f"chunks         {chunks:,} (avg {logical / chunks / 1024:,.1f} KiB), {len(seen):,} unique")
    print(
        f"throughput     {logical / MIB / cpu_seconds:,.0f} MiB/s per core "
        f"(chunk + BLAKE2b-256 + zstd-{settings.zstd_level})"
    )
    print(f"dedup factor   {logical / unique_raw:.2f}x")
    print(f"compression    {unique_raw / stored:.2f}x")
    print(f"stored         {stored / MIB:,.0f} MiB ({stored / logical:.1%} of logical)")
    print("target         >= 200 MiB/s per core")


if __name__ == "__main__":
    main()

"""Metadata memory of the engine's jobs, per chunk, measured on synthetic chunks and scaled to volume sizes.

What each job holds per chunk today: a backup its manifest (ChunkRef per chunk) and the set of digests it
has seen; restore and scan the manifest; compaction the live set (the index itself is on local disk,
engine/index.py: benchmarks/engine_index_view.py measures it). Measured
with tracemalloc on `--chunks` synthetic chunks (random digests, 64 KiB average), then scaled to 1 TiB
(~16.8 M chunks) and 16 TiB (~270 M). Target (issue 14): a 16 TiB volume within an 8 GiB task, i.e. about
30 bytes per chunk in memory; the manifest's bytes per chunk in S3 are printed too.

    .venv/bin/python benchmarks/engine_memory.py [--chunks 200000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.manifest import ChunkRef, Manifest, Segment  # noqa: E402

KIB, GIB, TIB = 1024, 1024**3, 1024**4
CHUNK_AVG = 64 * KIB
SEGMENT = 512 * KIB
TASK_BYTES = 8 * GIB
TARGET_VOLUME = 16 * TIB


def synthetic_manifest(chunks: int) -> Manifest:
    rng = random.Random(5)
    manifest = Manifest("v", "vol-1", "rp-1", "snap-1", chunks * CHUNK_AVG, SEGMENT, {}, "2026-12-02T00:00:00Z")
    per_segment = SEGMENT // CHUNK_AVG
    for index in range(chunks // per_segment):
        lengths = [rng.randint(CHUNK_AVG // 2, CHUNK_AVG * 3 // 2) for _ in range(per_segment - 1)]
        lengths.append(SEGMENT - sum(lengths))
        manifest.segments[index] = Segment(index, [ChunkRef(os.urandom(32), n) for n in lengths])
    return manifest


def measured(build, peak: bool = False) -> tuple[int, object]:
    """Bytes `build()` leaves allocated (or, with `peak`, the most it held at once)."""
    tracemalloc.start()
    value = build()
    current, highest = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (highest if peak else current), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200_000)
    args = parser.parse_args()
    n = args.chunks - args.chunks % (SEGMENT // CHUNK_AVG)

    manifest_bytes, manifest = measured(lambda: synthetic_manifest(n))
    digests = [ref.digest for ref in manifest.chunk_refs()]
    seen_bytes, _ = measured(lambda: set(digests))
    write_peak, body = measured(lambda: manifest.to_json(b"k" * 32), peak=True)
    stored = len(body)

    jobs = {
        "backup (manifest + seen set + writing it)": manifest_bytes + seen_bytes + write_peak,
        "restore / scan (manifest)": manifest_bytes,
        "compaction (live set)": seen_bytes,
    }
    per_tib = TIB / CHUNK_AVG
    budget = TASK_BYTES / (TARGET_VOLUME / CHUNK_AVG)
    print(f"synthetic      {n:,} chunks of 64 KiB average in 512 KiB segments")
    per_chunk_stored = stored / n
    print(f"manifest file  {per_chunk_stored:,.0f} bytes/chunk in S3 (JSON + MAC): "
          f"{per_chunk_stored * per_tib / GIB:,.2f} GiB per TiB")  # fmt: skip
    for job, size in jobs.items():
        per_chunk = size / n
        verdict = "OK" if per_chunk <= budget else "ABOVE TARGET"
        print(f"{job:44} {per_chunk:6,.0f} bytes/chunk in memory: {per_chunk * per_tib / GIB:5.1f} GiB per TiB, "
              f"{per_chunk * TARGET_VOLUME / CHUNK_AVG / GIB:6.0f} GiB at 16 TiB   target <= {budget:.0f} "
              f"bytes/chunk (16 TiB in 8 GiB)   {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()

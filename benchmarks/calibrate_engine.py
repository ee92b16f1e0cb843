"""Calibration: the engine's own operation counts per GB over a synthetic volume history, for the cost model.

Runs a full backup and then daily incremental backups of a generated volume (EBS fake with 512 KiB blocks;
S3 and DynamoDB in memory), each day rewriting `--change-rate` of the volume in runs of `--run-kib` at random
places and followed by the vault's daily compaction (which merges the day's index blob), and counts what the
engine asks of AWS. Writes the per-GB figures with their provenance (parameters,
date, engine commit, the data's measured dedup and compression) to `cost/engine_calibration.json`; the cost
model's operation counts (cost/assumptions.py, cost/usage.py) are to be read from there.

    .venv/bin/python benchmarks/calibrate_engine.py [--mib 256] [--days 5] [--change-rate 0.02] [--run-kib 1024]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from engine_io_throughput import SlowDynamoDB, SlowS3  # noqa: E402
from engine_throughput import realistic_mix  # noqa: E402

from engine.backup import BackupRequest, EngineSettings, run_backup  # noqa: E402
from engine.compact import MERGE_PART_ENTRIES, CompactionSettings, run_compaction  # noqa: E402
from engine.ebs import EbsDirect  # noqa: E402
from engine.index import ENTRY, ChunkIndex, decode_blob  # noqa: E402
from engine.jobs import JobRecord  # noqa: E402
from engine.manifest import MAX_CHAIN_DEPTH  # noqa: E402
from engine.packs import VaultBucket  # noqa: E402
from engine.sources import EbsSnapshotSource  # noqa: E402
from engine.vault import Vault  # noqa: E402
from engine.vaultconfig import VaultKey  # noqa: E402
from tests.fakes.ebs import BLOCK_SIZE, FakeEbs  # noqa: E402
from tests.fakes.kms import FakeKms  # noqa: E402

MIB, GIB = 1024 * 1024, 1024**3
OUTPUT = ROOT / "cost" / "engine_calibration.json"


class CountingS3(SlowS3):
    def __init__(self):
        super().__init__(0.0)
        self.counts: Counter[str] = Counter()

    def put_object(self, Bucket, Key, Body, **kwargs):  # noqa: N803
        self.counts["PutObject:" + Key.split("/")[0]] += 1
        return super().put_object(Bucket, Key, Body, **kwargs)

    def get_object(self, Bucket, Key, Range=None):  # noqa: N803
        self.counts["GetObject:" + Key.split("/")[0]] += 1
        return super().get_object(Bucket, Key, Range)


class CountingDynamoDB(SlowDynamoDB):
    def __init__(self):
        super().__init__(0.0)
        self.counts: Counter[str] = Counter()

    def get_item(self, **kwargs):
        self.counts["DynamoDB"] += 1
        return super().get_item(**kwargs)

    def update_item(self, **kwargs):
        self.counts["DynamoDB"] += 1
        return super().update_item(**kwargs)

    def delete_item(self, **kwargs):
        self.counts["DynamoDB"] += 1
        return super().delete_item(**kwargs)


def _besides_packs(counts: Counter[str], verb: str) -> int:
    return sum(n for name, n in counts.items() if name.startswith(verb + ":") and name != f"{verb}:packs")


def chunks_in_index(s3: CountingS3) -> int:
    return sum(len(decode_blob(body)) for key, body in s3.objects.items() if key.startswith("index/"))


def calibrate(mib: int, days: int, change_rate: float, run_kib: int, seed: int = 11) -> dict:
    rng = random.Random(seed)
    data = bytearray(realistic_mix(mib * MIB, seed=seed))
    fresh = realistic_mix(64 * MIB, seed=seed + 1)  # what a day writes: the same mix of content
    ebs = FakeEbs()
    volume_gib = -(-len(data) // GIB)
    volume = ebs.volume(volume_gib)
    for index in range(len(data) // BLOCK_SIZE):
        block = bytes(data[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE])
        if block.count(0) != len(block):
            volume.write(index, block)
    s3, db = CountingS3(), CountingDynamoDB()
    bucket = VaultBucket(s3, "calibration")
    vault = Vault("calibration", bucket, ChunkIndex(bucket, db, "index"), VaultKey(FakeKms(), "key"))
    settings, job = EngineSettings(), JobRecord(None, None, "calibration")
    totals: Counter[str] = Counter()
    compactions: Counter[str] = Counter()

    def compact():
        before_s3, before_db = Counter(s3.counts), Counter(db.counts)
        run_compaction(vault, job, [], CompactionSettings())
        compactions.update(s3.counts - before_s3)
        compactions.update(db.counts - before_db)
        compactions["runs"] += 1
        compactions["manifests"] += len(vault.manifest_keys())

    def backup(day: int, parent: str | None):
        before_ebs, before_s3, before_db = Counter(ebs.calls), Counter(s3.counts), Counter(db.counts)
        source = EbsSnapshotSource(EbsDirect(ebs), ebs.take_snapshot(volume))
        request = BackupRequest(f"day-{day}", "vol-1", f"rp-{day}", parent)
        result = run_backup(vault, source, request, lambda payload: None, job, settings)
        return result, ebs.calls - before_ebs, s3.counts - before_s3, db.counts - before_db

    first, *_ = backup(0, None)
    compact()
    changed_bytes = 0
    run = run_kib * 1024
    for day in range(1, days + 1):
        for _ in range(max(1, int(len(data) * change_rate / run))):
            offset = rng.randrange(0, len(data) - run)
            source_offset = rng.randrange(0, len(fresh) - run)
            volume.write_bytes(offset, fresh[source_offset : source_offset + run])
        result, ebs_calls, s3_calls, db_calls = backup(day, f"rp-{day - 1}")
        changed_bytes += ebs_calls["GetSnapshotBlock"] * BLOCK_SIZE
        totals.update(ebs_calls)
        totals.update(s3_calls)
        totals.update(db_calls)
        totals["chunksNew"] += result.chunks_new
        totals["chunksReused"] += result.chunks_reused
        totals["newBytes"] += result.new_bytes
        totals["storedBytes"] += result.stored_bytes
        totals["manifestBytes"] += result.manifest_bytes
        totals["jobs"] += 1
        compact()
    changed_gb = changed_bytes / GIB
    new_gb = totals["newBytes"] / GIB
    chunks_read = totals["chunksNew"] + totals["chunksReused"]
    index_blobs = [k for k in s3.objects if k.startswith("index/")]
    index_bytes = sum(len(s3.objects[k]) for k in index_blobs)
    return {
        "perChangedBlockGb": {
            "ebsGetSnapshotBlock": round(totals["GetSnapshotBlock"] / changed_gb),
            "chunks": round(chunks_read / changed_gb),
        },
        "perNewGb": {
            # Each new chunk is one entry of the backup's index blob; no per-chunk request (engine/index.py).
            "chunksStored": round(totals["chunksNew"] / new_gb),
            "storedGb": round(totals["storedBytes"] / totals["newBytes"], 3),
        },
        "perJob": {
            # Every job ends in one partly filled pack; at 1 TB x 2% a day (~20 GB changed) the full 32 MiB
            # packs dominate: puts ~ stored bytes / 32 MiB + 1.
            "packPuts": round(totals["PutObject:packs"] / totals["jobs"], 2),
            "storedMib": round(totals["storedBytes"] / MIB / totals["jobs"], 2),
            # Lease, index blob, manifest (and the vault configuration's first write).
            "s3PutsBesidesPacks": round(_besides_packs(totals, "PutObject") / totals["jobs"], 2),
            # The vault configuration, the GC state, the index blobs (one merged, as here, per
            # `mergedBlobEntries` chunks in a larger vault) and the parent manifest.
            "s3GetsBesidesPacks": round(_besides_packs(totals, "GetObject") / totals["jobs"], 2),
            "indexBlobGets": round(totals["GetObject:index"] / totals["jobs"], 2),
            "dynamodbCalls": round(totals["DynamoDB"] / totals["jobs"], 2),  # a backup calls none
        },
        "perCompaction": {
            # The merged index blob and the GC state (PUT); manifests, state, blobs, pack tails (GET); the
            # lock and the GC generation (DynamoDB).
            "s3PutsBesidesPacks": round(_besides_packs(compactions, "PutObject") / compactions["runs"], 2),
            # Besides the manifests: compaction reads every live manifest (the mark), one GET each.
            "s3GetsBesidesPacksAndManifests": round(
                (_besides_packs(compactions, "GetObject") - compactions["GetObject:manifests"]) / compactions["runs"], 2
            ),
            "s3GetsPerManifest": round(compactions["GetObject:manifests"] / compactions["manifests"], 2),
            "dynamodbCalls": round(compactions["DynamoDB"] / compactions["runs"], 2),
        },
        "index": {
            "bytesPerEntry": round(index_bytes / max(chunks_in_index(s3), 1), 1),
            "entryBytes": ENTRY.size,
            "mergedBlobEntries": MERGE_PART_ENTRIES,
        },
        "manifests": {
            # A full manifest lists every chunk (engine/manifest.py, version 3); an incremental one lists the
            # chunks of the segments it read and maps every segment of the volume (one varint each) besides
            # the ranges it takes from its parent. A full one starts each chain of MAX_CHAIN_DEPTH + 1.
            "fullBytesPerChunk": round(first.manifest_bytes / first.manifest.chunk_count, 2),
            "incrementalBytes": round(totals["manifestBytes"] / totals["jobs"]),
            "incrementalChunksWritten": round(chunks_read / totals["jobs"]),
            "volumeSegments": volume_gib * GIB // settings.segment_bytes,
            "maxChainDepth": MAX_CHAIN_DEPTH,
        },
        "data": {
            "firstBackupCompression": round(first.new_bytes / max(first.stored_bytes, 1), 2),
            "firstBackupDedup": round(first.manifest.stored_logical_bytes / max(first.new_bytes, 1), 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--change-rate", type=float, default=0.02)
    parser.add_argument("--run-kib", type=int, default=1024, help="changed-run length (profile general: 1024)")
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args()
    figures = calibrate(args.mib, args.days, args.change_rate, args.run_kib)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    document = {
        "provenance": {
            "script": "benchmarks/calibrate_engine.py",
            "measuredOn": datetime.now(UTC).date().isoformat(),
            "engineCommit": commit.stdout.strip() or "unknown",
            "parameters": {"volumeMib": args.mib, "days": args.days, "dailyChangeRate": args.change_rate,
                           "changedRunKib": args.run_kib, "data": "benchmarks/engine_throughput.realistic_mix"},
        },  # fmt: skip
        **figures,
    }
    print(json.dumps(document, indent=2))
    if args.write:
        OUTPUT.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

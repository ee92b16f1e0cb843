"""The vault's Batch jobs get the disk and memory the engine needs at issue 14's target: a 16 TiB volume (and a
vault with 16 TiB of unique data) backed up, restored, scanned and compacted within an 8 GiB task and at most
200 GiB of Fargate ephemeral storage.

What the engine keeps on local disk is measured here with the engine's own code on a small synthetic volume
(benchmarks/engine_memory.py's jobs over a bucket in a directory, engine/index.py's view of an index blob)
and scaled to the target's chunk count; the job definitions must hold it. The memory a full backup needs is
the EBS adapter's snapshot layout (measured with tracemalloc on engine/ebs.py) plus the manifest writer's
figure from benchmarks/engine_memory.py --tib 1 (10 s of work per million chunks: too slow for a test).
The EBS listing is streamed (engine/ebs.py): what grows with the volume is the backup's plan, 8 bytes a segment.
"""

from __future__ import annotations

import base64
import math
import os
import sys
import tracemalloc
from pathlib import Path

import pytest

from elastio_contract import environment as env_names
from elastio_pulumi import job_definitions as jobs
from engine.backup import plan_segments
from engine.chunking import ChunkerSettings
from engine.ebs import EbsDirect
from engine.index import IndexView, encode_blob
from engine.manifest import MAX_CHAIN_DEPTH
from engine.packs import IndexEntry
from engine.sources import EbsSnapshotSource

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import engine_memory  # noqa: E402  (the benchmark's jobs: the engine's manifest, backup and mark code)

GIB, TIB = 1024**3, 1024**4
TARGET_BYTES = 16 * TIB
# Fargate ephemeral storage: 20 GiB unless the job definition asks for 21-200 (AWS Batch API reference,
# EphemeralStorage; Amazon ECS developer guide, "Fargate task ephemeral storage").
FARGATE_DEFAULT_GIB, FARGATE_MAX_GIB = 20, 200
TARGET_MEMORY_MIB = 8 * 1024
SEGMENTS = 4000  # 32,000 synthetic chunks: a second of work
# Compaction marks the full manifests of 13 chains of one volume (~90 days at 2%/day): each lists every chunk
# again, and what the mark holds must not follow (tests/engine/test_engine_compact_mark.py compares 1 and 13).
FULL_MANIFESTS = 13
SETTINGS = jobs.EngineSettings(
    vault_name="primary", region="eu-west-1", image="engine:1", bucket_name="bucket", key_arn="arn:key",
    index_table_name="index", jobs_table_name="jobs", recovery_points_table_name="points",
    catalog_function_name="catalog", task_role_arn="arn:task", execution_role_arn="arn:exec",
    log_group_name="/elastio/vaults/primary", assign_public_ip=False, deployment="elastio",
)  # fmt: skip


def target_chunks() -> int:
    """Chunks of a 16 TiB volume at the engine's average chunk size (the calibration measures a slightly
    larger mean, so this counts a few more)."""
    return TARGET_BYTES // ChunkerSettings().avg_size


@pytest.fixture(scope="module")
def disk_bytes_per_chunk(tmp_path_factory) -> dict[str, float]:
    """On-disk bytes per chunk, measured: a full manifest (written through a spool file, read back into one),
    compaction's spool of live digests and its Bloom filter per unique chunk over FULL_MANIFESTS full manifests,
    and the local SQLite copy of the index."""
    root = tmp_path_factory.mktemp("engine-disk")
    saved = os.environ.get(env_names.ENGINE_WORK_DIR)
    try:
        full = engine_memory.run_job("backup", SEGMENTS, root)
        for rp in engine_memory.older_chains(FULL_MANIFESTS - 1):  # the same chunks listed again
            engine_memory.clone_full_manifest(root, "rp-1", rp)
        compaction = engine_memory.run_job("compaction", SEGMENTS, root)
        assert compaction["references"] >= FULL_MANIFESTS * compaction["chunks"]
    finally:
        if saved is None:
            os.environ.pop(env_names.ENGINE_WORK_DIR, None)
        else:
            os.environ[env_names.ENGINE_WORK_DIR] = saved
    entries = 50_000
    packs = [f"packs/{os.urandom(16).hex()}.pack" for _ in range(entries // 1000)]
    blob = encode_blob(
        IndexEntry(os.urandom(32), packs[i // 1000], (i % 1000) * 30000, 30000, 65536) for i in range(entries)
    )
    with IndexView(work_dir=str(root)) as view:
        view.add_blob(blob)
        index = os.path.getsize(os.path.join(view._dir, "index.sqlite"))
    return {
        "full manifest": full["manifestBytes"] / full["chunks"],
        "live digests": compaction["spoolBytes"] / compaction["chunks"],
        "live filter": compaction["filterBytes"] / compaction["chunks"],
        "index view": index / entries,
    }


def needed_gib(job_type: str, per_chunk: dict[str, float]) -> float:
    """What one job holds on disk at once at the target. Every job loads the vault's index (16 TiB of unique
    data). A point's manifest resolves through up to MAX_CHAIN_DEPTH parents, each spooled while it is read;
    an incremental manifest is never larger than a full one (it is a full one when its parent is gone), so a
    chain is bounded by MAX_CHAIN_DEPTH + 1 full manifests whatever the change rate. A backup also spools the
    manifest it writes; compaction spools each live digest once, whatever the retention, and streams one manifest
    at a time."""
    chunks = target_chunks()
    chain = (MAX_CHAIN_DEPTH + 1) * per_chunk["full manifest"]
    held = {
        "backup": chain + per_chunk["full manifest"],
        "restore": chain,
        "scan": chain,
        "compact": per_chunk["live digests"] + per_chunk["full manifest"],
    }[job_type]
    return (per_chunk["index view"] + held) * chunks / GIB


@pytest.mark.parametrize("job_type", jobs.JOB_TYPES)
def test_each_job_definition_requests_the_disk_the_engine_fills_at_16_tib(job_type, disk_bytes_per_chunk):
    props = jobs.container_properties(job_type, SETTINGS)
    size = (props.get("ephemeralStorage") or {}).get("sizeInGiB", FARGATE_DEFAULT_GIB)
    need = needed_gib(job_type, disk_bytes_per_chunk)
    assert need <= size <= FARGATE_MAX_GIB, f"{job_type}: {size} GiB for {need:.1f} GiB of spools"
    # The image is unpacked on the same storage (ECS developer guide): the rest must hold what the job spools.
    assert size - jobs.IMAGE_ALLOWANCE_GIB >= need
    # And no more: Fargate bills ephemeral storage above 20 GB per GB-hour (https://aws.amazon.com/fargate/pricing/).
    assert size <= max(jobs.EPHEMERAL_STORAGE_GIB[0], math.ceil(need + jobs.IMAGE_ALLOWANCE_GIB) + 1), (
        f"{job_type}: {size} GiB for {need:.1f} GiB of spools"
    )


def test_the_engine_keeps_its_spools_and_index_where_the_job_definition_sizes_the_disk():
    # Unset, ELASTIO_ENGINE_WORK_DIR falls back to the temp directory: the container's writable layer, which
    # Fargate keeps on the task's ephemeral storage. A tmpfs or a read-only root would take it elsewhere.
    for job_type in jobs.JOB_TYPES:
        props = jobs.container_properties(job_type, SETTINGS)
        assert not props.get("readonlyRootFilesystem")
        assert not (props.get("linuxParameters") or {}).get("tmpfs")
        assert env_names.ENGINE_WORK_DIR not in {e["name"] for e in props["environment"]}


class _ListingOnly:
    """ListSnapshotBlocks pages of a volume whose every block holds data, with tokens as long as the EBS direct
    APIs' (the API reference's example BlockToken is 60 characters)."""

    def __init__(self, blocks: int):
        self.blocks = blocks

    def list_snapshot_blocks(self, SnapshotId, MaxResults, NextToken=None, StartingBlockIndex=0):  # noqa: N803
        start = int(NextToken or StartingBlockIndex)
        end = min(self.blocks, start + MaxResults)
        page = [
            {"BlockIndex": i, "BlockToken": base64.b64encode(i.to_bytes(45, "little")).decode()}
            for i in range(start, end)
        ]
        return {"VolumeSize": 16 * 1024, "BlockSize": 512 * 1024, "Blocks": page,
                **({"NextToken": str(end)} if end < self.blocks else {})}  # fmt: skip


def listing_and_plan_bytes(blocks: int) -> int:
    """Peak memory traced while a full backup lists a snapshot of `blocks` blocks and plans its reads."""
    client = _ListingOnly(blocks)
    tracemalloc.start()
    try:
        source = EbsSnapshotSource(EbsDirect(client), "snap-1")
        to_read, to_copy = plan_segments(source, None, 512 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(to_read) == blocks and not to_copy
    return peak


def test_a_full_backup_of_16_tib_fits_the_backup_jobs_memory():
    small, large = 50_000, 200_000
    per_block = (listing_and_plan_bytes(large) - listing_and_plan_bytes(small)) / (large - small)
    target_blocks = TARGET_BYTES // (512 * 1024)
    # benchmarks/engine_memory.py --tib 1 (engine/README.md): a backup's manifest writer, seen set and plan grow
    # by 4.9 bytes per chunk (full) or 5.5 (incremental, the larger); the listing holds one page whatever the volume.
    writer = 5.5 * target_chunks()
    need_mib = (per_block * target_blocks + writer) / 2**20
    memory_mib = int(jobs.JOB_SIZES["backup"].memory_mib)
    assert need_mib <= memory_mib <= TARGET_MEMORY_MIB, f"{need_mib:,.0f} MiB needed, {memory_mib} MiB given"


def test_compactions_bloom_filters_fit_the_compact_jobs_memory_at_any_retention(disk_bytes_per_chunk):
    # The mark holds two filters (live, and the chunks of the manifests being deleted) and the sweep a third (the
    # live chunks it met), none larger than the live one, which is sized by unique chunks (measured above over
    # FULL_MANIFESTS full manifests), so this holds however many manifests list each chunk.
    filters_mib = 3 * disk_bytes_per_chunk["live filter"] * target_chunks() / 2**20
    memory_mib = int(jobs.JOB_SIZES["compact"].memory_mib)
    assert filters_mib <= memory_mib <= TARGET_MEMORY_MIB, f"{filters_mib:,.0f} MiB of filters, {memory_mib} MiB"


def test_the_contract_quotes_the_task_sizes_the_job_definitions_request():
    contract = (ROOT / "docs" / "CONTRACT.md").read_text()
    for job_type in jobs.JOB_TYPES:
        size = jobs.JOB_SIZES[job_type]
        quoted = f"{job_type} {size.vcpu} vCPU / {int(size.memory_mib) // 1024} GiB / {size.ephemeral_gib} GiB"
        assert quoted in " ".join(contract.split()), quoted

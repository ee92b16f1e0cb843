"""The engine's AWS requests per unit of data: every operation count the usage model prices, in one place.

`operation_counts` takes what the engine measured on itself (cost/engine_calibration.json, written with its
provenance by benchmarks/calibrate_engine.py) and derives from the model's assumptions (chunk and pack sizes,
index item size, block size) only what the calibration does not measure. The formulas in usage.py only
multiply these counts by bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from cost.assumptions import Assumptions

KIB_PER_GB = 1024 * 1024
# ListChangedBlocks returns at most 10,000 blocks per page (EBS direct APIs reference, MaxResults).
BLOCKS_PER_LIST_PAGE = 10_000
CALIBRATION = Path(__file__).resolve().parent / "engine_calibration.json"


@dataclass(frozen=True)
class OperationCounts:
    chunks_per_gb: float  # index items per GB of unique, uncompressed chunk data
    index_lookups_per_changed_gb: float  # index items looked up per GB of changed blocks the engine reads
    packs_per_stored_gb: float  # S3 PUTs per GB packed (compressed); compaction GETs whole packs alike
    s3_puts_per_job: float  # staging and manifest objects, and the job's last, partly filled pack
    s3_gets_per_job: float  # the parent manifest a backup reads
    index_writes_per_new_chunk: float  # an item is added, condemned, and deleted when no point holds it
    index_writes_per_moved_chunk: float  # compaction points a live chunk at its new pack
    index_read_units_per_chunk_read: float  # read units per index item looked up
    index_item_bytes: float  # DynamoDB's billed size of an item (100 bytes overhead + attributes)
    blocks_per_gb: float  # GetSnapshotBlock / PutSnapshotBlock calls per GB
    blocks_per_list_page: float  # ListChangedBlocks blocks per page
    restore_gets_per_stored_gb: float  # ranged GETs of runs of adjacent chunks
    source: str

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


@cache
def engine_calibration() -> dict:
    return json.loads(CALIBRATION.read_text())


def operation_counts(assumptions: Assumptions) -> OperationCounts:
    a = assumptions
    measured = engine_calibration()
    provenance = measured["provenance"]
    return OperationCounts(
        # Each new chunk is one index item the backup writes.
        chunks_per_gb=measured["perNewGb"]["indexItemsWrittenByBackup"],
        index_lookups_per_changed_gb=measured["perChangedBlockGb"]["indexItemsLookedUp"],
        # No calibration job fills a pack (a day stores a few MiB): full packs follow from their size.
        packs_per_stored_gb=1024 / a.pack_mib,
        # Besides full packs a job puts its staging and manifest objects and one partly filled last pack.
        s3_puts_per_job=measured["perJob"]["s3PutsBesidesPacks"] + 1.0,
        s3_gets_per_job=1.0,
        index_writes_per_new_chunk=measured["perNewGb"]["indexWritesPerChunkLifetime"],
        index_writes_per_moved_chunk=1.0,
        index_read_units_per_chunk_read=measured["perChangedBlockGb"]["indexReadUnitsPerItem"],
        index_item_bytes=a.index_item_bytes,
        blocks_per_gb=KIB_PER_GB / a.ebs_block_kib,
        blocks_per_list_page=BLOCKS_PER_LIST_PAGE,
        restore_gets_per_stored_gb=1024 / a.restore_read_mib,
        source=f"{CALIBRATION.parent.name}/{CALIBRATION.name} ({provenance['script']}, measured "
        f"{provenance['measuredOn']} on engine {provenance['engineCommit']}); derived: {a.pack_mib:g} MiB packs, "
        f"{a.index_item_bytes:g}-byte index items, {a.ebs_block_kib:g} KiB EBS blocks",
    )

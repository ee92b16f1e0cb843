"""The engine's AWS requests per unit of data: every operation count the usage model prices, in one place.

`operation_counts` derives them from the model's assumptions (chunk and pack sizes, index item size, block
size). A calibration measured on the engine (counts per GB from its own runs) replaces this one function's
result, and the formulas in usage.py keep working unchanged: they only multiply these counts by bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cost.assumptions import Assumptions

KIB_PER_GB = 1024 * 1024
# ListChangedBlocks returns at most 10,000 blocks per page (EBS direct APIs reference, MaxResults).
BLOCKS_PER_LIST_PAGE = 10_000


@dataclass(frozen=True)
class OperationCounts:
    chunks_per_gb: float  # index items per GB of unique, uncompressed chunk data
    packs_per_stored_gb: float  # S3 PUTs per GB packed (compressed); compaction GETs whole packs alike
    s3_puts_per_job: float  # the recovery point's manifest
    s3_gets_per_job: float  # the parent manifest a backup reads
    index_writes_per_new_chunk: float  # an item is added, and deleted when its last recovery point expires
    index_writes_per_moved_chunk: float  # compaction points a live chunk at its new pack
    index_read_units_per_chunk_read: float  # every chunk of a changed block is looked up
    index_item_bytes: float  # DynamoDB's billed size of an item (100 bytes overhead + attributes)
    blocks_per_gb: float  # GetSnapshotBlock / PutSnapshotBlock calls per GB
    blocks_per_list_page: float  # ListChangedBlocks blocks per page
    restore_gets_per_stored_gb: float  # ranged GETs of runs of adjacent chunks
    source: str

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def operation_counts(assumptions: Assumptions) -> OperationCounts:
    a = assumptions
    return OperationCounts(
        chunks_per_gb=KIB_PER_GB / a.chunk_avg_kib,
        packs_per_stored_gb=1024 / a.pack_mib,
        s3_puts_per_job=1.0,
        s3_gets_per_job=1.0,
        index_writes_per_new_chunk=2.0,
        index_writes_per_moved_chunk=1.0,
        index_read_units_per_chunk_read=a.index_read_units_per_lookup,
        index_item_bytes=a.index_item_bytes,
        blocks_per_gb=KIB_PER_GB / a.ebs_block_kib,
        blocks_per_list_page=BLOCKS_PER_LIST_PAGE,
        restore_gets_per_stored_gb=1024 / a.restore_read_mib,
        source=f"derived: {a.chunk_avg_kib:g} KiB chunks, {a.pack_mib:g} MiB packs, "
        f"{a.index_item_bytes:g}-byte index items, {a.ebs_block_kib:g} KiB EBS blocks (not yet calibrated "
        "on the engine)",
    )

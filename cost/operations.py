"""The engine's AWS requests per unit of data: every operation count the usage model prices, in one place.

`operation_counts` takes what the engine measured on itself (cost/engine_calibration.json, written with its
provenance by benchmarks/calibrate_engine.py) and derives from the model's assumptions (pack size, block
size) only what the calibration does not measure. The dedup index is held in S3 (engine/index.py): no request
per chunk; each job reads the whole index (its blobs) once, and a daily compaction merges it. The formulas
in usage.py only multiply these counts by bytes.
"""

from __future__ import annotations

import json
import math
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
    chunks_per_gb: float  # chunks (index entries) per GB of unique, uncompressed chunk data
    packs_per_stored_gb: float  # S3 PUTs per GB packed (compressed); compaction GETs whole packs alike
    s3_puts_per_job: float  # lease, index blob, manifest, and the job's last, partly filled pack
    s3_gets_per_job: float  # configuration, GC state and parent manifest, besides the index blobs
    s3_puts_per_compaction: float  # the GC state, besides the merged index blobs (one a day per vault)
    s3_gets_per_compaction: float  # GC state, besides the index blobs and the manifests
    s3_gets_per_manifest: float  # compaction marks from every live manifest
    table_requests_per_compaction: float  # the vault table's small state: lock and GC generation
    index_entry_bytes: float  # bytes per chunk in the S3 index blobs
    index_entries_per_blob: float  # entries per merged index blob: each job GETs them all
    blocks_per_gb: float  # GetSnapshotBlock / PutSnapshotBlock calls per GB
    blocks_per_list_page: float  # ListChangedBlocks blocks per page
    restore_gets_per_stored_gb: float  # ranged GETs of runs of adjacent chunks
    chunks_per_read_gb: float  # chunks a manifest lists per GB of volume data (reused or not)
    manifest_full_bytes_per_chunk: float  # a full manifest (engine/manifest.py version 3)
    manifest_bytes_per_segment: float  # an incremental one's map and parent ranges, per segment of the volume
    max_chain_depth: float  # incremental manifests per full one (engine/manifest.py MAX_CHAIN_DEPTH)
    source: str

    def index_blobs(self, unique_chunk_gb: float) -> float:
        """Merged index blobs of a vault holding `unique_chunk_gb`: what every job and compaction reads."""
        return max(1.0, math.ceil(unique_chunk_gb * self.chunks_per_gb / self.index_entries_per_blob))

    def index_gb(self, unique_chunk_gb: float) -> float:
        return unique_chunk_gb * self.chunks_per_gb * self.index_entry_bytes / 2**30

    def incremental_manifest_bytes(self, chunks_written: float, volume_segments: float) -> float:
        """An incremental manifest: the chunk list of each segment the backup read, a map of the volume."""
        return chunks_written * self.manifest_full_bytes_per_chunk + volume_segments * self.manifest_bytes_per_segment

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


@cache
def engine_calibration() -> dict:
    return json.loads(CALIBRATION.read_text())


def operation_counts(assumptions: Assumptions) -> OperationCounts:
    a = assumptions
    measured = engine_calibration()
    provenance = measured["provenance"]
    job, compaction, index = measured["perJob"], measured["perCompaction"], measured["index"]
    manifests = measured["manifests"]
    return OperationCounts(
        chunks_per_gb=measured["perNewGb"]["chunksStored"],
        # No calibration job fills a pack (a day stores a few MiB): full packs follow from their size.
        packs_per_stored_gb=1024 / a.pack_mib,
        # Besides full packs a job puts its lease, index blob and manifest, and one partly filled last pack.
        s3_puts_per_job=job["s3PutsBesidesPacks"] + 1.0,
        # The calibration vault's index is one merged blob; a larger vault's blobs are counted by index_blobs.
        s3_gets_per_job=job["s3GetsBesidesPacks"] - job["indexBlobGets"],
        s3_puts_per_compaction=compaction["s3PutsBesidesPacks"] - 1.0,  # its one merged blob, likewise
        s3_gets_per_compaction=compaction["s3GetsBesidesPacksAndManifests"] - 1.0,
        s3_gets_per_manifest=compaction["s3GetsPerManifest"],
        table_requests_per_compaction=compaction["dynamodbCalls"],
        index_entry_bytes=index["bytesPerEntry"],
        index_entries_per_blob=index["mergedBlobEntries"],
        blocks_per_gb=KIB_PER_GB / a.ebs_block_kib,
        blocks_per_list_page=BLOCKS_PER_LIST_PAGE,
        restore_gets_per_stored_gb=1024 / a.restore_read_mib,
        chunks_per_read_gb=measured["perChangedBlockGb"]["chunks"],
        manifest_full_bytes_per_chunk=manifests["fullBytesPerChunk"],
        # What an incremental manifest holds beyond its chunk lists, spread over the volume's segments.
        manifest_bytes_per_segment=(
            manifests["incrementalBytes"] - manifests["incrementalChunksWritten"] * manifests["fullBytesPerChunk"]
        ) / manifests["volumeSegments"],
        max_chain_depth=manifests["maxChainDepth"],
        source=f"{CALIBRATION.parent.name}/{CALIBRATION.name} ({provenance['script']}, measured "
        f"{provenance['measuredOn']} on engine {provenance['engineCommit']}); derived: {a.pack_mib:g} MiB packs, "
        f"{a.ebs_block_kib:g} KiB EBS blocks",
    )

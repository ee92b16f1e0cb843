"""The cost model's operation counts are what the engine does: a small calibration run of the engine, with the
parameters of cost/engine_calibration.json's provenance scaled down, measures the counts the model prices and
they agree within 10%. Budget: ~9 s (one 192 MiB volume, a full and three incremental backups, in memory)."""

import json
import sys
from pathlib import Path

import pytest

from cost.assumptions import Assumptions
from cost.operations import operation_counts

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from calibrate_engine import calibrate  # noqa: E402

TOLERANCE = 0.10


def engine_calibration() -> dict:
    return json.loads((ROOT / "cost" / "engine_calibration.json").read_text())


@pytest.fixture(scope="module")
def measured() -> dict:
    parameters = engine_calibration()["provenance"]["parameters"]
    # Three quarters of the volume and fewer days keep it fast; the change rate and run length stay.
    return calibrate(parameters["volumeMib"] * 3 // 4, 3, parameters["dailyChangeRate"], parameters["changedRunKib"])


def model_and_engine(measured: dict) -> dict[str, tuple[float, float]]:
    ops = operation_counts(Assumptions())
    per_job, compaction = measured["perJob"], measured["perCompaction"]
    stored_gb_per_job = per_job["storedMib"] / 1024
    one_blob = ops.index_blobs(0.5)  # the calibration vault's index is one merged blob, as the model counts it
    return {
        "chunks (index entries) per new GB": (ops.chunks_per_gb, measured["perNewGb"]["chunksStored"]),
        "index bytes per chunk": (ops.index_entry_bytes, measured["index"]["bytesPerEntry"]),
        "S3 puts per job": (
            stored_gb_per_job * ops.packs_per_stored_gb + ops.s3_puts_per_job,
            per_job["packPuts"] + per_job["s3PutsBesidesPacks"],
        ),
        "S3 gets per job besides packs": (ops.s3_gets_per_job + one_blob, per_job["s3GetsBesidesPacks"]),
        "S3 puts per compaction besides packs": (
            ops.s3_puts_per_compaction + one_blob,
            compaction["s3PutsBesidesPacks"],
        ),
        "S3 gets per compaction besides packs and manifests": (
            ops.s3_gets_per_compaction + one_blob,
            compaction["s3GetsBesidesPacksAndManifests"],
        ),
        "S3 gets per manifest a compaction marks from": (ops.s3_gets_per_manifest, compaction["s3GetsPerManifest"]),
        "vault table requests per compaction": (ops.table_requests_per_compaction, compaction["dynamodbCalls"]),
        "full manifest bytes per chunk": (
            ops.manifest_full_bytes_per_chunk,
            measured["manifests"]["fullBytesPerChunk"],
        ),
        "incremental manifest bytes per backup": (
            ops.incremental_manifest_bytes(
                measured["manifests"]["incrementalChunksWritten"], measured["manifests"]["volumeSegments"]
            ),
            measured["manifests"]["incrementalBytes"],
        ),
        # The model prices no DynamoDB request for a backup: the engine must make none.
        "vault table requests per backup": (0.0, per_job["dynamodbCalls"]),
    }


def test_the_models_counts_are_the_engines_within_ten_percent(measured):
    off = {
        name: f"model {model:g}, engine {engine:g}"
        for name, (model, engine) in model_and_engine(measured).items()
        if abs(model - engine) > TOLERANCE * abs(engine) or (engine == 0) != (model == 0)
    }
    assert not off


def test_the_model_names_the_calibration_it_uses():
    provenance = engine_calibration()["provenance"]
    source = operation_counts(Assumptions()).source
    assert "engine_calibration.json" in source
    assert provenance["measuredOn"] in source and provenance["engineCommit"] in source

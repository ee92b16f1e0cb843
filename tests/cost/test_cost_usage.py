"""Unit tests of the usage formulas: each line of the vault and of the baselines."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cost import Assumptions, Workload, default_table, estimate, get_profile
from cost.errors import CostInputError
from cost.usage import (
    amplification,
    aws_backup_lines,
    changed_share,
    data_flow,
    ebs_snapshot_lines,
    elastio_usage_lines,
    snapshot_quantities,
)
from tests.cost.graphs import stack_records

PRICES = default_table()
A = Assumptions()
# The engine's measured operation counts (benchmarks/calibrate_engine.py), read here apart from the model.
CALIBRATION = json.loads((Path(__file__).resolve().parents[2] / "cost" / "engine_calibration.json").read_text())
GENERAL = get_profile("general")


DEFAULT_WORKLOAD = Workload()


def lines_by_resource(workload=DEFAULT_WORKLOAD, profile=GENERAL, assumptions=A, **kwargs):
    return {
        line.resource: line
        for line in elastio_usage_lines(workload, profile, "us-east-1", PRICES, assumptions, **kwargs)
    }


def test_amplification_of_a_run_as_long_as_the_block_is_two():
    assert amplification(512, 512) == 2.0


def test_amplification_shrinks_with_longer_runs_and_finer_units():
    assert amplification(512, 64) > amplification(512, 1024) > 1
    assert amplification(64, 128) < amplification(512, 128)


def test_full_copy_is_divided_by_dedup_and_compression():
    flow = data_flow(Workload(protected_gb=1000), GENERAL, A)
    assert flow.full_copy_stored_gb == pytest.approx(
        1000 / (GENERAL.dedup_factor * GENERAL.compression_factor)
    )


def test_retained_changes_grow_linearly_with_retention():
    short = data_flow(Workload(retention_days=10), GENERAL, A)
    long = data_flow(Workload(retention_days=20), GENERAL, A)
    assert long.retained_changes_stored_gb == pytest.approx(2 * short.retained_changes_stored_gb)


def test_vault_keeps_changes_at_chunk_not_block_granularity():
    flow = data_flow(Workload(protected_gb=1000, daily_change_rate=0.01), get_profile("database"), A)
    assert flow.changed_block_gb_per_day == pytest.approx(1000 * changed_share(0.01, amplification(512, 128)))
    assert flow.new_chunk_gb_per_day == pytest.approx(1000 * changed_share(0.01, amplification(64, 128)))
    assert flow.changed_block_gb_per_day > 3 * flow.new_chunk_gb_per_day


def test_compaction_slack_and_noncurrent_versions_follow_the_threshold_and_lifecycle():
    flow = data_flow(Workload(), GENERAL, replace(A, compaction_live_threshold=0.5, noncurrent_days=7))
    assert flow.pack_slack_gb == pytest.approx(flow.retained_changes_stored_gb / 3)
    assert flow.noncurrent_gb == pytest.approx(7 * flow.new_stored_gb_per_day * 2)


def test_one_backup_job_per_volume_a_day():
    assert data_flow(Workload(protected_gb=1000), GENERAL, replace(A, volume_gb=200)).jobs_per_day == 5
    assert data_flow(Workload(protected_gb=0), GENERAL, A).jobs_per_day == 0


def test_storage_lines_price_the_vault_bytes_at_s3_standard():
    lines = lines_by_resource()
    chunk_data = [name for name in lines if name.startswith("Vault storage") and "manifest" not in name]
    stored = sum(lines[name].quantity for name in chunk_data)  # manifests: tested below
    assert stored == pytest.approx(data_flow(Workload(), GENERAL, A).vault_stored_gb)
    assert lines["Vault storage: first full copy"].unit_price_usd == PRICES.usd(
        "s3.standard.storage", "us-east-1"
    )


def test_packing_chunks_keeps_put_requests_small():
    packed = lines_by_resource()["S3 PUT requests (packs, index blobs, manifests)"]
    per_chunk = lines_by_resource(assumptions=replace(A, pack_mib=A.chunk_avg_kib / 1024))[
        "S3 PUT requests (packs, index blobs, manifests)"
    ]
    assert per_chunk.quantity > 400 * packed.quantity


def test_one_object_per_chunk_would_erase_the_savings():
    # 2 TB, 5%/day, 90 days: packed into 32 MiB objects the vault saves half; stored as one object per
    # compressed chunk, the PUTs alone cost more than the storage saved.
    workload = Workload(protected_gb=2000, daily_change_rate=0.05, retention_days=90)
    chunk_object_mib = A.chunk_avg_kib / 1024 / GENERAL.compression_factor
    packed = estimate(stack_records(), workload)
    per_chunk = estimate(stack_records(), workload, assumptions=replace(A, pack_mib=chunk_object_mib))
    assert packed.savings_pct(packed.ebs_snapshots) > 40
    assert per_chunk.savings_pct(per_chunk.ebs_snapshots) <= 0


def test_bucket_key_cuts_kms_requests_a_hundredfold():
    without = lines_by_resource(bucket_key=False)["KMS requests (SSE-KMS on S3 objects)"]
    with_key = lines_by_resource(bucket_key=True)["KMS requests (SSE-KMS on S3 objects)"]
    assert with_key.quantity == pytest.approx(without.quantity / 100)


def test_the_index_is_s3_blobs_of_a_few_dozen_bytes_per_unique_chunk():
    flow = data_flow(Workload(), GENERAL, A)
    entries = flow.unique_chunk_gb * CALIBRATION["perNewGb"]["chunksStored"]
    line = lines_by_resource()["Dedup index blobs"]
    assert line.price_key == "s3.standard.storage"
    assert line.quantity == pytest.approx(entries * CALIBRATION["index"]["bytesPerEntry"] / 2**30)


def test_no_request_per_chunk_goes_to_dynamodb():
    dynamodb = [line for line in lines_by_resource().values() if line.price_key.startswith("dynamodb.")]
    flow = data_flow(Workload(), GENERAL, A)
    state = A.days_per_month * CALIBRATION["perCompaction"]["dynamodbCalls"]  # the lock and the GC generation
    assert [line.resource for line in dynamodb] == ["Vault state table (compaction lock, GC generation)"]
    assert dynamodb[0].quantity * 1e6 == pytest.approx(state)
    assert state < flow.unique_chunk_gb  # far from one per chunk


def test_every_job_and_compaction_reads_every_index_blob():
    small, large = Workload(protected_gb=1000), Workload(protected_gb=200_000)
    gets = {w.protected_gb: lines_by_resource(w)["S3 GET requests (index blobs, compaction, restores)"].quantity
            for w in (small, large)}  # fmt: skip
    flow = data_flow(large, GENERAL, A)
    blobs = -(-flow.unique_chunk_gb * CALIBRATION["perNewGb"]["chunksStored"] // 1_000_000)
    assert blobs > 1
    assert gets[200_000] * 1e3 >= A.days_per_month * (flow.jobs_per_day + 1) * blobs


def test_spot_prices_the_jobs_at_fargate_spot_rates():
    on_demand = lines_by_resource()["Batch Fargate vCPU (backup, compaction, restore jobs)"]
    spot = lines_by_resource(spot=True)["Batch Fargate Spot vCPU (backup, compaction, restore jobs)"]
    assert spot.quantity == on_demand.quantity
    assert spot.unit_price_usd < on_demand.unit_price_usd


def test_compute_grows_with_the_changed_blocks_read():
    small = lines_by_resource(Workload(daily_change_rate=0.01))["Batch Fargate memory"]
    large = lines_by_resource(Workload(daily_change_rate=0.04))["Batch Fargate memory"]
    assert large.quantity > small.quantity


def test_change_tracking_snapshot_is_a_full_copy_of_the_volumes():
    line = lines_by_resource(Workload(protected_gb=1000, daily_change_rate=0.02))[
        "Change-tracking snapshot (latest per volume)"
    ]
    assert line.quantity == pytest.approx(1000 * (1 + changed_share(0.02, amplification(512, 1024))))
    assert "Change-tracking snapshot (latest per volume)" not in lines_by_resource(
        assumptions=replace(A, keep_parent_snapshot=False)
    )


def test_restores_add_block_writes_and_reads_only_when_asked():
    assert "EBS direct APIs: blocks written by restores" not in lines_by_resource()
    line = lines_by_resource(Workload(restore_gb_per_month=100))[
        "EBS direct APIs: blocks written by restores"
    ]
    assert line.quantity == pytest.approx(100 * 2048 / 1000)


def test_snapshots_store_the_full_copy_and_amplified_changed_blocks():
    full, changes = snapshot_quantities(
        Workload(protected_gb=1000, daily_change_rate=0.01, retention_days=30), GENERAL, A
    )
    assert full == 1000
    assert changes == pytest.approx(1000 * (1 - 0.99**1.5) * 30)
    assert changes == pytest.approx(1000 * 0.01 * 1.5 * 30, rel=0.01)  # r * a at low rates


def test_overlapping_rewrites_never_change_more_than_every_block():
    # Databases amplify 5x: 30% of the data rewritten a day cannot change 150% of the blocks.
    database = get_profile("database")
    flow = data_flow(Workload(protected_gb=100, daily_change_rate=0.3), database, A)
    assert flow.changed_block_gb_per_day == pytest.approx(100 * (1 - 0.7**5))
    assert flow.changed_block_gb_per_day < 100
    assert data_flow(Workload(protected_gb=100, daily_change_rate=1.0), database, A).changed_block_gb_per_day == 100


def test_over_days_independent_changes_overlap_as_one_minus_survivors():
    assert changed_share(0.1, 7) == pytest.approx(1 - 0.9**7)
    assert changed_share(0.1, 7) < 0.7


def test_a_block_basis_rate_is_the_share_of_blocks_snapshots_store():
    # Users read their rate off snapshot sizes: already 512 KiB blocks, so no run-length factor applies.
    blocks = Workload(protected_gb=1000, daily_change_rate=0.03, change_rate_basis="blocks")
    data = Workload(protected_gb=1000, daily_change_rate=0.03)
    assert data_flow(blocks, GENERAL, A).changed_block_gb_per_day == pytest.approx(30)
    assert data_flow(data, GENERAL, A).changed_block_gb_per_day == pytest.approx(1000 * (1 - 0.97**1.5))
    assert snapshot_quantities(blocks, GENERAL, A)[1] == pytest.approx(30 * 30)
    with pytest.raises(CostInputError) as caught:
        Workload(change_rate_basis="bytes")
    assert caught.value.field == "change_rate_basis"


def test_aws_backup_prices_the_same_bytes_at_its_warm_rate():
    workload = Workload()
    snapshots = ebs_snapshot_lines(workload, GENERAL, "eu-central-1", PRICES, A)
    backup = aws_backup_lines(workload, GENERAL, "eu-central-1", PRICES, A)
    assert [s.quantity for s in snapshots] == [b.quantity for b in backup]
    assert backup[0].unit_price_usd == PRICES.usd("backup.ebs.warm", "eu-central-1")


def test_lines_add_up_to_the_totals():
    result = estimate(stack_records(), Workload(restore_gb_per_month=50), free_tier=True).as_dict()
    for part in ("elastio", "ebs_snapshots", "aws_backup"):
        assert sum(line["monthly_usd"] for line in result[part]["lines"]) == pytest.approx(
            result[part]["monthly_usd"]
        )
        for line in result[part]["lines"]:
            assert line["monthly_usd"] == pytest.approx(line["quantity"] * line["unit_price_usd"])


def test_savings_compare_the_whole_elastio_bill_with_the_baseline():
    result = estimate(stack_records(), Workload(retention_days=180))
    base = sum(line.monthly_usd for line in result.ebs_snapshots)
    assert result.savings_pct(result.ebs_snapshots) == pytest.approx(
        100 * (base - result.elastio_monthly_usd) / base
    )


def test_zero_protected_data_has_no_baseline_to_save_against():
    result = estimate(stack_records(), Workload(protected_gb=0)).as_dict()
    assert result["savings_vs_snapshots_pct"] is None
    assert result["elastio"]["monthly_usd"] == pytest.approx(result["idle_monthly_usd"])


def test_graph_settings_replace_the_default_assumptions():
    records = stack_records()
    for record in records:
        if record["type"] == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
            record["inputs"]["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] = 30
    assert estimate(records).assumptions.noncurrent_days == 30


def test_the_backup_job_definitions_ephemeral_storage_reaches_the_model():
    records = stack_records()
    for record in records:
        if record["type"] == "aws:batch/jobDefinition:JobDefinition":
            props = json.loads(record["inputs"]["containerProperties"])
            props["ephemeralStorage"] = {"sizeInGiB": 150}
            record["inputs"]["containerProperties"] = json.dumps(props)
    assert estimate(records).assumptions.job_ephemeral_gb == 150


def test_ephemeral_storage_above_fargates_free_20_gb_is_priced_per_job_hour():
    # Fargate pricing: 20 GB of ephemeral storage per task are included; each GB configured above is billed per
    # GB-hour while the task runs (https://aws.amazon.com/fargate/pricing/).
    lines = lines_by_resource(assumptions=replace(A, job_ephemeral_gb=120))
    job_hours = lines["Batch Fargate vCPU (backup, compaction, restore jobs)"].quantity / A.job_vcpu
    storage = [line for line in lines.values() if line.price_key == "fargate.ephemeral_storage"]
    assert len(storage) == 1 and storage[0].quantity == pytest.approx(job_hours * (120 - 20))
    assert storage[0].unit_price_usd == PRICES.usd("fargate.ephemeral_storage", "us-east-1")
    spot = lines_by_resource(assumptions=replace(A, job_ephemeral_gb=120), spot=True)
    assert [line.quantity for line in spot.values() if line.price_key == "fargate.ephemeral_storage"] == [
        storage[0].quantity
    ]
    default = lines_by_resource(assumptions=replace(A, job_ephemeral_gb=20))
    assert not [line for line in default.values() if line.price_key == "fargate.ephemeral_storage"]


def manifest_lines(workload=DEFAULT_WORKLOAD) -> dict[str, float]:
    return {
        line.resource: line.quantity
        for line in elastio_usage_lines(workload, GENERAL, "us-east-1", PRICES, A)
        if "manifest" in line.resource.lower() and line.price_key == "s3.standard.storage"
    }


def test_manifests_of_retained_points_are_stored_a_full_one_every_chain():
    # engine/manifest.py: a full manifest lists every chunk of the volume (~36 bytes each), an incremental
    # one its changed segments and a map of the rest; a full one starts each chain of MAX_CHAIN_DEPTH + 1.
    manifests = CALIBRATION["manifests"]
    chain = manifests["maxChainDepth"] + 1
    month, year = Workload(retention_days=30), Workload(retention_days=365)
    retained = {w.retention_days: manifest_lines(w)["Vault storage: manifests of retained points"]
                for w in (month, year)}  # fmt: skip
    volumes = data_flow(year, GENERAL, A).jobs_per_day
    chunks_per_volume = A.volume_gb * CALIBRATION["perChangedBlockGb"]["chunks"]
    full_gb = chunks_per_volume * manifests["fullBytesPerChunk"] / 2**30
    # At least the full manifests, at most as if every retained manifest were full.
    assert volumes * 365 / chain * full_gb < retained[365] < volumes * 365 * full_gb / 2
    assert retained[365] / retained[30] == pytest.approx(365 / 30, rel=0.01)


def test_expired_parents_a_live_manifest_resolves_through_are_stored_too():
    # engine/README.md rule P: compaction keeps an expired parent while a live manifest references it: at
    # most one chain per volume, on average half of one.
    manifests = CALIBRATION["manifests"]
    kept = manifest_lines()["Vault storage: expired parent manifests kept for a child"]
    volumes = data_flow(DEFAULT_WORKLOAD, GENERAL, A).jobs_per_day
    full_gb = A.volume_gb * CALIBRATION["perChangedBlockGb"]["chunks"] * manifests["fullBytesPerChunk"] / 2**30
    depth = manifests["maxChainDepth"]
    assert volumes * full_gb / 2 < kept < volumes * depth * full_gb


def test_usage_lands_in_the_first_vault_region_unless_told():
    records = stack_records(regions=("eu-west-1", "us-east-1"))
    assert estimate(records).region == "eu-west-1"
    assert estimate(records, region="us-east-1").region == "us-east-1"


def test_measured_sample_replaces_the_profile_factors():
    class Sample:
        dedup_factor, compression_factor, logical_bytes = 3.0, 1.5, 10

    result = estimate(stack_records(), measurement=Sample(), sample_label="/data")
    assert (result.profile.dedup_factor, result.profile.compression_factor) == (3.0, 1.5)
    assert result.profile.name == "general (measured)"
    assert "measured on /data" in result.profile.sources[0]


def test_empty_sample_is_a_named_error():
    class Empty:
        dedup_factor, compression_factor, logical_bytes = 1.0, 1.0, 0

    with pytest.raises(CostInputError, match="sample"):
        estimate(stack_records(), measurement=Empty())


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"protected_gb": -1}, "protected_gb"),
        ({"protected_gb": float("nan")}, "protected_gb"),
        ({"daily_change_rate": 1.5}, "daily_change_rate"),
        ({"daily_change_rate": -0.1}, "daily_change_rate"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 2.5}, "retention_days"),
        ({"data_profile": "video"}, "data_profile"),
        ({"restore_gb_per_month": -3}, "restore_gb_per_month"),
    ],
)
def test_bad_workload_names_the_field(values, field):
    with pytest.raises(CostInputError) as caught:
        Workload(**values)
    assert caught.value.field == field


def test_workload_reads_the_stack_usage_config_with_flags_winning():
    workload = Workload.from_usage(
        {"protectedGb": 500, "dailyChangeRate": 0.05, "dataProfile": "logs"}, protected_gb=800
    )
    assert (workload.protected_gb, workload.daily_change_rate, workload.data_profile) == (800, 0.05, "logs")


def test_config_key_names_the_stack_setting():
    from cost import config_key

    assert config_key("data_profile") == "elastio:usage.dataProfile"
    assert config_key("region") == "region"


def test_the_model_prices_the_engines_own_chunk_and_pack_sizes():
    from engine.chunking import ChunkerSettings
    from engine.packs import DEFAULT_PACK_BYTES

    assert A.chunk_avg_kib * 1024 == ChunkerSettings().avg_size
    assert A.pack_mib * 1024 * 1024 == DEFAULT_PACK_BYTES

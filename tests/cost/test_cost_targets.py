"""The cost target of issue 14 in the model's own terms: the storage floor of a workload (unique compressed
bytes in S3 plus the reads of its changed blocks) and the vault side of its cost (every usage line but the
change-tracking snapshot; the idle floor is not usage)."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost import Assumptions, Workload, default_table, estimate
from cost.lines import total
from cost.profiles import DataProfile
from cost.targets import storage_floor_lines, target_check, vault_side_lines
from tests.cost.test_cost_planned_graph import minimal_values

REGION = "us-east-1"
PRICES = default_table()
# Hand-made so the arithmetic below is exact: runs of 64 KiB dirty 1 + 64/64 = 2 chunks and 1 + 512/64 = 9
# EBS blocks on average, nothing dedups, everything compresses 2:1.
HALVES = DataProfile("halves", "test data", dedup_factor=1.0, compression_factor=2.0, changed_extent_kib=64,
                     sources=())  # fmt: skip


def test_the_floor_is_unique_compressed_bytes_in_s3_plus_the_changed_block_reads():
    workload = Workload(protected_gb=100, daily_change_rate=0.5, retention_days=10)
    # By hand: the full copy is 100 / 2 = 50 GB. Half the data is rewritten a day in 64 KiB runs: a chunk
    # escapes with probability 0.5^2, so 75 GB of chunks are new a day, 37.5 GB stored, 375 GB over 10 days.
    # A 512 KiB block escapes with probability 0.5^9: 100 * (1 - 1/512) = 99.8046875 GB of blocks are read a
    # day, 2048 GetSnapshotBlock calls per GB (1 GiB / 512 KiB).
    s3 = PRICES.price("s3.standard.storage", REGION).usd  # per GB-month
    get_block = PRICES.price("ebs.direct.get_block", REGION).usd  # per 1,000 calls
    month = Assumptions().days_per_month
    expected = (50 + 375) * s3 + 99.8046875 * month * 2048 / 1000 * get_block

    floor = storage_floor_lines(workload, HALVES, REGION, PRICES, Assumptions())

    assert total(floor) == pytest.approx(expected)


def test_a_volume_that_never_changes_has_only_its_compressed_copy_as_floor():
    workload = Workload(protected_gb=300, daily_change_rate=0.0, retention_days=30)

    floor = storage_floor_lines(workload, HALVES, REGION, PRICES, Assumptions())

    assert total(floor) == pytest.approx(150 * PRICES.price("s3.standard.storage", REGION).usd)


def test_the_vault_side_leaves_out_the_change_tracking_snapshot_and_the_idle_floor():
    workload = Workload(protected_gb=1000, daily_change_rate=0.02, retention_days=30, change_rate_basis="blocks")
    with_snapshot = estimate([], workload, region=REGION)
    without = estimate([], workload, region=REGION, assumptions=replace(Assumptions(), keep_parent_snapshot=False))
    snapshot_gb = 1000 * (1 + 0.02)  # the latest snapshot of the volumes: full, plus a day's changed blocks

    assert total(vault_side_lines(with_snapshot)) == pytest.approx(total(vault_side_lines(without)))
    usage = with_snapshot.elastio_monthly_usd - with_snapshot.idle_monthly_usd
    assert usage - total(vault_side_lines(with_snapshot)) == pytest.approx(
        snapshot_gb * PRICES.price("ebs.snapshot.standard", REGION).usd
    )


@settings(max_examples=40, deadline=None)
@given(
    protected=st.floats(10, 20_000),
    rate=st.floats(0.0, 0.2),
    days=st.integers(1, 730),
    profile=st.sampled_from(["general", "database", "media", "logs"]),
)
def test_no_workload_costs_less_than_its_floor(protected, rate, days, profile):
    check = target_check([], Workload(protected, rate, days, profile), region=REGION)

    assert check.vault_side_usd >= check.floor_usd > 0
    assert check.ratio >= 1.0


README = Path(__file__).resolve().parents[2] / "cost" / "README.md"
TABLE_HEADING = "Cost target, 1000 GB general, 2%/day, us-east-1, minimal stack"


def quoted_targets() -> dict[int, list[float]]:
    """Retention days -> floor, vault side, ratio, savings, savings at target, as cost/README.md quotes them."""
    text = README.read_text()
    block = text[text.index(TABLE_HEADING) :].split("```")[1]
    return {
        int(days): [float(v) for v in values.split()]
        for days, values in re.findall(r"(\d+) days((?:\s+-?[\d.]+){5})", block)
    }


def test_the_readme_quotes_the_target_figures_the_model_gives_on_the_planned_minimal_stack():
    from plan import build_plan

    records = build_plan("example", stack_values=minimal_values()).records()
    quoted = quoted_targets()

    assert sorted(quoted) == [30, 90, 365]
    for days, (floor, vault_side, ratio, savings, at_target) in quoted.items():
        check = target_check(records, Workload(1000, 0.02, days, "general"))
        assert (floor, vault_side, ratio) == pytest.approx(
            (check.floor_usd, check.vault_side_usd, check.ratio), abs=0.006
        ), days
        assert (savings, at_target) == pytest.approx((check.savings_pct, check.savings_at_target_pct), abs=0.51), days

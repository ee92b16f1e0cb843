"""The savings table quoted in cost/README.md is what the model computes now, on the planned minimal stack."""

import re
from pathlib import Path

import pytest

from cost.sweep import sweep
from cost.workload import Workload
from tests.cost.test_cost_planned_graph import minimal_values

README = Path(__file__).resolve().parents[2] / "cost" / "README.md"
TABLE_HEADING = "Savings vs EBS snapshots, 1000 GB, minimal stack, us-east-1"
RATES = (0.005, 0.01, 0.02, 0.05, 0.10)


def quoted_table() -> dict[tuple[str, int], list[int]]:
    """(profile, retention days) -> the five quoted savings, from the README's two-column code block."""
    text = README.read_text()
    block = text[text.index(TABLE_HEADING) :].split("```")[1]
    quoted: dict[tuple[str, int], list[int]] = {}
    profiles: list[str] = []
    for line in block.splitlines():
        names = re.findall(r"([a-z]+)\s+0\.5%", line)
        if names:
            profiles = names
            continue
        for profile, (days, values) in zip(profiles, re.findall(r"(\d+) days((?:\s+-?\d+){5})", line), strict=False):
            quoted[(profile, int(days))] = [int(v) for v in values.split()]
    return quoted


@pytest.fixture(scope="module")
def minimal_records():
    from plan import build_plan

    return build_plan("example", stack_values=minimal_values()).records()


def test_the_readme_quotes_every_profile():
    assert {profile for profile, _ in quoted_table()} == {"general", "database", "media", "logs"}


@pytest.mark.parametrize("profile", ["general", "database", "media", "logs"])
def test_the_quoted_savings_are_what_the_model_computes(minimal_records, profile):
    rows = {days: values for (name, days), values in quoted_table().items() if name == profile}
    workload = Workload.from_usage({}, protected_gb=1000, data_profile=profile)
    table = sweep(minimal_records, workload, retentions=sorted(rows), change_rates=RATES)
    computed = {
        days: [round(value) for value in row]
        for days, row in zip(table["retention_days"], table["savings_vs_snapshots_pct"], strict=True)
    }
    assert computed == rows

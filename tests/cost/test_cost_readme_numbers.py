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


ROOT_README = Path(__file__).resolve().parents[2] / "README.md"


def _cost_section() -> str:
    text = ROOT_README.read_text()
    return text[text.index("## Cost preview") : text.index("## Services and engine")]


def test_the_readme_diff_is_what_the_tool_prints(tmp_path, capsys):
    """The diff the README shows (a second vault on a one-region stack) is the tool's output, character for
    character."""
    import yaml

    from cost.cli import main
    from tests.cost.test_cost_ci import PROGRAM, minimal_stack
    from tests.support import ROOT

    for name in PROGRAM:
        (tmp_path / name).symlink_to(ROOT / name)
    archive = minimal_stack()
    archive["elastio:regions"][0]["vaults"].append({"name": "archive"})
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": minimal_stack()}))
    (tmp_path / "Pulumi.prod-archive.yaml").write_text(yaml.safe_dump({"config": archive}))
    assert main(["diff", "prod", "prod-archive", "--project-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    quoted = _cost_section().split("```")[1].strip("\n")
    assert quoted == printed


def test_the_readme_floor_figures_are_the_models(minimal_records):
    from cost import estimate

    years = estimate(minimal_records).as_dict()["idle_monthly_usd_by_year"]
    section = _cost_section()
    money = r"\$(\d+\.\d\d)"
    quoted = re.search(rf"comes to {money}/month.*?so {money} in year 2 and {money} from year 3", section, re.S)
    assert quoted, "the README no longer quotes the floor by year"
    assert [float(v) for v in quoted.groups()] == [round(years[y], 2) for y in ("1", "2", "3")]


def test_the_readme_30_day_range_is_the_sweeps(minimal_records):
    quoted = re.search(r"30-day policy the model gives (-?\d+)% to \+(\d+)%", _cost_section())
    low, high = (int(v) for v in quoted.groups())
    # Media is quoted on its own ("compressed media saves least").
    at_30 = [values for (profile, days), values in quoted_table().items() if days == 30 and profile != "media"]
    assert (low, high) == (min(min(v) for v in at_30), max(max(v) for v in at_30))


def test_the_largest_usage_lines_quoted_are_the_models(minimal_records):
    from cost import Workload, estimate

    text = README.read_text()
    quoted = re.search(
        r"Largest usage lines for 1000 GB / 2% / 30 days general: change-tracking snapshot \$([\d.]+), first full "
        r"copy\s+\$([\d.]+), changed-block reads \$([\d.]+), changes kept for retention \$(\d+\.\d\d)",
        text,
    )
    assert quoted, "cost/README.md no longer quotes the largest usage lines"
    lines = {line.resource: line.monthly_usd for line in estimate(minimal_records, Workload()).elastio}
    computed = [
        lines["Change-tracking snapshot (latest per volume)"],
        lines["Vault storage: first full copy"],
        lines["EBS direct APIs: changed blocks read"],
        lines["Vault storage: changes kept for retention"],
    ]
    assert [float(v) for v in quoted.groups()] == [round(v, 2) for v in computed]


def test_the_floor_figures_of_the_cost_readme_are_the_models(minimal_records):
    from cost import estimate

    years = estimate(minimal_records).as_dict()["idle_monthly_usd_by_year"]
    quoted = re.search(r"plans to \*\*\$([\d.]+) a month\*\*.*?\$([\d.]+) in year 2 and \$([\d.]+) from year 3",
                       README.read_text(), re.S)
    assert [float(v) for v in quoted.groups()] == [round(years[y], 2) for y in ("1", "2", "3")]

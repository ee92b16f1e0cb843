"""`python -m cost`: flags, JSON shape, sweep, plot, sample, and one-line errors naming the flag."""

import json
import sys
import types

import pytest

from cost.cli import main
from cost.workload import CHANGE_RATE_BASES
from tests.cost.graphs import PRIVATE_LINK_SERVICES, stack_records


@pytest.fixture
def graph(tmp_path):
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(stack_records()))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_documented_fields_and_lines_add_up(capsys, graph):
    code, out, _ = run(capsys, "--graph", graph, "--json")
    result = json.loads(out)
    assert code == 0
    for key in ("idle_monthly_usd", "savings_vs_snapshots_pct", "savings_vs_aws_backup_pct", "assumptions"):
        assert key in result
    assert set(result["elastio"]["lines"][0]) >= {
        "resource",
        "quantity",
        "unit",
        "unit_price_usd",
        "monthly_usd",
    }
    assert sum(x["monthly_usd"] for x in result["elastio"]["lines"]) == pytest.approx(
        result["elastio"]["monthly_usd"]
    )
    assert result["ebs_snapshots"]["monthly_usd"] > 0 and result["aws_backup"]["monthly_usd"] > 0


def test_flags_set_the_workload(capsys, graph):
    _, out, _ = run(
        capsys,
        "--graph",
        graph,
        "--json",
        "--protected-gb",
        750,
        "--daily-change-rate",
        0.05,
        "--retention-days",
        90,
        "--data-profile",
        "media",
        "--restore-gb",
        10,
    )
    workload = json.loads(out)["assumptions"]["workload"]
    assert workload == {
        "protected_gb": 750,
        "daily_change_rate": 0.05,
        "retention_days": 90,
        "data_profile": "media",
        "restore_gb_per_month": 10,
        "change_rate_basis": "data",
        "daily_change_rate_meaning": CHANGE_RATE_BASES["data"],
    }


def test_text_breakdown_shows_parts_totals_baselines_savings_and_assumptions(capsys, graph):
    _, out, _ = run(capsys, "--graph", graph)
    for heading in (
        "Fixed (idle) part",
        "Idle total",
        "Usage part",
        "Elastio total",
        "EBS snapshots total",
        "AWS Backup total",
        "Savings vs EBS snapshots",
        "Assumptions",
        "Unit price",
    ):
        assert heading in out


def test_free_tier_flag_lowers_the_bill(capsys, graph):
    _, without, _ = run(capsys, "--graph", graph, "--json")
    _, with_free, _ = run(capsys, "--graph", graph, "--json", "--free-tier")
    assert json.loads(with_free)["elastio"]["monthly_usd"] < json.loads(without)["elastio"]["monthly_usd"]
    assert json.loads(with_free)["assumptions"]["free_tier_included"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--protected-gb", "-5"], "--protected-gb: -5.0 is negative"),
        (["--daily-change-rate", "1.5"], "--daily-change-rate: 1.5 is above 1"),
        (["--retention-days", "0"], "--retention-days: 0 is not a whole number of days"),
        (["--data-profile", "video"], "--data-profile: 'video' is not a data profile; use one of: general"),
        (["--region", "mars-1"], "--region: 'mars-1' is not a priced region"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(capsys, graph, argv, message):
    code, out, err = run(capsys, "--graph", graph, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1 and "Traceback" not in err


def test_unparseable_number_is_refused_by_the_flag(capsys, graph):
    with pytest.raises(SystemExit) as exit_:
        main(["--graph", str(graph), "--protected-gb", "lots"])
    assert exit_.value.code == 2
    assert "--protected-gb: invalid float value: 'lots'" in capsys.readouterr().err


def test_missing_graph_file_is_named(capsys, tmp_path):
    code, _, err = run(capsys, "--graph", tmp_path / "none.json")
    assert code == 2 and "--graph" in err and "no such file" in err


def test_sweep_prints_retention_rows_and_change_rate_columns(capsys, graph):
    code, out, _ = run(capsys, "--graph", graph, "--sweep")
    assert code == 0
    assert "retention" in out and "10.0%" in out
    assert len([line for line in out.splitlines() if "|" in line]) == 2 * (1 + 7)  # both baselines
    assert "Savings vs EBS snapshots" in out and "Savings vs AWS Backup" in out


def test_sweep_takes_its_grid_and_profile_from_flags(capsys, graph):
    code, out, _ = run(
        capsys, "--graph", graph, "--sweep-retention", "30,365", "--sweep-change-rate", "0.01,0.05",
        "--data-profile", "database", "--json",
    )
    table = json.loads(out)
    assert code == 0 and table["retention_days"] == [30, 365] and table["daily_change_rates"] == [0.01, 0.05]
    assert table["workload"]["data_profile"] == "database"
    assert len(table["savings_vs_aws_backup_pct"]) == 2 and len(table["savings_vs_aws_backup_pct"][0]) == 2


def test_a_bad_sweep_grid_names_the_flag(capsys, graph):
    with pytest.raises(SystemExit) as exit_:
        main(["--graph", str(graph), "--sweep-retention", "30,a-year"])
    assert exit_.value.code == 2 and "--sweep-retention" in capsys.readouterr().err
    code, out, err = run(capsys, "--graph", graph, "--sweep-change-rate", "0.01,1.5")
    assert code == 2 and out == "" and err.startswith("error: --sweep-change-rate: 1.5 is above 1")


def test_sweep_json_is_a_matrix(capsys, graph):
    _, out, _ = run(capsys, "--graph", graph, "--sweep", "--json")
    table = json.loads(out)
    assert len(table["savings_vs_snapshots_pct"]) == len(table["retention_days"])
    assert all(len(row) == len(table["daily_change_rates"]) for row in table["savings_vs_snapshots_pct"])


def test_plot_writes_a_png(capsys, graph, tmp_path):
    target = tmp_path / "savings.png"
    code, out, _ = run(capsys, "--graph", graph, "--plot", target)
    assert code == 0 and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in out


def test_missing_sample_path_is_named(capsys, graph, tmp_path):
    code, _, err = run(capsys, "--graph", graph, "--sample", tmp_path / "nothing")
    assert code == 2 and err.startswith("error: --sample") and "no such file or directory" in err


def test_sample_measures_real_data_with_the_engine(capsys, graph, tmp_path):
    sample = tmp_path / "sample"
    sample.mkdir()
    text = b"".join(b"line %d of a very repetitive log file\n" % (i % 50) for i in range(40000))
    (sample / "a.log").write_bytes(text)
    (sample / "b.log").write_bytes(text)  # a duplicate: dedup must see it
    code, out, _ = run(capsys, "--graph", graph, "--sample", sample, "--json")
    profile = json.loads(out)["assumptions"]["data_profile"]
    assert code == 0
    assert profile["dedup_factor"] >= 1.9 and profile["compression_factor"] > 5
    assert profile["name"] == "general (measured)"


def fake_plan_module(monkeypatch, records, usage=None, error=None):
    module = types.ModuleType("plan")

    class PlanError(Exception):
        pass

    def build_plan(stack, project_dir=None):
        if error:
            raise PlanError(error)
        return types.SimpleNamespace(records=lambda: records, config=types.SimpleNamespace(usage=usage))

    module.PlanError, module.build_plan = PlanError, build_plan
    monkeypatch.setitem(sys.modules, "plan", module)


def test_stack_usage_config_is_the_default_and_flags_override_it(capsys, monkeypatch):
    usage = types.SimpleNamespace(
        protected_gb=3000.0, daily_change_rate=0.04, retention_days=60, data_profile="database"
    )
    fake_plan_module(monkeypatch, stack_records(), usage)
    _, out, _ = run(capsys, "--stack", "example", "--json", "--retention-days", 120)
    workload = json.loads(out)["assumptions"]["workload"]
    assert (workload["protected_gb"], workload["retention_days"], workload["data_profile"]) == (
        3000,
        120,
        "database",
    )


def test_bad_profile_in_the_stack_names_the_config_key(capsys, monkeypatch):
    usage = types.SimpleNamespace(
        protected_gb=10.0, daily_change_rate=0.01, retention_days=7, data_profile="photos"
    )
    fake_plan_module(monkeypatch, stack_records(), usage)
    code, _, err = run(capsys, "--stack", "prod")
    assert code == 2 and err.startswith("error: elastio:usage.dataProfile (stack prod): 'photos'")


def test_plan_error_is_printed_as_its_one_line(capsys, monkeypatch):
    fake_plan_module(monkeypatch, [], error="Pulumi.nope.yaml: no such stack file")
    code, _, err = run(capsys, "--stack", "nope")
    assert code == 2 and err == "error: Pulumi.nope.yaml: no such stack file\n"


@pytest.mark.parametrize(
    ("content", "flag", "words"),
    [
        ("[1, 2]", "--graph", ["record #0", "not an object"]),
        ('{"regions": ["us-east-1"]}', "--prices", ["not a price table", "prices"]),
        ("[1]", "--prices", ["not a price table"]),
    ],
    ids=["graph-of-numbers", "prices-without-prices", "prices-not-an-object"],
)
def test_a_file_of_the_wrong_shape_is_one_line_naming_the_flag(capsys, graph, tmp_path, content, flag, words):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    argv = ["--graph", bad] if flag == "--graph" else ["--graph", graph, flag, bad]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {flag}") and err.count("\n") == 1
    for word in words:
        assert word in err


@pytest.mark.parametrize(
    ("name", "words"),
    [("savings.txt", [".png"]), ("no-such-folder/savings.png", ["no-such-folder", "does not exist"])],
    ids=["not-png", "missing-folder"],
)
def test_a_plot_path_that_cannot_be_written_is_named_before_any_work(capsys, graph, tmp_path, name, words):
    code, out, err = run(capsys, "--graph", graph, "--plot", tmp_path / name)
    assert code == 2 and out == ""
    assert err.startswith("error: --plot") and err.count("\n") == 1
    for word in words:
        assert word in err


def test_a_graph_without_regions_asks_for_the_region_flag(capsys, tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([{"urn": "urn:b", "type": "aws:s3/bucket:Bucket", "name": "b", "inputs": {}}]))
    code, _, err = run(capsys, "--graph", bare)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: --region: not given") and "None" not in err


def test_the_preview_summary_names_the_cost_command_of_its_stack():
    from cost import format_summary, summary

    text = format_summary(summary(stack_records()), stack="prod")
    assert text.splitlines()[-1].strip() == "details: python -m cost --stack prod"


def test_a_reader_that_stops_early_gets_no_error(graph):
    import os
    import subprocess

    from tests.support import ROOT

    process = subprocess.Popen(
        [sys.executable, "-m", "cost", "--graph", str(graph)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    process.stdout.close()  # as `python -m cost | head -1` does once it has its line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0 and stderr == ""


def test_the_breakdown_prints_prices_without_exponents_and_credits_as_minus_dollars(capsys, graph):
    code, out, _ = run(capsys, "--graph", graph, "--free-tier")
    assert code == 0
    assert "e-0" not in out and "$-" not in out
    assert "$0.0000166667" in out  # Lambda's GB-second price, as a reader would write it
    assert "-$0." in out  # a free-tier credit


def test_an_internal_error_is_one_line_with_exit_3_and_the_traceback_only_with_debug(monkeypatch, capsys):
    from cost import cli

    def broken(args, out=None):
        raise KeyError("bug")

    monkeypatch.setattr(cli, "run", broken)
    assert cli.main(["--stack", "example"]) == 3
    err = capsys.readouterr().err
    assert err.strip() == "internal error: KeyError: 'bug' (rerun with --debug for details)"
    assert cli.main(["--stack", "example", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_the_preview_summary_checks_the_three_dollar_claim_and_names_what_breaks_it():
    from cost import format_summary, summary

    minimal = format_summary(summary(stack_records()), stack="prod")
    assert "within the $3 claim" in minimal
    assert "over $3 from year 2: 2 x KMS key rotations $2.00" in minimal  # the claim lasts one year
    private = format_summary(summary(stack_records(private_link=True)), stack="prod")
    assert "above the $3 claim" in private
    azs = len(PRIVATE_LINK_SERVICES) * 2  # each endpoint the program plans, in the graph's 2 subnets' AZs
    assert f"over $3 from year 1: {azs} x interface endpoint AZs ${azs * 7.30:.2f}" in private  # $7.30 per AZ

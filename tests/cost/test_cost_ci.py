"""The cost preview in review and CI: `diff` between two stack files, --fail-above's exit code, the Markdown
and JSON forms, and usage priced on its own vault. Plans the real program offline (budget: ~12 s of CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cost.cli import main
from tests.support import ROOT, example_stack_values

PROGRAM = ("Pulumi.yaml", "__main__.py", "components", "lambdas")


def minimal_stack(**network) -> dict:
    values = example_stack_values()
    values["elastio:regions"] = [
        {
            "region": "us-east-1",
            "network": {
                "vpcId": "vpc-0a1b2c3d4e5f60718",
                "subnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
                "assignPublicIp": True,
                **network,
            },
            "vaults": [{"name": "primary"}],
        }
    ]
    values["elastio:usage"] = {"protectedGb": 1000, "dailyChangeRate": 0.02, "retentionDays": 30}
    return values


@pytest.fixture
def project(tmp_path: Path):
    """A project folder with the real program and stack files a test writes (an edited copy is a stack)."""
    for name in PROGRAM:
        (tmp_path / name).symlink_to(ROOT / name)

    def write(stack: str, values: dict) -> str:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": values}))
        return stack

    write.dir = tmp_path
    return write


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


PRIVATE = {
    "assignPublicIp": False,
    "privateLink": True,
    "routeTableIds": ["rtb-0a1b2c3d4e5f60001"],
}


def test_diff_shows_each_endpoint_privatelink_adds_and_the_total_delta(capsys, project):
    base = project("base", minimal_stack())
    new = project("new", minimal_stack(**PRIVATE))
    code, out, _ = run(capsys, "diff", base, new, "--project-dir", project.dir, "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["schemaVersion"] == "1" and result["currency"] == "USD"
    added = [c for c in result["lines"] if c["change"] == "added" and c["price_key"] == "vpce.interface.hours"]
    assert len(added) == 9 * 2  # nine interface endpoints, one line per AZ (two subnets)
    assert {c["component"] for c in added} == {"us-east-1/connector"}
    assert result["delta_monthly_usd"] == pytest.approx(
        result["new"]["elastio"]["monthly_usd"] - result["base"]["elastio"]["monthly_usd"]
    )
    assert result["delta_monthly_usd"] == pytest.approx(sum(c["delta_monthly_usd"] for c in result["lines"]))
    # Public IPs go, endpoint data processing comes: the usage lines move with the network path.
    keys = {c["price_key"]: c["change"] for c in result["lines"]}
    assert keys["vpc.public_ipv4.hours"] == "removed" and keys["vpce.interface.data"] == "added"


def test_diff_fail_above_applies_to_the_delta(capsys, project):
    base = project("base", minimal_stack())
    new = project("new", minimal_stack(**PRIVATE))
    code, out, err = run(
        capsys, "diff", base, new, "--project-dir", project.dir, "--fail-above", 50, "--fail-on", "idle"
    )
    assert code == 4 and "Cost diff" in out and "--fail-above 50" in err
    code, _, _ = run(capsys, "diff", base, base, "--project-dir", project.dir, "--fail-above", 0)
    assert code == 0  # no change: a zero delta is not above 0


def test_diff_markdown_is_a_table_a_pull_request_renders(capsys, project):
    base = project("base", minimal_stack())
    new = project("new", minimal_stack(**PRIVATE))
    code, out, _ = run(capsys, "diff", base, new, "--project-dir", project.dir, "--format", "markdown")
    lines = out.splitlines()
    header = lines.index("| Component | Resource | Change | Base | New | Delta |")
    assert lines[header + 1] == "|---|---|---|---:|---:|---:|"
    rows = [line for line in lines[header + 2 :] if line.startswith("| us-east-1/connector | VPC endpoint ")]
    assert len(rows) == 18 and all(row.endswith("| added | $0.00 | $7.30 | +$7.30 |") for row in rows)
    assert any(line.startswith("| Total (idle + usage) |") for line in lines)


@pytest.mark.parametrize(("fail_on", "limit", "code"), [("idle", 2.0, 4), ("idle", 3.0, 0), ("total", 50.0, 4)])
def test_fail_above_exits_4_after_printing_the_estimate(capsys, project, fail_on, limit, code):
    stack = project("one", minimal_stack())
    got, out, err = run(
        capsys, "--stack", stack, "--project-dir", project.dir, "--fail-above", limit, "--fail-on", fail_on
    )
    assert got == code and "Idle total" in out
    assert ("cost check failed" in err) == (code == 4)


def test_bad_fail_above_is_bad_input(capsys, project):
    stack = project("one", minimal_stack())
    code, out, err = run(capsys, "--stack", stack, "--project-dir", project.dir, "--fail-above", -1)
    assert code == 2 and out == "" and err.startswith("error: --fail-above -1:")


@pytest.mark.parametrize("command", ["estimate", "diff"])
def test_fail_above_nan_is_bad_input_not_a_failed_check(capsys, project, command):
    # Every amount compares false with NaN, so `amount <= nan` failed the check (exit 4, "above nan") for any
    # estimate or delta: a typo or an unset CI variable must be exit 2, naming the flag.
    stack = project("one", minimal_stack())
    argv = ["--stack", stack] if command == "estimate" else ["diff", stack, stack]
    code, out, err = run(capsys, *argv, "--project-dir", project.dir, "--fail-above", "nan")
    assert code == 2 and out == "" and err.startswith("error: --fail-above nan:")


def test_fail_above_with_a_sweep_is_refused_not_ignored(capsys, project):
    # A sweep prints a grid, not one amount: the check used to be skipped and the run passed (exit 0), so a
    # CI gate written as `--sweep --fail-above 25` could never fail.
    stack = project("one", minimal_stack())
    code, out, err = run(capsys, "--stack", stack, "--project-dir", project.dir, "--sweep", "--fail-above", 25)
    assert code == 2 and out == "" and err.startswith("error: --fail-above 25 checks one estimate")


def test_markdown_estimate_has_component_lines_totals_and_the_floor_check(capsys, project):
    stack = project("one", minimal_stack())
    code, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--format", "markdown")
    assert code == 0
    assert "| us-east-1/vault:primary | KMS key elastio-us-east-1-primary-key | 1 | key-month | $1 | $1.00 |" in out
    assert "| us-east-1/connector |" in out and "within the $3 claim" in out


def test_each_vault_usage_is_priced_in_its_own_region(capsys, project):
    values = example_stack_values()  # home us-east-1; eu-west-1 sorts first but is not home
    values.pop("elastio:usage")
    values["elastio:regions"][1]["vaults"][0]["usage"] = {"protectedGb": 500, "retentionDays": 60}
    values["elastio:regions"][0]["vaults"][1]["usage"] = {"protectedGb": 300, "dataProfile": "database"}
    stack = project("split", values)
    code, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--json")
    result = json.loads(out)
    placed = {w["component"]: (w["region"], w["workload"]["protected_gb"]) for w in result["assumptions"]["workloads"]}
    assert placed == {"us-east-1/vault:compliance": ("us-east-1", 300), "eu-west-1/vault:default": ("eu-west-1", 500)}
    storage = {
        line["component"]: line["unit_price_usd"]
        for line in result["elastio"]["lines"]
        if line["resource"] == "Vault storage: first full copy"
    }
    assert storage == {"us-east-1/vault:compliance": 0.023, "eu-west-1/vault:default": 0.023}
    regions = {line["component"]: line["region"] for line in result["elastio"]["lines"] if line["part"] == "usage"}
    assert regions == {"us-east-1/vault:compliance": "us-east-1", "eu-west-1/vault:default": "eu-west-1"}


def test_stack_wide_usage_goes_on_the_home_regions_first_vault(capsys, project):
    stack = project("example2", example_stack_values())
    _, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--json")
    (placed,) = json.loads(out)["assumptions"]["workloads"]
    assert (placed["component"], placed["source"]) == ("us-east-1/vault:primary", "elastio:usage")


def test_a_bad_vault_usage_value_names_its_config_key(capsys, project):
    values = example_stack_values()
    values["elastio:regions"][1]["vaults"][0]["usage"] = {"dataProfile": "photos"}
    stack = project("bad", values)
    code, _, err = run(capsys, "--stack", stack, "--project-dir", project.dir)
    assert code == 2 and err.startswith(
        "error: elastio:regions[1].vaults[0].usage.dataProfile (stack bad): 'photos' is not a data profile"
    )


def test_graph_from_the_preview_keeps_the_stacks_usage(capsys, tmp_path):
    from preview.cli import main as preview_main

    assert preview_main(["--stack", "example", "--json"]) in (0, 1)
    document = capsys.readouterr().out
    graph = tmp_path / "plan.json"
    graph.write_text(document)
    _, out, _ = run(capsys, "--graph", graph, "--json")
    (placed,) = json.loads(out)["assumptions"]["workloads"]
    assert placed["component"] == "us-east-1/vault:primary" and placed["workload"]["protected_gb"] == 2000
    # A bare list of records has no usage: the report says so instead of pricing defaults silently.
    graph.write_text(json.dumps(json.loads(document)["resources"]))
    _, out, _ = run(capsys, "--graph", graph, "--json")
    assert any("carries no usage" in note for note in json.loads(out)["notes"])


def test_private_subnets_without_privatelink_pay_nat_processing_for_every_byte(capsys, project):
    nat = project("nat", minimal_stack(assignPublicIp=False))
    gateways = project("gw", minimal_stack(assignPublicIp=False, routeTableIds=["rtb-0a1b2c3d4e5f60001"]))
    _, out, _ = run(capsys, "--stack", nat, "--project-dir", project.dir, "--json")
    nat_lines = [line for line in json.loads(out)["elastio"]["lines"] if line["price_key"] == "vpc.nat_gateway.data"]
    what = {line["resource"].split("(")[1].split(" ")[0] for line in nat_lines}
    assert what == {"EBS", "S3"}  # the dedup index is in S3: no per-chunk DynamoDB bytes to carry
    ebs = next(line for line in nat_lines if "EBS" in line["resource"])
    assert ebs["unit_price_usd"] == 0.045  # us-east-1, per GB processed
    _, out, _ = run(capsys, "--stack", gateways, "--project-dir", project.dir, "--json")
    lines = json.loads(out)["elastio"]["lines"]
    with_gateways = [line for line in lines if line["price_key"] == "vpc.nat_gateway.data"]
    assert [line["resource"] for line in with_gateways] == [ebs["resource"]]  # S3 takes the gateway


def test_json_carries_the_time_view_and_schema(capsys, project):
    stack = project("one", minimal_stack())
    _, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--json")
    result = json.loads(out)
    assert result["schemaVersion"] == "1" and result["currency"] == "USD"
    time = result["time_view"]
    assert time["month_1_usd"] == pytest.approx(time["steady_monthly_usd"] + result["first_month_extra_usd"])
    assert result["first_month_extra_usd"] > 0  # the first full backup reads all 1000 GB once
    assert time["year_3_monthly_usd"] - time["steady_monthly_usd"] == pytest.approx(4.0)  # 2 keys x 2 rotations
    assert all("component" in line for line in result["elastio"]["lines"])
    assert sum(result["totals"]["by_component"].values()) == pytest.approx(result["elastio"]["monthly_usd"])


def nat_lines(capsys, stack, project) -> list[str]:
    _, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--json")
    lines = json.loads(out)["elastio"]["lines"]
    return sorted(line["resource"] for line in lines if line["price_key"] == "vpc.nat_gateway.data")


def test_gateway_endpoints_the_vpc_already_has_keep_s3_and_dynamodb_off_the_nat(capsys, project):
    # existingEndpoints: the program creates no endpoint, so the graph has none; the bytes still take them.
    stack = project("existing", minimal_stack(assignPublicIp=False, existingEndpoints=["s3", "dynamodb"]))
    assert nat_lines(capsys, stack, project) == ["NAT data processed (EBS direct API reads)"]


def test_an_existing_ebs_endpoint_carries_the_engines_reads_at_the_endpoint_rate(capsys, project):
    network = {
        "assignPublicIp": False,
        "privateLink": True,
        "routeTableIds": ["rtb-0a1b2c3d4e5f60001"],
        "existingEndpoints": ["ebs"],
    }
    stack = project("existing-ebs", minimal_stack(**network))
    _, out, _ = run(capsys, "--stack", stack, "--project-dir", project.dir, "--json")
    result = json.loads(out)
    keys = {line["price_key"] for line in result["elastio"]["lines"]}
    assert "vpce.interface.data" in keys and "vpc.nat_gateway.data" not in keys
    endpoints = [line["resource"] for line in result["elastio"]["lines"] if line["price_key"] == "vpce.interface.hours"]
    assert not any("-ebs," in name for name in endpoints)  # the VPC's own ebs endpoint is not this stack's to bill
    assert result["assumptions"]["existing_endpoints"] == {"us-east-1": ["ebs"]}

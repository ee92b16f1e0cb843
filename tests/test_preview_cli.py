"""The offline preview command: readable output, JSON for machines, clear errors and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT, example_stack_values


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_preview(example_plan, monkeypatch, capsys):
    """`python -m preview ARGS` in this process (its exit code, stdout, stderr); the example stack is the session's
    plan instead of a fresh one. A subprocess adds nothing here but start-up and a second plan of the example."""
    import preview.cli

    planned = preview.cli.build_plan

    def build_plan(stack, project_dir=None, **kwargs):
        if stack == "example" and project_dir is None and not kwargs:
            return example_plan
        return planned(stack, project_dir=project_dir, **kwargs)

    monkeypatch.setattr(preview.cli, "build_plan", build_plan)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = preview.cli.main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def project_with_stack(tmp_path: Path, name: str, config: dict) -> Path:
    """A copy of the project that plans `config` as stack `name`."""
    for item in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / item, tmp_path / item)
    for package in ("src",):
        (tmp_path / package).symlink_to(ROOT / package)
    (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def test_bad_config_exits_2_with_key_path_and_no_traceback(tmp_path, run_preview):
    config = example_stack_values()
    config["elastio:regions"][0]["vaults"] = [{"name": f"vault{i}"} for i in range(5)]
    project = project_with_stack(tmp_path, "bad", config)
    result = run_preview("--stack", "bad", "--project-dir", str(project))
    assert result.returncode == 2
    assert "elastio:regions[0].vaults: 5 vaults given, at most 4 per region" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_stack_exits_2_and_lists_the_stacks(run_preview):
    result = run_preview("--stack", "nosuchstack")
    assert result.returncode == 2
    assert "no file Pulumi.nosuchstack.yaml" in result.stderr
    assert "example" in result.stderr


def test_example_stack_json_is_the_graph_of_the_contract(run_preview):
    result = run_preview("--stack", "example", "--json")
    assert result.returncode in (0, 1), result.stderr  # 1 only for a mandatory policy violation
    document = json.loads(result.stdout)
    record = next(r for r in document["resources"] if r["type"] == "elastio:account:AccountBootstrap")
    assert set(record) >= {
        "urn", "type", "name", "parent", "region", "inputs", "protect", "retain_on_delete", "property_dependencies"
    }
    assert document["summary"]["by_region"]["us-east-1"] > 0
    assert any("externalId" in note for note in document["notes"])


def test_example_stack_text_shows_tree_and_counts(run_preview):
    result = run_preview("--stack", "example")
    assert result.returncode in (0, 1), result.stderr
    assert "elastio-account  elastio:account:AccountBootstrap  [us-east-1]" in result.stdout
    assert "Resources by region:" in result.stdout
    assert "├─ " in result.stdout


def test_a_misconfigured_graph_exits_1_naming_the_rule_and_the_resource(example_plan, monkeypatch, capsys):
    import copy

    import preview.cli

    plan = copy.deepcopy(example_plan)
    versioning = next(r for r in plan.resources if r.type == "aws:s3/bucketVersioning:BucketVersioning")
    plan.resources.remove(versioning)  # the vault bucket loses versioning
    bucket_urn = versioning.property_dependencies["bucket"][0]
    bucket_name = next(r.name for r in plan.resources if r.urn == bucket_urn)
    monkeypatch.setattr(preview.cli, "build_plan", lambda *args, **kwargs: plan)

    assert preview.cli.main(["--stack", "example", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    blocking = [v for v in document["policies"]["verdicts"] if v["level"] == "mandatory"]
    assert [(v["policy"], v["name"]) for v in blocking] == [("s3-bucket-versioning", bucket_name)]


def test_a_single_problem_is_one_error_line(run_preview):
    result = run_preview("--stack", "nosuchstack")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: stack 'nosuchstack'")


def test_bad_config_names_the_stack_file_to_fix(tmp_path, run_preview):
    config = example_stack_values()
    config["elastio:regions"][0]["vaults"] = [{"name": "Bad_Name"}]
    project = project_with_stack(tmp_path, "staging", config)
    result = run_preview("--stack", "staging", "--project-dir", str(project))
    assert result.returncode == 2
    assert "Pulumi.staging.yaml" in result.stderr and "Pulumi.<stack>.yaml" not in result.stderr


def test_a_reader_that_stops_early_gets_no_traceback():
    # `python -m preview | head` closes the pipe before the tree is printed: a real pipe, so a real process.
    process = subprocess.Popen(
        [sys.executable, "-m", "preview", "--stack", "example"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_stack_name_that_is_a_path_is_refused_as_bad_input(run_preview):
    result = run_preview("--stack", "../Pulumi")
    assert result.returncode == 2
    assert "stack '../Pulumi': not a stack name" in result.stderr

"""`python -m elastio_policies GRAPH.json`: exit codes, the rule and resource named, JSON output."""

import json
import subprocess
import sys
from pathlib import Path

from elastio_policies.__main__ import main

from tests.policies.policy_graph import changed, compliant_graph

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


def _write(tmp_path, records) -> str:
    path = tmp_path / "graph.json"
    path.write_text(json.dumps({"resources": records}))
    return str(path)


def test_compliant_graph_exits_zero(tmp_path, capsys):
    assert main([_write(tmp_path, compliant_graph())]) == 0
    assert "all rules pass" in capsys.readouterr().out


def test_deliberate_misconfiguration_exits_non_zero_naming_rule_and_resource(tmp_path, capsys):
    records = changed("vault-main-versioning",
                      lambda r: r["inputs"].update(versioningConfiguration={"status": "Suspended"}))
    assert main([_write(tmp_path, records)]) == 1
    out = capsys.readouterr().out
    assert "s3-bucket-versioning" in out and "vault-main-bucket" in out and "mandatory" in out


def test_advisory_only_findings_exit_zero(tmp_path, capsys):
    records = changed("connector-us-east-1-key", lambda r: r["inputs"].update(enableKeyRotation=False))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"kms-key-rotation": "advisory"}))
    assert main([_write(tmp_path, records), "--config", str(config)]) == 0
    assert "kms-key-rotation" in capsys.readouterr().out


def test_json_output_lists_verdicts_for_machines(tmp_path, capsys):
    records = changed("connector-us-east-1-alerts", lambda r: r["inputs"].pop("kmsMasterKeyId"))
    assert main([_write(tmp_path, records), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is False and document["mandatory"] == 1
    assert document["verdicts"][0]["policy"] == "sns-topic-encrypted"
    assert document["verdicts"][0]["name"] == "connector-us-east-1-alerts"


def test_unusable_input_exits_two_with_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "graph.json"
    path.write_text("{not json")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: graph") and "Traceback" not in err


def test_bad_config_exits_two_naming_the_rule(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"no-such-rule": "advisory"}))
    assert main([_write(tmp_path, []), "--config", str(config)]) == 2
    assert "no-such-rule" in capsys.readouterr().err


def test_runs_as_a_module_with_only_the_policies_folder_on_the_path(tmp_path):
    # As in a real policy run: nothing from the repository root is importable.
    result = subprocess.run(
        [sys.executable, "-m", "elastio_policies", _write(tmp_path, compliant_graph())],
        cwd=POLICIES_DIR, capture_output=True, text=True, env={"PYTHONPATH": ""}, timeout=60,
    )
    assert result.returncode == 0, result.stderr

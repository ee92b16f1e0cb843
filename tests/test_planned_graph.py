"""The example stack against the graph the last release planned (tests/fixtures/example_graph.json, written by
`python -m tests.planned_graph snapshot` from `python -m preview --json` on main).

tests/test_replacement.py plans a config change next to the unchanged config, both with today's code, so a
code change that renames a bucket or re-keys a table passes it. Here the base is what is deployed: a code change
that would replace or lose a data-bearing resource of an existing example stack fails. Additions are fine.
After a release, refresh the fixture:
    python -m preview --stack example --json > /tmp/g.json && python -m tests.planned_graph snapshot /tmp/g.json \
        > tests/fixtures/example_graph.json
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

from tests.planned_graph import ARCHIVE, differences, snapshot
from tests.replacement import replacements, vanished

FIXTURE = Path(__file__).parent / "fixtures" / "example_graph.json"


def as_plan(snap: dict) -> SimpleNamespace:
    """The shape tests.replacement reads (urn, type, inputs, ignore_changes per resource)."""
    return SimpleNamespace(
        resources=[
            SimpleNamespace(urn=urn, type=r["type"], inputs=r["inputs"], ignore_changes=r["ignore_changes"])
            for urn, r in snap["resources"].items()
        ]
    )


def released() -> dict:
    return json.loads(FIXTURE.read_text())


def test_todays_code_replaces_and_loses_nothing_the_released_example_stack_planned(example_plan):
    base, new = as_plan(released()), as_plan(snapshot(example_plan.records(), example_plan.outputs))
    assert replacements(base, new) == []
    assert vanished(base, new) == []


def test_every_policy_and_role_name_customers_use_is_still_planned(example_plan):
    # Customers attach the managed policies and trust the roles by name (replacing the tautological check of
    # the policy names against the constant the code loops over): a release may add names, never drop one.
    iam_types = ("aws:iam/policy:Policy", "aws:iam/role:Role")
    before = {r["inputs"]["name"] for r in released()["resources"].values() if r["type"] in iam_types}
    now = {r.inputs["name"] for r in example_plan.resources if r.type in iam_types}
    assert sorted(before - now) == []


def test_the_check_sees_a_code_change_that_renames_a_vault_bucket():
    changed = copy.deepcopy(released())
    bucket = next(urn for urn, r in changed["resources"].items() if r["type"] == "aws:s3/bucket:Bucket")
    changed["resources"][bucket]["inputs"]["bucket"] += "-v2"
    assert [found[:2] for found in replacements(as_plan(released()), as_plan(changed))] == [(bucket, "bucket")]


def test_the_comparison_names_archives_by_their_hash_not_their_path():
    record = {
        "urn": "urn:f", "type": "aws:lambda/function:Function", "parent": None, "region": "us-east-1",
        "inputs": {"code": {"FileArchive": "/a/functions-1.zip"}, "codeSha256": "A="},
        "protect": False, "retain_on_delete": False, "ignore_changes": [], "import_id": None,
        "property_dependencies": {},
    }
    moved = {**record, "inputs": {"code": {"FileArchive": "/elsewhere/functions-1.zip"}, "codeSha256": "A="}}
    rebuilt = {**record, "inputs": {"code": {"FileArchive": "/a/functions-2.zip"}, "codeSha256": "B="}}
    assert snapshot([record])["resources"]["urn:f"]["inputs"]["code"] == ARCHIVE
    assert differences(snapshot([record]), snapshot([moved])) == []
    assert differences(snapshot([record]), snapshot([rebuilt])) == ['~ urn:f inputs.codeSha256: "A=" -> "B="']

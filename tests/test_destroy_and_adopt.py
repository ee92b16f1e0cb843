"""`pulumi destroy` keeps the backups as they were, and `pulumi up` after it adopts them (issue 12, item 3).

What a destroy leaves in the account is exactly the plan's `retain_on_delete` resources. They must include
everything that guards the retained data (a deleted encryption default falls back to SSE-S3, a deleted
lifecycle lets noncurrent versions pile up, a deleted alias loses the key's only name), and a redeploy with
`options.adoptRetained: true` must import every one of them, under the id AWS knows it by, with the same
inputs as before (Pulumi refuses an import whose inputs differ from the resource), and import nothing else.
"""

from __future__ import annotations

import pytest

from plan import Plan, build_plan
from plan.fake_cloud import FakeCloud
from tests.support import example_stack_values

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
TABLE = "aws:dynamodb/table:Table"
DATA = {BUCKET, KEY, TABLE}
# The inputs through which a resource configures the one it guards: an S3 bucket-level configuration names
# its bucket, an alias its key.
GUARDING_INPUTS = ("bucket", "targetKeyId")


def _adopting_values() -> dict:
    values = example_stack_values()
    values["elastio:options"]["adoptRetained"] = True
    return values


@pytest.fixture(scope="module")
def deployed(example_plan) -> Plan:
    return example_plan


@pytest.fixture(scope="module")
def redeployed() -> Plan:
    return build_plan("example", stack_values=_adopting_values())


def _guarded_by(plan: Plan) -> dict[str, str]:
    """Resource URN -> the URN of the retained data resource it guards (through chains such as a lock
    configuration that names its bucket through the bucket's versioning)."""
    by_urn = {r.urn: r for r in plan.resources}
    guarded: dict[str, str] = {}

    def target(resource) -> str | None:
        if resource.type in DATA:
            return resource.urn
        if resource.urn in guarded:
            return guarded[resource.urn]
        for key in GUARDING_INPUTS:
            for urn in resource.property_dependencies.get(key, []):
                found = target(by_urn[urn]) if urn in by_urn else None
                if found:
                    return found
        return None

    for resource in plan.resources:
        if resource.type not in DATA and (found := target(resource)):
            guarded[resource.urn] = found
    return guarded


def test_every_data_resource_is_kept_by_destroy(deployed):
    assert [r.name for r in deployed.resources if r.type in DATA and not r.retain_on_delete] == []


def test_everything_that_guards_kept_data_is_kept_too(deployed):
    guards = _guarded_by(deployed)
    assert len(guards) >= 3 * 8  # three vaults: alias, and seven bucket-level configurations at least
    assert [urn.rsplit("::", 1)[1] for urn in guards if not _resource(deployed, urn).retain_on_delete] == []


def test_every_kms_key_has_an_alias_that_names_it(deployed):
    aliases = {r.property_dependencies["targetKeyId"][0]: r.inputs["name"] for r in _of(deployed, ALIAS)}
    assert set(aliases) == {k.urn for k in _of(deployed, KEY)}
    assert all(name.startswith("alias/elastio-") for name in aliases.values())
    # One alias name per key in a region: two keys of a region never share it.
    per_region = [(_resource(deployed, urn).region, name) for urn, name in aliases.items()]
    assert len(set(per_region)) == len(per_region)


def test_a_redeploy_without_adopting_imports_nothing(deployed):
    assert [r.name for r in deployed.resources if r.import_id] == []


def test_a_redeploy_adopts_exactly_what_destroy_kept(deployed, redeployed):
    kept = {r.urn for r in deployed.resources if r.retain_on_delete}
    assert {r.urn for r in redeployed.resources if r.import_id} == kept


def test_an_adopted_resource_is_imported_by_the_id_aws_knows_it_by(redeployed):
    by_urn = {r.urn: r for r in redeployed.resources}
    guards = _guarded_by(redeployed)
    for resource in (r for r in redeployed.resources if r.import_id):
        if resource.type == BUCKET:
            expected = resource.inputs["bucket"]
        elif resource.type in (TABLE, ALIAS):
            expected = resource.inputs["name"]
        elif resource.type == KEY:
            # Key ids are random: the key is found through its alias (the fake cloud answers the lookup).
            alias = next(r for r in _of(redeployed, ALIAS) if r.property_dependencies["targetKeyId"] == [resource.urn])
            expected = FakeCloud().call(_alias_lookup(alias.inputs["name"]))["targetKeyId"]
        else:  # S3 bucket-level configurations import by their bucket's name
            expected = by_urn[guards[resource.urn]].inputs["bucket"]
        assert resource.import_id == expected, resource.name


def test_adopting_plans_the_same_inputs_so_no_import_is_refused(deployed, redeployed):
    assert {r.urn: r.inputs for r in redeployed.resources} == {r.urn: r.inputs for r in deployed.resources}


def _alias_lookup(name: str):
    from pulumi.runtime import MockCallArgs

    return MockCallArgs(token="aws:kms/getAlias:getAlias", args={"name": name}, provider="")


def _of(plan: Plan, type_token: str) -> list:
    return [r for r in plan.resources if r.type == type_token]


def _resource(plan: Plan, urn: str):
    return next(r for r in plan.resources if r.urn == urn)


def test_the_preview_tree_shows_what_a_redeploy_adopts(redeployed):
    from preview.tree import render_tree

    lines = render_tree(redeployed)
    bucket = next(r for r in _of(redeployed, BUCKET) if r.name == "elastio-us-east-1-primary-bucket")
    assert any(
        "elastio-us-east-1-primary-bucket  aws:s3/bucket:Bucket" in line
        and f"adopts existing {bucket.inputs['bucket']}" in line
        for line in lines
    )
    assert sum("adopts existing" in line for line in lines) == len([r for r in redeployed.resources if r.import_id])


def test_an_adopted_key_leaves_what_destroy_made_stale_and_the_next_run_rewrites_it(deployed, redeployed):
    # After destroy KMS shows the deleted task role in the key policy as a unique id, and never reports the
    # deletion window: importing with those inputs compared would be refused. The run after adopting (no flag)
    # compares them again, so the policy naming the new role is written then.
    for key in _of(redeployed, KEY):
        assert {"policy", "deletionWindowInDays"} <= set(key.ignore_changes), key.name
    for key in _of(deployed, KEY):
        assert key.ignore_changes == [], key.name

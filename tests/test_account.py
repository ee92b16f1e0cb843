"""AccountBootstrap under mocks: what the real program registers for the example stack."""

from __future__ import annotations

import json

import pytest

from elastio_pulumi.constants import MANAGED_POLICY_NAMES, RESOURCE_TAG_KEY
from plan import build_plan
from plan.runner import REDACTED_SECRET
from tests.support import example_stack_values, is_taggable


@pytest.fixture(scope="module")
def prefixed_plan():
    values = example_stack_values()
    values["elastio:iam"] = {"namePrefix": "Acme", "nameSuffix": "-Prod"}
    return build_plan("example", stack_values=values)


def account_children(plan):
    component = next(r for r in plan.resources if r.type == "elastio:account:AccountBootstrap")
    return component, [r for r in plan.resources if r.parent == component.urn]


def test_account_bootstrap_is_created_once_in_the_home_region(prefixed_plan):
    components = [r for r in prefixed_plan.resources if r.type == "elastio:account:AccountBootstrap"]
    assert len(components) == 1
    assert components[0].region == "us-east-1"


def test_roles_and_six_managed_policies_carry_prefix_and_suffix(prefixed_plan):
    _, children = account_children(prefixed_plan)
    role_names = sorted(r.inputs["name"] for r in children if r.type == "aws:iam/role:Role")
    assert role_names == ["AcmeElastioInstaller-Prod", "AcmeElastioTenant-Prod"]
    policy_names = {r.inputs["name"] for r in children if r.type == "aws:iam/policy:Policy"}
    assert {f"Acme{base}-Prod" for base in MANAGED_POLICY_NAMES} <= policy_names


def test_trust_policies_require_the_external_id_and_never_show_it(prefixed_plan):
    _, children = account_children(prefixed_plan)
    roles = [r for r in children if r.type == "aws:iam/role:Role"]
    for role in roles:
        trust = json.loads(role.inputs["assumeRolePolicy"])
        tenant_statement = next(s for s in trust["Statement"] if "210987654321" in json.dumps(s["Principal"]))
        assert tenant_statement["Condition"]["StringEquals"]["sts:ExternalId"] == REDACTED_SECRET
    assert any("elastio:externalId" in note for note in prefixed_plan.notes)


def test_a_plaintext_external_id_never_reaches_the_graph():
    values = example_stack_values()
    values["elastio:externalId"] = "do-not-print-me-4711"
    plan = build_plan("example", stack_values=values)
    assert "do-not-print-me-4711" not in json.dumps(plan.records(), default=str)


def test_default_boundary_is_created_when_none_is_configured(prefixed_plan):
    _, children = account_children(prefixed_plan)
    assert any(r.inputs.get("name") == "AcmeElastioPermissionsBoundary-Prod" for r in children)


def test_configured_boundary_is_used_instead_of_creating_one():
    values = example_stack_values()
    boundary = "arn:aws:iam::111122223333:policy/CorpBoundary"
    values["elastio:iam"] = {"permissionsBoundaryArn": boundary}
    plan = build_plan("example", stack_values=values)
    _, children = account_children(plan)
    assert not any("PermissionsBoundary" in str(r.inputs.get("name")) for r in children)
    roles = [r for r in children if r.type == "aws:iam/role:Role"]
    assert roles and all(r.inputs.get("permissionsBoundary") == boundary for r in roles)


def test_managed_policy_documents_are_scoped_to_this_account(prefixed_plan):
    _, children = account_children(prefixed_plan)
    for policy in (r for r in children if r.type == "aws:iam/policy:Policy"):
        document = json.loads(policy.inputs["policy"])
        assert "111122223333" in json.dumps(document) or all(
            s.get("Resource") == "*" for s in document["Statement"]
        ), policy.name


def test_every_taggable_account_resource_is_tagged(prefixed_plan):
    _, children = account_children(prefixed_plan)
    taggable = [r for r in children if is_taggable(r.type)]
    assert taggable
    for resource in taggable:
        assert resource.inputs.get("tags", {}).get(RESOURCE_TAG_KEY) == "true", resource.name
        assert resource.inputs["tags"].get("team") == "platform", resource.name


def test_installer_permissions_come_as_attached_managed_policies_within_the_size_quota(prefixed_plan):
    from elastio_pulumi.iam_documents import MANAGED_POLICY_MAX_CHARS, policy_size

    _, children = account_children(prefixed_plan)
    parts = [r for r in children if r.type == "aws:iam/policy:Policy" and "InstallerAccess" in r.inputs["name"]]
    attachments = [r for r in children if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert len(parts) >= 2 and len(attachments) == len(parts)
    assert sorted(p.inputs["name"] for p in parts) == [f"AcmeElastioInstallerAccess{i}-Prod" for i in
                                                       range(1, len(parts) + 1)]
    assert all(policy_size(json.loads(p.inputs["policy"])) <= MANAGED_POLICY_MAX_CHARS for p in parts)


def test_a_long_configured_boundary_arn_still_plans_the_installer_parts():
    values = example_stack_values()
    values["elastio:iam"] = {"permissionsBoundaryArn": "arn:aws:iam::111122223333:policy/" + "b" * 128}
    plan = build_plan("example", stack_values=values)
    _, children = account_children(plan)
    parts = [r for r in children if r.type == "aws:iam/policy:Policy" and "InstallerAccess" in r.inputs["name"]]
    statements = [s for p in parts for s in json.loads(p.inputs["policy"])["Statement"]]
    assert any("b" * 128 in json.dumps(s) for s in statements)

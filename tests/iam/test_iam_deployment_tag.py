"""The elastio:deployment tag (issue 16): what a deployment's grants on its own tagged resources require.

Every row of the positive table that carries the deployment tag on a resource granted by tag (a key, to the
installer and people, whose account-level documents cannot name key ids; a security group; a Batch job; a
restored snapshot or volume; or a create request for one) is asked again without it, as AWS sees a resource or
a request from before the tag existed: the default deployment (elastio:namePrefix unset, `elastio`) must still
be allowed all of it (jobs queued, volumes restored, keys not yet retagged, an engine image older than its job
definition), and a deployment with any other prefix none of it (otherwise an untagged resource of the default deployment
would be within its reach). Against main this fails: no request carries the tag, so there is nothing to strip.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from elastio_pulumi import naming
from elastio_pulumi.constants import DEPLOYMENT_TAG_KEY, MANAGED_POLICY_NAMES
from tests.iam.allowed_requests import Row, allowed_rows
from tests.iam.stack import StackIam

TAG_KEYS = (f"aws:ResourceTag/{DEPLOYMENT_TAG_KEY}", f"aws:RequestTag/{DEPLOYMENT_TAG_KEY}")


def kind(row: Row) -> str:
    parts = row.request.resource.split(":")
    return parts[5].split("/")[0] if len(parts) > 5 else ""


def granted_by_tag(stack: StackIam, row: Row) -> bool:
    """Keys by tag to the installer and people only: the function and vault roles name their keys' ARNs.
    Submitting a job is granted by its queue's and definition's names (the new job's tags are not checked)."""
    if row.request.action in ("batch:SubmitJob", "batch:TagResource") or "ec2:CreateAction" in row.request.context:
        return False  # tagging on create: the create call itself requires the tag
    if kind(row) == "key":  # the tenant and a break-glass role are named in key policies: not by tag
        people = {stack.person(base).role_arn for base in MANAGED_POLICY_NAMES}
        return row.principal.role_arn in people | {stack.plan.outputs["installerRoleArn"]}
    return kind(row) in ("security-group", "job", "snapshot", "volume")


@cache
def tagged_rows(stack: StackIam) -> list[Row]:
    return [
        row
        for row in allowed_rows(stack)
        if any(key in row.request.context for key in TAG_KEYS) and granted_by_tag(stack, row)
    ]


def without_the_tag(row: Row) -> Row:
    context = {k: v for k, v in row.request.context.items() if k not in TAG_KEYS}
    if "aws:TagKeys" in context:
        context["aws:TagKeys"] = tuple(k for k in context["aws:TagKeys"] if k != DEPLOYMENT_TAG_KEY)
    return replace(row, request=replace(row.request, context=context))


def test_the_tag_is_required_on_every_kind_of_resource_a_deployment_owns_by_tag(stack):
    kinds = {kind(row) for row in tagged_rows(stack)}
    assert {"key", "security-group", "job", "snapshot", "volume"} <= kinds
    assert all(row.request.context.get(k, stack.name_prefix) == stack.name_prefix for row in tagged_rows(stack)
               for k in TAG_KEYS)


def test_without_the_tag_the_default_deployment_keeps_every_grant_and_any_other_has_none(stack):
    decisions = {
        str(row): bool(stack.decide(row.principal, without_the_tag(row).request)) for row in tagged_rows(stack)
    }
    if stack.name_prefix == naming.DEFAULT_NAME_PREFIX:
        assert [row for row, allowed in decisions.items() if not allowed] == []
    else:
        assert [row for row, allowed in decisions.items() if allowed] == []

"""Two deployments in one account and region (issue 16): no role or person of one may do, on the other's resources,
what the other's own code, installer, tenant and people do there.

The requests are the positive table of the second deployment (tests/iam/allowed_requests.py: every call its
functions, engine, installer, tenant and people make, addressed at its planned resources), kept to those on
resources it owns: planned ones, and what its code makes at run time (Batch jobs, restored snapshots and
volumes, which carry the vault's name, the same in both deployments); each is evaluated as every role of the
first deployment and as a person holding each of its six managed policies, with the second deployment's
resource policies and tags, as AWS would.
"""

from __future__ import annotations

from functools import cache

import pytest

from elastio_pulumi.constants import JOB_VAULT_TAG_KEY, MANAGED_POLICY_NAMES
from tests.conftest import SECOND_DEPLOYMENT_GENERATED_IDS
from tests.iam.allowed_requests import Row, allowed_rows
from tests.iam.evaluator import Principal
from tests.iam.stack import StackIam


@pytest.fixture(scope="module")
def first(example_plan) -> StackIam:
    return StackIam(example_plan)


@pytest.fixture(scope="module")
def second(second_deployment_plan) -> StackIam:
    return StackIam(second_deployment_plan, SECOND_DEPLOYMENT_GENERATED_IDS)


def made_at_run_time(row: Row) -> bool:
    """A request on a Batch job the stack's functions submitted or a snapshot or volume its engine restored: each
    carries its vault's name (lambdas/shared/jobs.py job_tags, engine/restore.py restore_tags)."""
    return f"aws:ResourceTag/{JOB_VAULT_TAG_KEY}" in row.request.context


@cache
def owned_requests(stack: StackIam) -> list[Row]:
    """The positive table's rows whose resource is one the stack created (or an object, index, stream or log
    stream under one), or one its code made at run time: not the customer's snapshots and keys, nor actions
    without a resource."""
    own = {stack.arn(r) for r in stack.plan.resources if r.custom}
    return [
        row
        for row in allowed_rows(stack)
        if row.request.resource in own
        or any(row.request.resource.startswith(arn + sep) for arn in own for sep in ("/", ":"))
        or made_at_run_time(row)
    ]


# Not scoped by name, so not by the prefix either: actions AWS authorises on Resource "*" only (Service
# Authorization Reference: ecs:DeregisterTaskDefinition, sns:GetSubscriptionAttributes and sns:Unsubscribe support
# no resource-level permissions). Grants scoped by tags (KMS keys, whose ids are random, and EC2 security groups)
# are in: each deployment tags what it owns with its own elastio:deployment value and requires it.
NO_RESOURCE_LEVEL_PERMISSIONS = {"ecs:DeregisterTaskDefinition", "sns:GetSubscriptionAttributes", "sns:Unsubscribe"}


def scoped_by_name_or_tag(row: Row) -> bool:
    return row.request.action not in NO_RESOURCE_LEVEL_PERMISSIONS


def principals(stack: StackIam) -> dict[str, Principal]:
    people = {f"person with {base}": stack.person(base) for base in MANAGED_POLICY_NAMES}
    return {**{arn: role for arn, role in stack.roles.items()}, **people}


def test_the_table_reaches_the_other_deployments_resources_of_every_kind(second):
    # Queues, tables, functions, buckets and objects, log groups, roles and job queues at least; keys and
    # security groups (tag-scoped); Batch jobs, restored snapshots and volumes (made at run time).
    rows = [row for row in owned_requests(second) if scoped_by_name_or_tag(row)]
    services = {row.request.resource.split(":")[2] for row in rows}
    assert {"sqs", "dynamodb", "lambda", "s3", "logs", "iam", "batch", "ecs", "sns", "kms", "ec2"} <= services
    kinds = {row.request.resource.split(":")[5].split("/")[0] for row in rows if row.request.resource.count(":") >= 5}
    assert {"key", "security-group", "job", "snapshot", "volume"} <= kinds


def reach(acting: StackIam, owner: StackIam) -> list[str]:
    """What `acting`'s roles and people may do on `owner`'s resources, of what `owner`'s own may."""
    return sorted({
        f"{who} -> {row.request.action} on {row.request.resource} ({row.why}): {decision.reason}"
        for row in owned_requests(owner)
        if scoped_by_name_or_tag(row)
        for who, principal in principals(acting).items()
        if (decision := owner.decide(principal, row.request))
    })


def test_no_role_or_person_of_one_deployment_may_act_on_the_others_resources(first, second):
    allowed = reach(first, second)
    assert allowed == [], "\n".join(allowed)


def test_and_the_other_way_round(first, second):
    allowed = reach(second, first)
    assert allowed == [], "\n".join(allowed)

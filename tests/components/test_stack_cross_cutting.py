"""Rules that hold for the whole planned stack: tags everywhere they can go, and a lean resource count for the
largest deployment (11 regions x 4 vaults)."""

from __future__ import annotations

import importlib
import inspect
from collections import Counter
from functools import cache

import pytest

from elastio_pulumi.constants import MAX_VAULTS_PER_REGION, RESOURCE_TAG_KEY, SUPPORTED_REGIONS
from plan import Plan, PlannedResource

CONNECTOR = "elastio:connector:CloudConnector"
VAULT = "elastio:vault:Vault"


@cache
def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi_aws class of `type_token` (e.g. aws:sqs/queue:Queue) takes a `tags` argument."""
    _, module_path, class_name = type_token.split(":")
    module = module_path.split("/")[0]
    package = importlib.import_module(
        f"pulumi_aws.{module}_" if module in ("lambda",) else f"pulumi_aws.{module}"
    )
    resource_class = getattr(package, class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def untagged(plan: Plan, user_tags: dict[str, str]) -> list[str]:
    missing = []
    for resource in plan.resources:
        if not resource.custom or not resource.type.startswith("aws:") or not accepts_tags(resource.type):
            continue
        tags = resource.inputs.get("tags") or {}
        if tags.get(RESOURCE_TAG_KEY) != "true" or any(tags.get(k) != v for k, v in user_tags.items()):
            missing.append(f"{resource.type} {resource.name}")
    return missing


def test_taggability_comes_from_the_pulumi_aws_class():
    assert accepts_tags("aws:sqs/queue:Queue") and accepts_tags("aws:lambda/function:Function")
    assert not accepts_tags("aws:iam/rolePolicy:RolePolicy")
    assert not accepts_tags("aws:lambda/layerVersion:LayerVersion")


def test_every_taggable_resource_of_the_example_stack_carries_the_merged_tags(example_plan):
    assert untagged(example_plan, example_plan.config.tags) == []


def test_the_tag_check_finds_a_resource_without_tags(example_plan):
    queue = next(r for r in example_plan.resources if r.type == "aws:sqs/queue:Queue")
    bare = PlannedResource(
        urn=queue.urn,
        type=queue.type,
        name=queue.name,
        parent=None,
        region=queue.region,
        inputs={k: v for k, v in queue.inputs.items() if k != "tags"},
    )
    stripped = Plan(stack="x", project="x", resources=[bare])
    assert untagged(stripped, {}) == [f"{queue.type} {queue.name}"]


def test_every_taggable_resource_of_the_largest_stack_carries_the_merged_tags(largest_plan):
    assert untagged(largest_plan, largest_plan.config.tags) == []


def test_largest_stack_has_a_connector_per_supported_region_with_four_vaults_each(largest_plan):
    connectors = [r for r in largest_plan.resources if r.type == CONNECTOR]
    assert sorted(c.region for c in connectors) == sorted(SUPPORTED_REGIONS)
    for connector in connectors:
        vaults = [r for r in largest_plan.children(connector.urn) if r.type == VAULT]
        assert len(vaults) == MAX_VAULTS_PER_REGION


def _shape(plan: Plan, component: PlannedResource) -> Counter[str]:
    return Counter(r.type for r in plan.children(component.urn) if r.type not in (VAULT,))


def test_every_region_of_the_largest_stack_plans_the_same_connector(largest_plan):
    shapes = {c.region: _shape(largest_plan, c) for c in largest_plan.resources if c.type == CONNECTOR}
    first = next(iter(shapes.values()))
    assert all(shape == first for shape in shapes.values())


def test_vaults_differ_only_by_object_lock(largest_plan):
    vaults = [r for r in largest_plan.resources if r.type == VAULT]
    lock = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    shapes = {tuple(sorted((_shape(largest_plan, v) - Counter({lock: 1})).items())) for v in vaults}
    assert len(shapes) == 1
    locked = [v for v in vaults if _shape(largest_plan, v)[lock]]
    assert len(locked) == len(SUPPORTED_REGIONS)  # the benchmark stack locks the last vault of each region


# The count the 8-second plan target was sized for; raise it only with a reason (each resource costs ~4 ms
# offline and may cost money online).
# 1926: the vaults share one security group per region; each KMS key has an alias (55 of them), so a key
# retained after `pulumi destroy` can be found again; +3 per PrivateLink region (issue 11: the vault-task
# group's egress rules to the endpoints and the S3/DynamoDB prefix lists).
LARGEST_STACK_BUDGET = 1990


def test_largest_stack_stays_within_its_resource_budget(largest_plan):
    assert len(largest_plan.resources) <= LARGEST_STACK_BUDGET


@pytest.mark.parametrize(
    "type_token",
    [
        "aws:ec2/natGateway:NatGateway",
        "aws:ecs/service:Service",
        "aws:ec2/instance:Instance",
        "aws:ec2/eip:Eip",
    ],
)
def test_nothing_always_on_is_planned(largest_plan, type_token):
    assert not [r for r in largest_plan.resources if r.type == type_token]

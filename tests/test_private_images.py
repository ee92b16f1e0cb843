"""Each region pulls its images from its own registry when the image names `{region}` (issue 12, item 6).

The example stack names `123456789012.dkr.ecr.{region}.amazonaws.com/...`: its PrivateLink region (us-east-1)
can reach only its own region's ECR through its endpoints, so the tasks of each region must name, and their
execution role may pull from, that region's repository and no other.
"""

from __future__ import annotations

import json

JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _registry(image: str) -> str:
    return image.split("/", 1)[0]


def test_every_task_pulls_from_its_own_regions_registry(example_plan):
    seen = set()
    for resource in example_plan.resources:
        if resource.type == JOB_DEFINITION:
            images = [json.loads(resource.inputs["containerProperties"])["image"]]
        elif resource.type == TASK_DEFINITION:
            images = [c["image"] for c in json.loads(resource.inputs["containerDefinitions"])]
        else:
            continue
        for image in images:
            assert "{region}" not in image, resource.name
            assert _registry(image) == f"123456789012.dkr.ecr.{resource.region}.amazonaws.com", resource.name
            seen.add(resource.region)
    assert seen == {"us-east-1", "eu-west-1"}


def test_each_execution_role_may_pull_only_from_its_regions_repositories(example_plan):
    execution = [
        r for r in example_plan.resources if r.type == ROLE_POLICY and r.inputs["name"] == "ElastioVaultExecution"
    ]
    assert len(execution) == 3  # one per vault
    for policy in execution:
        statements = json.loads(policy.inputs["policy"])["Statement"]
        pull = next(s for s in statements if s["Sid"] == "PullImages")
        assert pull["Resource"] == [
            f"arn:aws:ecr:{policy.region}:123456789012:repository/scalez-server",
            f"arn:aws:ecr:{policy.region}:123456789012:repository/scalez-worker",
        ], policy.name

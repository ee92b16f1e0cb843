"""examples/own-program: a program of a customer's own that installs the package and composes a CloudConnector
with its own resources plans under the mocks, and its resources are wired to the connector's outputs."""

from __future__ import annotations

from pathlib import Path

from plan import build_plan

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "own-program"
VALUES = {
    "vpcId": "vpc-0123456789abcdef0",
    "subnetIds": ["subnet-0123456789abcdef0"],
    "tenantAccountId": "210987654321",
    "externalId": "example-external-id",
}


def test_the_own_program_example_plans_its_resources_on_the_connectors_outputs():
    plan = build_plan("dev", project_dir=EXAMPLE, stack_values=VALUES)
    by_type = {}
    for resource in plan.resources:
        by_type.setdefault(resource.type, []).append(resource)
    assert len(by_type["elastio:connector:CloudConnector"]) == 1
    assert len(by_type["elastio:vault:Vault"]) == 1
    (topic,) = by_type["aws:sns/topic:Topic"]
    (subscription,) = by_type["aws:sns/topicSubscription:TopicSubscription"]
    assert subscription.property_dependencies["topic"] == [topic.urn]
    # The program's own IAM prefix reaches every role the components create.
    roles = [r.inputs["name"] for r in by_type["aws:iam/role:Role"]]
    assert roles and all(name.startswith("Platform") for name in roles)
    assert plan.outputs["commandQueueUrl"].endswith("/elastio-commands")

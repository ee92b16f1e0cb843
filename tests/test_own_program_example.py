"""examples/own-program: a program of a customer's own that installs the package and composes a CloudConnector
with its own resources (a VPC, subnets and a route table it creates) plans under the mocks, and the connector's
resources are wired to those resources' Outputs, not to ids typed in as strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plan import build_plan

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "own-program"
IMAGES = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/elastio/scalez-{}:1.0.0"
VALUES = {
    "workerImage": IMAGES.format("worker"),
    "serverImage": IMAGES.format("server"),
    "tenantAccountId": "210987654321",
    "externalId": "example-external-id",
}


@pytest.fixture(scope="module")
def plan():
    return build_plan("dev", project_dir=EXAMPLE, stack_values=VALUES)


def of_type(plan, suffix: str) -> list:
    return [r for r in plan.resources if r.type.endswith(suffix)]


def under(plan, component_type: str) -> list:
    (component,) = of_type(plan, component_type)
    urns, found = {component.urn}, []
    changed = True  # sorted by URN, a child may come before its parent: walk until nothing is added
    while changed:
        changed = False
        for resource in plan.resources:
            if resource.parent in urns and resource.urn not in urns:
                urns.add(resource.urn)
                found.append(resource)
                changed = True
    return found


def test_the_connector_and_its_vault_plan_in_the_customers_program(plan):
    assert len(of_type(plan, "elastio:connector:CloudConnector")) == 1
    assert len(of_type(plan, "elastio:vault:Vault")) == 1
    assert plan.outputs["commandQueueUrl"].endswith("/elastio-commands")
    # The program's own IAM prefix reaches every role the components create.
    roles = [r.inputs["name"] for r in of_type(plan, "aws:iam/role:Role")]
    assert roles and all(name.startswith("Platform") for name in roles)


def test_the_connectors_network_resources_depend_on_the_programs_own_vpc_subnets_and_route_table(plan):
    (vpc,) = of_type(plan, ":ec2/vpc:Vpc")
    subnets = sorted(r.urn for r in of_type(plan, ":ec2/subnet:Subnet"))
    (route_table,) = of_type(plan, ":ec2/routeTable:RouteTable")
    connector = under(plan, "elastio:connector:CloudConnector")
    assert len(subnets) == 2

    security_groups = [r for r in connector if r.type == "aws:ec2/securityGroup:SecurityGroup"]
    assert security_groups and all(g.property_dependencies["vpcId"] == [vpc.urn] for g in security_groups)
    endpoints = [r for r in connector if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    gateways = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    interfaces = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"]
    assert len(gateways) == 2 and interfaces
    assert all(e.property_dependencies["vpcId"] == [vpc.urn] for e in endpoints)
    assert all(e.property_dependencies["routeTableIds"] == [route_table.urn] for e in gateways)
    assert all(sorted(e.property_dependencies["subnetIds"]) == subnets for e in interfaces)
    (compute,) = [r for r in connector if r.type == "aws:batch/computeEnvironment:ComputeEnvironment"]
    assert sorted(compute.property_dependencies["computeResources"]) == sorted(
        subnets + [g.urn for g in security_groups if g.name.endswith("-vault-tasks")]
    )


def test_the_vaults_record_names_the_subnets_the_program_created(plan):
    # The Outputs are resolved into the vaults-table item the functions read (not left unknown, not a repr).
    (record,) = of_type(plan, "aws:dynamodb/tableItem:TableItem")
    item = json.loads(record.inputs["item"])
    assert [s["S"] for s in item["subnetIds"]["L"]] == plan.outputs["backupSubnetIds"]


def test_the_ops_queue_receives_the_connectors_alerts(plan):
    (topic,) = of_type(plan, "aws:sns/topic:Topic")
    (subscription,) = of_type(plan, "aws:sns/topicSubscription:TopicSubscription")
    assert subscription.property_dependencies["topic"] == [topic.urn]

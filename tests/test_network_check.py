"""The offline check warns when an endpoint the design needs is missing from the plan."""

from __future__ import annotations

import pytest

from plan import build_plan
from preview.network_check import VPC_ENDPOINT, network_findings
from tests.support import example_stack_values


def test_example_stack_has_every_endpoint_it_needs(example_plan):
    assert network_findings(example_plan.records(), example_plan.config)["warnings"] == []


def test_a_dropped_kms_endpoint_is_reported_with_region_and_service(example_plan):
    records = [
        r for r in example_plan.records()
        if not (r["type"] == VPC_ENDPOINT and r["inputs"]["serviceName"] == "com.amazonaws.us-east-1.kms")
    ]
    warnings = network_findings(records, example_plan.config)["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("us-east-1: no VPC endpoint for com.amazonaws.us-east-1.kms")
    assert "cannot reach it" in warnings[0]


def test_private_subnets_without_private_link_get_a_nat_note():
    values = example_stack_values()
    values["elastio:regions"][1]["network"]["assignPublicIp"] = False
    plan = build_plan("example", stack_values=values)
    notes = network_findings(plan.records(), plan.config)["notes"]
    assert notes == [
        "eu-west-1: vault tasks run in private subnets without PrivateLink; they need a NAT route to AWS APIs "
        "and ECR (not checked offline)"
    ]


def _with_existing_endpoints(existing: list[str], route_tables: bool = True):
    """The example stack with us-east-1 (PrivateLink) reusing endpoints its VPC already has."""
    values = example_stack_values()
    network = values["elastio:regions"][0]["network"]
    network["existingEndpoints"] = existing
    if not route_tables:
        del network["routeTableIds"]
    return build_plan("example", stack_values=values)


def _endpoint_services(plan, region: str) -> set[str]:
    return {
        r["inputs"]["serviceName"].removeprefix(f"com.amazonaws.{region}.")
        for r in plan.records()
        if r["type"] == VPC_ENDPOINT and r["region"] == region
    }


@pytest.fixture(scope="module")
def reusing_plan():
    # The route tables already carry the S3 and DynamoDB gateways; ECR's interface endpoints exist too.
    return _with_existing_endpoints(["s3", "dynamodb", "ecr.api", "ecr.dkr"], route_tables=False)


def test_existing_endpoints_are_not_created_again(reusing_plan, example_plan):
    # A second gateway on the same route tables fails with RouteAlreadyExists, a second interface endpoint with
    # private DNS for the same service fails too: the program leaves the listed ones alone.
    assert _endpoint_services(example_plan, "us-east-1") - _endpoint_services(reusing_plan, "us-east-1") == {
        "s3", "dynamodb", "ecr.api", "ecr.dkr",
    }
    assert not {"s3", "dynamodb", "ecr.api", "ecr.dkr"} & _endpoint_services(reusing_plan, "us-east-1")


def test_existing_endpoints_count_as_present_in_the_check(reusing_plan):
    assert network_findings(reusing_plan.records(), reusing_plan.config)["warnings"] == []


def test_existing_interface_endpoints_get_a_reminder_to_admit_the_vault_tasks(reusing_plan):
    notes = network_findings(reusing_plan.records(), reusing_plan.config)["notes"]
    assert notes == [
        "us-east-1: existing interface endpoints (ecr.api, ecr.dkr) must admit HTTPS (443) from the vault tasks' "
        "security group 'elastio-vault-tasks' in vpc-0a1b2c3d4e5f60718, and have private DNS on (not checked "
        "offline)"
    ]


def test_a_needed_endpoint_neither_created_nor_existing_is_still_reported(reusing_plan):
    records = [
        r for r in reusing_plan.records()
        if not (r["type"] == VPC_ENDPOINT and r["inputs"]["serviceName"] == "com.amazonaws.us-east-1.ebs")
    ]
    warnings = network_findings(records, reusing_plan.config)["warnings"]
    assert [w.split(";")[0] for w in warnings] == [
        "us-east-1: no VPC endpoint for com.amazonaws.us-east-1.ebs in vpc-0a1b2c3d4e5f60718"
    ]


def test_every_interface_endpoint_existing_creates_no_endpoint_security_group():
    from elastio_pulumi.constants import ENDPOINT_SERVICES

    plan = _with_existing_endpoints(list(ENDPOINT_SERVICES))
    assert _endpoint_services(plan, "us-east-1") == set()
    groups = [r["name"] for r in plan.records() if r["type"].endswith("SecurityGroup") and r["region"] == "us-east-1"]
    assert groups == ["elastio-us-east-1-vault-tasks"]

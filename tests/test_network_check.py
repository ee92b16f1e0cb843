"""The offline check warns when an endpoint the design needs is missing from the plan."""

from __future__ import annotations

import pytest

from plan import build_plan
from preview.network_check import VPC_ENDPOINT, network_findings
from tests.support import example_stack_values


@pytest.fixture(scope="module")
def example_plan():
    return build_plan("example")


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

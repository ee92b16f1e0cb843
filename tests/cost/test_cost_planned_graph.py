"""The idle floor on the graph the real program plans (plan/ under mocks), not on hand-made records."""

import copy

import pytest

from cost import estimate
from tests.support import example_stack_values

NETWORK = {
    "vpcId": "vpc-0a1b2c3d4e5f60718",
    "subnetIds": ["subnet-0a1b2c3d4e5f60001"],
    "assignPublicIp": True,
}


def minimal_values(**network):
    values = example_stack_values()
    values["elastio:regions"] = [
        {
            "region": "us-east-1",
            "network": {**copy.deepcopy(NETWORK), **network},
            "vaults": [{"name": "primary"}],
        }
    ]
    return values


@pytest.fixture(scope="module")
def plans():
    from plan import build_plan

    private = minimal_values(
        assignPublicIp=False,
        privateLink=True,
        subnetIds=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
        routeTableIds=["rtb-0a1b2c3d4e5f60001"],
    )
    return {
        "minimal": build_plan("example", stack_values=minimal_values()).records(),
        "private_link": build_plan("example", stack_values=private).records(),
    }


def test_planned_single_region_single_vault_stack_idles_at_or_under_three_dollars(plans):
    result = estimate(plans["minimal"])
    assert 0 < result.idle_monthly_usd <= 3.0
    assert {line.resource for line in result.elastio if line.part == "fixed"} == {
        "KMS keys",
        "CloudWatch alarms",
        "SQS long polls of an idle queue (Lambda event source)",
    }


def test_planned_private_link_adds_endpoint_hours_per_az(plans):
    minimal, private = estimate(plans["minimal"]), estimate(plans["private_link"])
    endpoints = next(line for line in private.elastio if line.resource == "Interface VPC endpoints (per AZ)")
    assert endpoints.quantity % (2 * 730) == 0  # every interface endpoint in both subnets' AZs
    assert private.idle_monthly_usd == pytest.approx(minimal.idle_monthly_usd + endpoints.monthly_usd)

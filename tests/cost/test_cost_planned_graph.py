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
    fixed = sorted((line.component, line.price_key) for line in result.idle)
    assert fixed == [
        ("us-east-1/connector", "cloudwatch.alarm"),
        ("us-east-1/connector", "cloudwatch.alarm"),
        ("us-east-1/connector", "kms.key"),
        ("us-east-1/connector", "sqs.requests"),  # the router's event source
        ("us-east-1/connector", "sqs.requests"),  # the tenant polling its events queue
        ("us-east-1/vault:primary", "kms.key"),
    ]
    document = result.as_dict()
    assert document["within_three_dollar_floor"] is True and document["floor_breakers"][0]["from_year"] == 2


def test_rotation_adds_a_dollar_per_key_at_the_first_and_second_yearly_rotation(plans):
    by_year = estimate(plans["minimal"]).as_dict()["idle_monthly_usd_by_year"]
    assert by_year["2"] == pytest.approx(by_year["1"] + 2)  # two keys, one rotation each
    assert by_year["3"] == pytest.approx(by_year["1"] + 4)  # the second rotation; later ones are free


def test_planned_private_link_adds_endpoint_hours_per_az_and_breaks_the_floor(plans):
    minimal, private = estimate(plans["minimal"]), estimate(plans["private_link"])
    endpoints = [line for line in private.idle if line.price_key == "vpce.interface.hours"]
    assert len(endpoints) == 9 * 2  # every interface endpoint in both subnets' AZs, a line each
    assert {line.component for line in endpoints} == {"us-east-1/connector"}
    assert private.idle_monthly_usd == pytest.approx(
        minimal.idle_monthly_usd + sum(line.monthly_usd for line in endpoints)
    )
    document = private.as_dict()
    assert document["within_three_dollar_floor"] is False
    year_one = [b for b in document["floor_breakers"] if b["from_year"] == 1]
    assert {b["price_key"] for b in year_one} == {"vpce.interface.hours"}


def test_the_planned_job_definitions_ephemeral_storage_is_priced_with_the_jobs(plans):
    # The backup job definition asks for more than Fargate's free 20 GiB (src/elastio_pulumi/job_definitions.py):
    # the usage prices the rest per job-hour, in the vault that runs the jobs.
    from cost import Workload

    lines = [line for line in estimate(plans["minimal"], Workload()).elastio if line.part == "usage"]
    storage = [line for line in lines if line.price_key == "fargate.ephemeral_storage"]
    assert len(storage) == 1 and storage[0].quantity > 0
    assert storage[0].component == "us-east-1/vault:primary"

"""The idle (fixed) cost of the planned graph: what bills with zero activity."""

import pytest

from cost import Assumptions, default_table, estimate
from cost.errors import CostInputError
from cost.graph import idle_lines
from cost.lines import total
from tests.cost.graphs import PRIVATE_LINK_SERVICES, stack_records

PRICES = default_table()


def idle(**kwargs) -> float:
    return total(idle_lines(stack_records(**kwargs), PRICES, Assumptions()))


def by_key(records) -> dict[str, list]:
    """Idle lines by price key (each resource is its own line)."""
    found: dict[str, list] = {}
    for line in idle_lines(records, PRICES, Assumptions()):
        found.setdefault(line.price_key, []).append(line)
    return found


def polls(records, by: str = "Lambda event source"):
    return [line for line in by_key(records).get("sqs.requests", []) if by in line.resource]


def test_minimal_stack_idles_at_or_under_three_dollars():
    assert 0 < idle() <= 3.0


@pytest.mark.parametrize("region", PRICES.regions)
def test_minimal_stack_is_under_three_dollars_in_every_region(region):
    assert idle(regions=(region,)) <= 3.0


def test_each_kms_key_bills_a_month_on_its_own_line_in_its_component():
    keys = by_key(stack_records(vaults=1))["kms.key"]
    assert [(line.component, line.quantity) for line in keys] == [
        ("us-east-1/connector", 1),
        ("us-east-1/vault:vault0", 1),
    ]


def test_dlq_alarms_bill_per_alarm():
    alarms = by_key(stack_records())["cloudwatch.alarm"]
    assert len(alarms) == 2 and {line.component for line in alarms} == {"us-east-1/connector"}


def test_polled_queue_bills_five_long_polls_every_twenty_seconds():
    (line,) = polls(stack_records())
    assert line.quantity == pytest.approx(5 * 3 * 60 * 24 * 730 / 24 / 1e6)


def test_the_tenant_polling_its_events_queue_bills_this_account():
    (line,) = polls(stack_records(), by="by the tenant")
    assert "tenant-events" in line.resource
    assert line.quantity == pytest.approx(3 * 60 * 24 * 730 / 24 / 1e6)  # one 20 s long poll at a time


def test_a_queue_only_the_stacks_own_functions_read_has_no_tenant_polls():
    records = stack_records()
    for record in records:
        record["inputs"].pop("policy", None)
    assert polls(records, by="by the tenant") == []


def test_queues_nobody_polls_cost_nothing_at_rest():
    records = [r for r in stack_records() if r["type"] != "aws:lambda/eventSourceMapping:EventSourceMapping"]
    assert polls(records) == []


def test_disabled_event_source_does_not_poll():
    records = stack_records()
    for record in records:
        if record["type"] == "aws:lambda/eventSourceMapping:EventSourceMapping":
            record["inputs"]["enabled"] = False
    assert polls(records) == []


def endpoints(records) -> list[tuple[str, str, int]]:
    """(type, service, AZs) of each VPC endpoint: what the cost model prices."""
    return sorted(
        (r["inputs"]["vpcEndpointType"], r["inputs"]["serviceName"], len(set(r["inputs"].get("subnetIds") or [])))
        for r in records
        if r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint"
    )


def test_the_hand_made_graph_has_the_endpoints_the_program_plans(example_plan):
    # The example stack's us-east-1: PrivateLink, route tables, two subnets.
    planned = [r for r in example_plan.records() if r["region"] == "us-east-1"]
    made = stack_records(regions=("us-east-1",), private_link=True, route_tables=True)
    assert endpoints(made) == endpoints(planned)
    planned_lines = by_key(planned)["vpce.interface.hours"]
    assert sum(line.monthly_usd for line in by_key(made)["vpce.interface.hours"]) == pytest.approx(
        sum(line.monthly_usd for line in planned_lines)
    )


def test_private_link_adds_a_line_per_endpoint_and_az():
    lines = by_key(stack_records(private_link=True))["vpce.interface.hours"]
    assert len(lines) == len(PRIVATE_LINK_SERVICES) * 2
    assert all(line.quantity == 730 for line in lines)
    assert idle(private_link=True) - idle() == pytest.approx(sum(line.monthly_usd for line in lines))


def test_endpoint_azs_are_the_distinct_subnets_given():
    records = stack_records(private_link=True)
    for record in records:
        if record["inputs"].get("vpcEndpointType") == "Interface":
            record["inputs"]["subnetIds"] = ["subnet-a", "subnet-a", "subnet-b", "subnet-c"]
    lines = by_key(records)["vpce.interface.hours"]
    assert len(lines) == len(PRIVATE_LINK_SERVICES) * 3


def test_gateway_endpoint_is_free():
    records = [
        r
        for r in stack_records(private_link=True)
        if r["type"] != "aws:ec2/vpcEndpoint:VpcEndpoint" or r["inputs"]["vpcEndpointType"] == "Gateway"
    ]
    assert "vpce.interface.hours" not in by_key(records)


def test_each_extra_vault_adds_its_key():
    assert idle(vaults=2) - idle(vaults=1) == pytest.approx(PRICES.usd("kms.key", "us-east-1"))
    assert idle(vaults=4) > idle(vaults=3)


def test_each_extra_region_adds_a_connector():
    one, two = idle(regions=("us-east-1",)), idle(regions=("us-east-1", "eu-west-1"))
    assert two == pytest.approx(2 * one)
    assert idle(regions=("us-east-1", "eu-west-1", "ap-south-1")) > two


def test_metric_math_alarm_bills_per_metric_read():
    records = stack_records()
    alarm = next(r for r in records if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm")
    alarm["inputs"]["metricQueries"] = [
        {"id": "a", "metric": {}},
        {"id": "b", "metric": {}},
        {"id": "e", "expression": "a+b"},
    ]
    assert sorted(line.quantity for line in by_key(records)["cloudwatch.alarm"]) == [1, 2]  # 2 metrics read


def test_resource_in_an_unpriced_region_is_a_named_error():
    records = stack_records()
    records[-1]["region"] = "sa-east-1"
    with pytest.raises(CostInputError, match="sa-east-1.*is not a priced region"):
        idle_lines(records, PRICES, Assumptions())


def test_idle_is_the_fixed_part_of_the_estimate():
    result = estimate(stack_records()).as_dict()
    assert result["idle_monthly_usd"] == pytest.approx(idle())
    fixed = [line for line in result["elastio"]["lines"] if line["part"] == "fixed"]
    assert sum(line["monthly_usd"] for line in fixed) == pytest.approx(idle())


def test_free_tier_takes_the_always_free_alarms_and_polls():
    excluded = estimate(stack_records()).as_dict()["idle_monthly_usd"]
    included = estimate(stack_records(), free_tier=True).as_dict()["idle_monthly_usd"]
    # Ten alarms and a million SQS requests are free: only the keys remain.
    assert included == pytest.approx(2.0)
    assert excluded > included


@pytest.mark.parametrize(
    ("inputs", "by_year"),
    [
        ({"enableKeyRotation": True}, [0, 1, 2, 2]),  # yearly: one more key material in year 2, two from year 3
        ({"enableKeyRotation": True, "rotationPeriodInDays": 90}, [0, 2, 2, 2]),  # only two rotations ever bill
        ({"enableKeyRotation": False}, [0, 0, 0, 0]),
        ({}, [0, 0, 0, 0]),
    ],
)
def test_kms_bills_the_first_two_rotations_only(inputs, by_year):
    from cost.graph import kms_rotations_by_year

    assert [kms_rotations_by_year(inputs, year) for year in (1, 2, 3, 4)] == by_year


def test_rotation_lines_name_each_rotating_key_in_its_component():
    from cost.graph import rotation_lines

    lines = rotation_lines(stack_records(vaults=2), PRICES, 3)
    assert sorted((line.component, line.quantity) for line in lines) == [
        ("us-east-1/connector", 2),
        ("us-east-1/vault:vault0", 2),
        ("us-east-1/vault:vault1", 2),
    ]
    assert rotation_lines(stack_records(), PRICES, 1) == []

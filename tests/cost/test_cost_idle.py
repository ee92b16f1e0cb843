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


def by_resource(records):
    return {line.resource: line for line in idle_lines(records, PRICES, Assumptions())}


def test_minimal_stack_idles_at_or_under_three_dollars():
    assert 0 < idle() <= 3.0


@pytest.mark.parametrize("region", PRICES.regions)
def test_minimal_stack_is_under_three_dollars_in_every_region(region):
    assert idle(regions=(region,)) <= 3.0


def test_each_kms_key_bills_a_month():
    lines = by_resource(stack_records(vaults=1))
    assert lines["KMS keys"].quantity == 2  # the connector's and the vault's


def test_dlq_alarms_bill_per_alarm():
    assert by_resource(stack_records())["CloudWatch alarms"].quantity == 2


def test_polled_queue_bills_five_long_polls_every_twenty_seconds():
    line = by_resource(stack_records())["SQS long polls of an idle queue (Lambda event source)"]
    assert line.quantity == pytest.approx(5 * 3 * 60 * 24 * 730 / 24 / 1e6)


def test_queues_nobody_polls_cost_nothing_at_rest():
    records = [r for r in stack_records() if r["type"] != "aws:lambda/eventSourceMapping:EventSourceMapping"]
    assert "SQS long polls of an idle queue (Lambda event source)" not in by_resource(records)


def test_disabled_event_source_does_not_poll():
    records = stack_records()
    for record in records:
        if record["type"] == "aws:lambda/eventSourceMapping:EventSourceMapping":
            record["inputs"]["enabled"] = False
    assert "SQS long polls of an idle queue (Lambda event source)" not in by_resource(records)


def test_private_link_adds_an_hourly_endpoint_per_service_and_az():
    line = by_resource(stack_records(private_link=True))["Interface VPC endpoints (per AZ)"]
    assert line.quantity == len(PRIVATE_LINK_SERVICES) * 2 * 730
    assert idle(private_link=True) - idle() == pytest.approx(line.monthly_usd)


def test_gateway_endpoint_is_free():
    records = [
        r
        for r in stack_records(private_link=True)
        if r["type"] != "aws:ec2/vpcEndpoint:VpcEndpoint" or r["inputs"]["vpcEndpointType"] == "Gateway"
    ]
    assert "Interface VPC endpoints (per AZ)" not in by_resource(records)


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
    assert by_resource(records)["CloudWatch alarms"].quantity == 3


def test_resource_in_an_unpriced_region_is_a_named_error():
    records = stack_records()
    records[-1]["region"] = "sa-east-1"
    with pytest.raises(CostInputError, match="sa-east-1.*is not a priced region"):
        idle_lines(records, PRICES, Assumptions())


def test_idle_is_the_fixed_part_of_the_estimate():
    result = estimate(stack_records()).as_dict()
    assert result["idle_monthly_usd"] == pytest.approx(idle())
    assert all(line["part"] == "usage" for line in result["elastio"]["lines"][3:])


def test_free_tier_takes_the_always_free_alarms_and_polls():
    excluded = estimate(stack_records()).as_dict()["idle_monthly_usd"]
    included = estimate(stack_records(), free_tier=True).as_dict()["idle_monthly_usd"]
    # Ten alarms and a million SQS requests are free: only the keys remain.
    assert included == pytest.approx(2.0)
    assert excluded > included

"""The stack config (`elastio:usage`, checked at `pulumi preview`) and the cost model (`python -m cost`) take the
same usage values: a value one accepts and the other refuses means a stack that previews but cannot be priced,
or a cost flag the stack file cannot hold."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cost.errors import CostInputError
from cost.workload import Workload
from elastio_pulumi.config import UsageConfig

near = st.sampled_from
usage_values = st.fixed_dictionaries(
    {},
    optional={
        "protectedGb": near([-1, -0.001, 0, 0.5, 1000, 1e9]),
        "dailyChangeRate": near([-0.01, 0, 0.02, 1, 1.0001, 2]),
        "retentionDays": near([-1, 0, 1, 30, 3650, 3651, 36500]),
        "changeRateBasis": near(["data", "blocks", "bytes", "DATA", ""]),
    },
)


def accepted_by_the_stack_config(values: dict) -> bool:
    try:
        UsageConfig.model_validate(values)
    except ValidationError:
        return False
    return True


def accepted_by_the_cost_model(values: dict) -> bool:
    try:
        Workload.from_usage(values)
    except CostInputError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(usage_values)
def test_the_stack_config_and_the_cost_model_accept_the_same_usage(values):
    assert accepted_by_the_stack_config(values) == accepted_by_the_cost_model(values), values


@pytest.mark.parametrize("values", [{"retentionDays": 3651}, {"dailyChangeRate": 1.5}, {"changeRateBasis": "bytes"}])
def test_both_refuse_a_value_out_of_bounds(values):
    assert not accepted_by_the_stack_config(values)
    assert not accepted_by_the_cost_model(values)

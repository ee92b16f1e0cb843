"""The stacks the IAM tables run on: the example stack and the largest one (11 regions x 4 vaults, the
longest IAM name affixes), each with the default boundary and with a customer-supplied boundary ARN.

Each stack is planned once per session (the default-boundary plans are the ones tests/conftest.py shares with
the component tests). Budget on 2 cores: the tables under 3 s on all four stacks (1.7 s measured), the two
customer-boundary plans about 9 s; alone, with imports and all four plans, the layer takes about 25 s.
"""

from __future__ import annotations

import pytest

from plan import build_plan
from tests.conftest import largest_values
from tests.iam.stack import StackIam
from tests.support import example_stack_values

# A customer's own boundary, by ARN (with a path, as organisations often keep them), and a break-glass role:
# the customer-boundary stacks configure both, the default ones neither.
CUSTOMER_BOUNDARY_ARN = "arn:aws:iam::111122223333:policy/security/AcmeElastioBoundary"
BREAK_GLASS_ROLE_ARN = "arn:aws:iam::111122223333:role/security/BackupBreakGlass"

STACKS = ("example", "example-customer-boundary", "largest", "largest-customer-boundary")


def _with_customer_boundary(values: dict) -> dict:
    values["elastio:iam"] = {
        **values.get("elastio:iam", {}),
        "permissionsBoundaryArn": CUSTOMER_BOUNDARY_ARN,
        "breakGlassRoleArn": BREAK_GLASS_ROLE_ARN,
    }
    return values


@pytest.fixture(scope="session")
def stacks() -> dict[str, StackIam]:
    return {}


@pytest.fixture(scope="session", params=STACKS)
def stack(request, stacks) -> StackIam:
    name = request.param
    if name not in stacks:
        if name == "example":
            plan = request.getfixturevalue("example_plan")
        elif name == "largest":
            plan = request.getfixturevalue("largest_plan")
        elif name == "example-customer-boundary":
            plan = build_plan("example", stack_values=_with_customer_boundary(example_stack_values()))
        else:
            plan = build_plan("largest", stack_values=_with_customer_boundary(largest_values()))
        stacks[name] = StackIam(plan)
    return stacks[name]

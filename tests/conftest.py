"""Shared offline plans for the tests: planning is the slow part, so each stack is planned once per session.

Tests must not change these plans in place (copy.deepcopy one first)."""

from __future__ import annotations

import pytest

from benchmarks.plan_benchmark import largest_stack_values
from plan import Plan, build_plan


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    """The example stack (Pulumi.example.yaml): PrivateLink in us-east-1, public subnets in eu-west-1."""
    return build_plan("example")


@pytest.fixture(scope="session")
def largest_plan() -> Plan:
    """Every supported region with the maximum number of vaults and PrivateLink (the benchmark's stack)."""
    return build_plan("largest", stack_values=largest_stack_values())

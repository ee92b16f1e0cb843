"""Shared offline plans for the tests: planning is the slow part, so each stack is planned once per session and
every test layer that reads a planned graph (components, IAM tables) shares it.

Tests must not change these plans in place (copy.deepcopy one first)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from benchmarks.plan_benchmark import largest_stack_values
from plan import Plan, build_plan

# Built zips go to a cache of this run's own (elastio_pulumi.packaging.cache_dir): the user's cache is shared
# with other checkouts and runs, and a layer built there mid-run would change the graph between two plans.
os.environ["ELASTIO_PULUMI_CACHE_DIR"] = tempfile.mkdtemp(prefix="elastio-test-cache-")
atexit.register(shutil.rmtree, os.environ["ELASTIO_PULUMI_CACHE_DIR"], True)

# The longest IAM name affixes the role names leave room for (10 characters each): role and policy names,
# and so the IAM documents, are at their largest.
LONGEST_IAM_AFFIXES = {"namePrefix": "acmecorp1-", "nameSuffix": "-euprod-01"}


def largest_values() -> dict:
    values = largest_stack_values()
    values["elastio:iam"] = dict(LONGEST_IAM_AFFIXES)
    return values


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    """The example stack (Pulumi.example.yaml): PrivateLink in us-east-1, public subnets in eu-west-1."""
    return build_plan("example")


@pytest.fixture(scope="session")
def largest_plan() -> Plan:
    """Every supported region with the maximum number of vaults and PrivateLink (the benchmark's stack), with
    the longest IAM name prefix and suffix."""
    return build_plan("largest", stack_values=largest_values())

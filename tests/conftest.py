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
from elastio_pulumi import naming
from elastio_pulumi.packaging import CACHE_ENV
from plan import Plan, build_plan
from tests.support import example_stack_values

# Built zips go to a cache of this run's own (elastio_pulumi.packaging.cache_dir): the user's cache is shared
# with other checkouts and runs, and a layer built there mid-run would change the graph between two plans.
os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="elastio-test-cache-")
atexit.register(shutil.rmtree, os.environ[CACHE_ENV], True)

# The longest IAM name affixes the role names leave room for (10 characters each): role and policy names,
# and so the IAM documents, are at their largest.
LONGEST_IAM_AFFIXES = {"namePrefix": "acmecorp1-", "nameSuffix": "-euprod-01"}
# The longest deployment name prefix (elastio:namePrefix): regional names and the IAM names' root at their longest,
# and the IAM tables run on a deployment whose names are not the default ones.
LONGEST_NAME_PREFIX = ("acmebackupprod" + "x" * 64)[: naming.NAME_PREFIX_MAX]


def largest_values() -> dict:
    values = largest_stack_values()
    values["elastio:iam"] = dict(LONGEST_IAM_AFFIXES)
    values["elastio:namePrefix"] = LONGEST_NAME_PREFIX
    return values


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    """The example stack (Pulumi.example.yaml): PrivateLink in us-east-1, public subnets in eu-west-1."""
    return build_plan("example")


@pytest.fixture(scope="session")
def largest_plan() -> Plan:
    """Every supported region with the maximum number of vaults and PrivateLink (the benchmark's stack), with
    the longest IAM name prefix and suffix and the longest deployment name prefix."""
    return build_plan("largest", stack_values=largest_values())


# A second deployment beside the example in the same account and regions (issue 16: two Cloud Connectors in one
# account and region). Its prefix begins with the default one, so a pattern like `elastio*` would reach it.
SECOND_DEPLOYMENT_PREFIX = "elastiostaging"
# What AWS generates at random (key ids, unnamed resources' ids) differs between the deployments too.
SECOND_DEPLOYMENT_GENERATED_IDS = "staging-"


def second_deployment_values() -> dict:
    values = example_stack_values()
    values["elastio:namePrefix"] = SECOND_DEPLOYMENT_PREFIX
    return values


@pytest.fixture(scope="session")
def second_deployment_plan() -> Plan:
    """The example stack again, as a second deployment (elastio:namePrefix) into the same account."""
    return build_plan(
        "example", stack_values=second_deployment_values(), generated_id_prefix=SECOND_DEPLOYMENT_GENERATED_IDS
    )

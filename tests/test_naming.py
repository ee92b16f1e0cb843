"""Names: prefix/suffix flow into every IAM name, and names stay within AWS limits for 11 regions x 4 vaults."""

from __future__ import annotations

import re

import pytest

from elastio_pulumi import naming
from elastio_pulumi.config import derived_iam_names
from elastio_pulumi.constants import (
    IAM_POLICY_NAME_MAX,
    IAM_ROLE_NAME_MAX,
    S3_BUCKET_NAME_MAX,
    SUPPORTED_REGIONS,
    VAULT_NAME_MAX,
)
from elastio_pulumi.stack_config import ConfigError, parse_config
from tests.conftest import LONGEST_IAM_AFFIXES


def full_config(prefix: str, suffix: str, vault_name_length: int = VAULT_NAME_MAX) -> dict:
    vault_names = [("v" * (vault_name_length - 1)) + str(i) for i in range(4)]
    return {
        "tenant": {"accountId": "210987654321"},
        "externalId": "x",
        "iam": {"namePrefix": prefix, "nameSuffix": suffix},
        "regions": [
            {
                "region": region,
                "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"]},
                "vaults": [{"name": name} for name in vault_names],
            }
            for region in SUPPORTED_REGIONS
        ],
    }


def test_every_iam_name_the_program_creates_is_wrapped_checked_and_within_limits(largest_plan):
    # From the planned graph (11 regions x 4 vaults, 10-character affixes), not from the list the config check
    # loops over: a name the program creates but the check does not know would pass the check and fail in IAM.
    limits = {"aws:iam/role:Role": IAM_ROLE_NAME_MAX, "aws:iam/policy:Policy": IAM_POLICY_NAME_MAX}
    planned = {(r.inputs["name"], limits[r.type]) for r in largest_plan.resources if r.type in limits}
    prefix, suffix = LONGEST_IAM_AFFIXES["namePrefix"], LONGEST_IAM_AFFIXES["nameSuffix"]
    assert planned
    assert [n for n, _ in planned if not (n.startswith(prefix) and n.endswith(suffix))] == []
    assert [(n, limit) for n, limit in planned if len(n) > limit] == []
    # The check knows the installer's policy parts by a two-digit stand-in (their number depends on the
    # documents' size), which is at least as long as any real part.
    checked = set(derived_iam_names(largest_plan.config))
    unchecked = {
        (n, limit) for n, limit in planned
        if (re.sub(r"InstallerAccess\d+", "InstallerAccess99", n), limit) not in checked
    }
    assert sorted(unchecked) == []


def test_affixes_too_long_for_a_role_name_are_rejected_naming_the_keys():
    with pytest.raises(ConfigError) as err:
        parse_config(full_config("P" * 20, "S" * 20))
    assert "iam.namePrefix / iam.nameSuffix" in str(err.value)
    assert "IAM allows 64" in str(err.value)


def test_bucket_names_fit_s3_for_the_longest_vault_name_in_every_region():
    for region in SUPPORTED_REGIONS:
        name = naming.vault_bucket_name(naming.DEFAULT_NAME_PREFIX, "v" * VAULT_NAME_MAX, "123456789012", region)
        assert len(name) <= S3_BUCKET_NAME_MAX, name


def test_bucket_names_are_unique_per_account_and_region():
    names = {
        naming.vault_bucket_name(naming.DEFAULT_NAME_PREFIX, "primary", account, region)
        for account in ("111111111111", "222222222222")
        for region in SUPPORTED_REGIONS
    }
    assert len(names) == 2 * len(SUPPORTED_REGIONS)


def test_global_role_names_differ_per_region():
    iam = naming.IamNaming()
    names = {naming.function_role_name(iam, "catalog", region) for region in SUPPORTED_REGIONS}
    assert len(names) == len(SUPPORTED_REGIONS)

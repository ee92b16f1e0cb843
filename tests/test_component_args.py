"""A program that composes the components itself (not through the stack file) gets the stack config's IAM
name checks when it makes the Args, and cannot change Args after they were checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from elastio_pulumi import AccountBootstrapArgs, CloudConnectorArgs, VaultArgs
from elastio_pulumi.config import IamConfig, NetworkConfig, OptionsConfig, RegionConfig, TenantConfig, VaultConfig
from elastio_pulumi.errors import ArgsError
from elastio_pulumi.packaging import LambdaZip

ACCOUNT = "111122223333"
REGION = "ap-southeast-2"  # the longest region code (apse2)
TOO_LONG = IamConfig(name_prefix="P" * 20, name_suffix="S" * 20)
NETWORK = NetworkConfig(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0123456789abcdef0"])
VAULT = VaultConfig(name="v" * 20)


def vault_args(iam: IamConfig) -> VaultArgs:
    return VaultArgs(
        vault=VAULT, region=REGION, network=NETWORK, options=OptionsConfig(), iam=iam, account_id=ACCOUNT,
        permissions_boundary_arn="arn:b", jobs_table_name="j", jobs_table_arn="arn:j",
        recovery_points_table_name="r", recovery_points_table_arn="arn:r", connector_key_arn="arn:k",
        catalog_function_name="c", catalog_function_arn="arn:c", security_group_id="sg-1", tags={},
    )


def connector_args(iam: IamConfig) -> CloudConnectorArgs:
    return CloudConnectorArgs(
        region=RegionConfig(region=REGION, network=NETWORK, vaults=[VAULT]), options=OptionsConfig(), iam=iam,
        account_id=ACCOUNT, tenant_role_arn="arn:t", permissions_boundary_arn="arn:b",
        code=LambdaZip(Path("code.zip"), None), layer_code=LambdaZip(Path("layer.zip"), None), tags={},
    )


def account_args(iam: IamConfig) -> AccountBootstrapArgs:
    return AccountBootstrapArgs(
        account_id=ACCOUNT, tenant=TenantConfig(account_id="210987654321"), external_id="x", regions=[REGION], iam=iam
    )


@pytest.mark.parametrize(
    ("make", "component", "example"),
    [
        (vault_args, "VaultArgs", f"ElastioVault-{'v' * 20}-apse2-task"),
        (connector_args, "CloudConnectorArgs", "ElastioBackgroundJobs-apse2"),
    ],
)
def test_iam_names_over_the_limit_are_refused_when_the_args_are_made(make, component, example):
    # (The account's names fit with any affixes IamConfig admits: 20 + 16 + 20 characters for a role.)
    with pytest.raises(ArgsError) as refused:
        make(TOO_LONG)
    message = str(refused.value)
    too_long = f"{'P' * 20}{example}{'S' * 20}"
    assert f"{component}: IAM name {too_long!r} would be {len(too_long)} characters, IAM allows 64" in message
    assert "shorten iam.name_prefix / iam.name_suffix" in message


@pytest.mark.parametrize("make", [vault_args, connector_args, account_args])
def test_args_within_the_limits_are_accepted_and_frozen(make):
    args = make(IamConfig(name_prefix="Acme-"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.iam = TOO_LONG  # would skip the check

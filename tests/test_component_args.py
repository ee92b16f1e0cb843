"""A program that composes the components itself (not through the stack file) gets the stack file's checks when
it makes the components' own small Args (elastio_pulumi.args): each problem names the argument, its value and
what is allowed; Args cannot change after they were checked. (Outputs of the program's own resources as Args:
tests/test_own_program_example.py.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from elastio_pulumi import AccountBootstrapArgs, CloudConnectorArgs, VaultArgs
from elastio_pulumi.args import ConnectorOptions, IamArgs, NetworkArgs, ObjectLock, TenantArgs, VaultSpec
from elastio_pulumi.errors import ArgsError
from elastio_pulumi.packaging import LambdaZip
from elastio_pulumi.stack_config import ConfigError, parse_config

ACCOUNT = "111122223333"
REGION = "ap-southeast-2"  # the longest region code (apse2)
SUBNET = "subnet-0123456789abcdef0"
TOO_LONG = IamArgs(name_prefix="P" * 20, name_suffix="S" * 20)
NETWORK = NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=[SUBNET])
VAULT = VaultSpec(name="v" * 20)
NO_AFFIXES = IamArgs()
PRIVATE_IMAGE = "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker:1.0.0"


def vault_args(iam: IamArgs = NO_AFFIXES, network: NetworkArgs = NETWORK, **changes) -> VaultArgs:
    return VaultArgs(
        vault=VAULT, region=REGION, network=network, iam=iam, account_id=ACCOUNT,
        permissions_boundary_arn="arn:b", jobs_table_name="j", jobs_table_arn="arn:j",
        recovery_points_table_name="r", recovery_points_table_arn="arn:r", connector_key_arn="arn:k",
        catalog_function_name="c", catalog_function_arn="arn:c", security_group_id="sg-1", **changes,
    )


def connector_args(iam: IamArgs = NO_AFFIXES, network: NetworkArgs = NETWORK, **changes) -> CloudConnectorArgs:
    values = dict(
        region=REGION, network=network, vaults=[VAULT], iam=iam, account_id=ACCOUNT, tenant_role_arn="arn:t",
        permissions_boundary_arn="arn:b", code=LambdaZip(Path("code.zip"), None),
        layer_code=LambdaZip(Path("layer.zip"), None),
    )
    return CloudConnectorArgs(**{**values, **changes})


def account_args(iam: IamArgs = NO_AFFIXES) -> AccountBootstrapArgs:
    return AccountBootstrapArgs(
        account_id=ACCOUNT, tenant=TenantArgs(account_id="210987654321"), external_id="x", regions=[REGION], iam=iam
    )


def refusal(make) -> str:
    with pytest.raises(ArgsError) as refused:
        make()
    return str(refused.value)


@pytest.mark.parametrize(
    ("make", "component", "example"),
    [
        (vault_args, "VaultArgs", f"ElastioVault-{'v' * 20}-apse2-task"),
        (connector_args, "CloudConnectorArgs", "ElastioBackgroundJobs-apse2"),
    ],
)
def test_iam_names_over_the_limit_are_refused_when_the_args_are_made(make, component, example):
    # (The account's names fit with any affixes IamArgs admits: 20 + 16 + 20 characters for a role.)
    message = refusal(lambda: make(TOO_LONG))
    too_long = f"{'P' * 20}{example}{'S' * 20}"
    assert f"{component}: IAM name {too_long!r} would be {len(too_long)} characters, IAM allows 64" in message
    assert "shorten iam.name_prefix / iam.name_suffix" in message


@pytest.mark.parametrize("make", [vault_args, connector_args, account_args])
def test_args_within_the_limits_are_accepted_and_frozen(make):
    args = make(IamArgs(name_prefix="Acme-"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.iam = TOO_LONG  # would skip the check


def test_a_list_the_caller_changes_afterwards_does_not_change_checked_args():
    subnets = [SUBNET]
    network = NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=subnets)
    subnets.append("not-a-subnet")
    assert network.subnet_ids == (SUBNET,)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: NetworkArgs(vpc_id="vpc-xyz", subnet_ids=[SUBNET]),
            "NetworkArgs: vpc_id 'vpc-xyz' is not a VPC id like vpc-0123456789abcdef0",
        ),
        (
            lambda: NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=[SUBNET, "sn-1"]),
            "NetworkArgs: subnet_ids[1] 'sn-1' is not a subnet id like subnet-0123456789abcdef0",
        ),
        (
            lambda: NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=[]),
            "NetworkArgs: subnet_ids is empty: give at least one subnet",
        ),
        (
            lambda: NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=[SUBNET], private_link=True),
            "NetworkArgs: private_link is true but route_table_ids is empty",
        ),
        (
            lambda: NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=SUBNET),
            f"NetworkArgs: subnet_ids {SUBNET!r} is not a list: pass a list, whose items may be Outputs",
        ),
        (lambda: VaultSpec(name="Primary"), "VaultSpec: name 'Primary' is not a valid vault name"),
        (lambda: ObjectLock(mode="FOREVER", days=0), "ObjectLock: mode 'FOREVER' is not allowed; use one of"),
        (lambda: ConnectorOptions(log_retention_days=10), "log_retention_days 10 is not a CloudWatch Logs retention"),
        (lambda: IamArgs(name_prefix="a b"), "IamArgs: name_prefix 'a b' is not made of letters, digits"),
        (
            lambda: TenantArgs(account_id="210987654321", role_arn="arn:aws:iam::111122223333:role/T"),
            "TenantArgs: role_arn 'arn:aws:iam::111122223333:role/T' is not in the tenant account 210987654321",
        ),
        (lambda: connector_args(region="eu-north-9"), "CloudConnectorArgs: region 'eu-north-9' is not a supported"),
        (
            lambda: connector_args(vaults=[VaultSpec("one"), VaultSpec("one")]),
            "vault names must be unique within a region; repeated: one",
        ),
        (lambda: connector_args(vaults=[]), "CloudConnectorArgs: vaults [] no vaults given, at least 1 per region"),
        (
            lambda: connector_args(
                network=NetworkArgs(
                    vpc_id="vpc-0123456789abcdef0", subnet_ids=[SUBNET], existing_endpoints=["s3", "dynamodb"],
                    private_link=True,
                )
            ),
            "options.worker_image 'public.ecr.aws/elastio/scalez-worker:1.0.0' cannot be pulled in ap-southeast-2",
        ),
    ],
)
def test_a_bad_value_names_the_argument_the_value_and_what_is_allowed(make, expected):
    assert expected in refusal(make)


def test_every_problem_of_one_args_object_is_reported_at_once():
    message = refusal(lambda: NetworkArgs(vpc_id="vpc-x", subnet_ids=["s-1"], existing_endpoints=["ecr"]))
    assert [line.split(" ", 2)[1] for line in message.splitlines()] == ["vpc_id", "subnet_ids[0]", "existing_endpoints"]


@pytest.mark.parametrize(
    ("stack_change", "make_args"),
    [
        ({"regions": [{"region": "eu-north-9"}]}, lambda: connector_args(region="eu-north-9")),
        ({"vaults": [{"name": "a_b"}]}, lambda: VaultSpec(name="a_b")),
        ({"network": {"vpcId": "vpc-1"}}, lambda: NetworkArgs(vpc_id="vpc-1", subnet_ids=[SUBNET])),
        ({"options": {"logRetentionDays": 2}}, lambda: ConnectorOptions(log_retention_days=2)),
        ({"options": {"workerImage": "scalez"}}, lambda: ConnectorOptions(worker_image="scalez")),
        ({"network": {"existingEndpoints": ["s3", "s3"]}}, lambda: NetworkArgs(
            vpc_id="vpc-0123456789abcdef0", subnet_ids=[SUBNET], existing_endpoints=["s3", "s3"])),
    ],
)
def test_the_stack_file_and_the_args_refuse_a_value_with_the_same_rule(stack_change, make_args):
    # One rule (elastio_pulumi.rules), two ways in: the stack file's message and the Args' end alike.
    raw = {
        "tenant": {"accountId": "210987654321"},
        "externalId": "secret",
        "regions": [
            {"region": "us-east-1", "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": [SUBNET]},
             "vaults": [{"name": "primary"}]}
        ],
    }
    region = raw["regions"][0]
    for key, value in stack_change.items():
        if key == "regions":
            region.update(value[0])
        elif key == "vaults":
            region["vaults"] = value
        elif key == "network":
            region["network"].update(value)
        else:
            raw[key] = value
    with pytest.raises(ConfigError) as stack_file:
        parse_config(raw)
    (stack_problem,) = stack_file.value.problems
    (args_problem,) = refusal(make_args).splitlines()
    rule_wording = stack_problem.split(": ", 1)[1].split(" ", 1)[1]  # after the key path and the value
    assert args_problem.endswith(rule_wording)

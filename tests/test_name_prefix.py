"""Two Cloud Connectors in one account and region (issue 16): every physical name derives from `elastio:namePrefix`,
so a second deployment (say a staging tenant's beside production's) neither collides with the first nor reaches
it through a name or a pattern, and a prefix that would break a name AWS limits is refused up front.

The two deployments are the example stack and the same stack with another prefix (tests/conftest.py), planned
into the same account and regions under mocks.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastio_pulumi import CloudConnectorArgs, VaultArgs, naming
from elastio_pulumi.args import NetworkArgs, VaultSpec
from elastio_pulumi.constants import SUPPORTED_REGIONS, VAULT_NAME_MAX
from elastio_pulumi.errors import ArgsError
from elastio_pulumi.packaging import LambdaZip
from elastio_pulumi.stack_config import ConfigError, parse_config
from plan import Plan, build_plan
from tests.components import aws_api_shapes as api
from tests.conftest import SECOND_DEPLOYMENT_GENERATED_IDS, SECOND_DEPLOYMENT_PREFIX, second_deployment_values

# The input that holds a resource's own physical name, where it is not `name`.
NAME_INPUTS = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:lambda/layerVersion:LayerVersion": "layerName",
}
# Names that are unique only within their parent, whose own name differs between deployments: an inline role
# policy is named within its role.
NAMED_WITHIN_PARENT = {"aws:iam/rolePolicy:RolePolicy"}


def physical_names(plan: Plan) -> set[tuple[str, str]]:
    """(type, physical name) of every resource that AWS names uniquely in an account (or account and region)."""
    names = set()
    for r in plan.resources:
        if not r.custom or r.type in NAMED_WITHIN_PARENT:
            continue
        name = r.inputs.get(NAME_INPUTS.get(r.type, "name"))
        if isinstance(name, str):
            names.add((r.type, name))
    return names


def strings(value) -> Iterator[str]:
    """Every string in a planned input, JSON documents (policies, environments, items) decoded."""
    if isinstance(value, str):
        yield value
        try:
            decoded = json.loads(value)
        except ValueError:
            return
        if isinstance(decoded, (dict, list)):
            yield from strings(decoded)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_two_deployments_in_one_account_and_region_share_no_physical_name(example_plan, second_deployment_plan):
    first, second = physical_names(example_plan), physical_names(second_deployment_plan)
    assert example_plan.outputs["accountId"] == second_deployment_plan.outputs["accountId"]
    # (The longer prefix may split the installer's permissions into one more managed policy.)
    assert len(second) >= len(first) > 100
    assert sorted(first & second) == []
    # Within a type: a Batch queue and an ECS cluster may share a name, two queues may not.
    assert sorted({(t, n.lower()) for t, n in first} & {(t, n.lower()) for t, n in second}) == []  # IAM: no case


def test_every_physical_name_of_a_deployment_carries_its_prefix(second_deployment_plan):
    names = physical_names(second_deployment_plan)
    assert sorted(n for _, n in names if SECOND_DEPLOYMENT_PREFIX not in n.lower()) == []


# What a deployment's inputs would hold if a name or pattern ignored its prefix: the default deployment's
# patterns (elastio-*, /elastio/..., Elastio<Word>...).
# Free text for people (descriptions), not names anything is addressed by.
DESCRIPTIONS = {"description", "alarmDescription"}
DEFAULT_PATTERNS = re.compile(r"(?<![A-Za-z0-9])elastio-\*|/elastio/|(?<![A-Za-z0-9])Elastio[A-Z*]")


def test_a_deployment_names_and_addresses_only_its_own_resources(example_plan, second_deployment_plan):
    """Environments of the functions and the engine, vault records, every IAM and resource policy, event patterns:
    nothing in the second deployment names a resource of the first, or a pattern of the default names."""
    first = sorted({n for _, n in physical_names(example_plan)}, key=len, reverse=True)
    token = re.compile("|".join(rf"(?<![A-Za-z0-9_.-]){re.escape(n)}(?![A-Za-z0-9_.-])" for n in first))
    tenants_own_role = second_deployment_plan.config.tenant.role_arn  # in the tenant's account, not ours
    found = set()
    for r in second_deployment_plan.resources:
        if not r.custom or r.type in NAMED_WITHIN_PARENT:
            continue
        inputs = {k: v for k, v in r.inputs.items() if k not in DESCRIPTIONS}
        for text in strings(inputs):
            text = text.replace(tenants_own_role, "<the tenant's role>")
            for hit in (*token.findall(text), *DEFAULT_PATTERNS.findall(text)):
                found.add((r.name, hit))
    assert sorted(found) == []


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Staging", "lowercase letters and digits"),
        ("elastio-staging", "no hyphen"),
        ("staging_1", "lowercase letters and digits"),
        ("1staging", "starting with a letter"),
        ("s" * (naming.NAME_PREFIX_MAX + 1), f"at most {naming.NAME_PREFIX_MAX} characters"),
    ],
)
def test_a_prefix_aws_or_the_other_deployments_would_refuse_is_refused_naming_key_value_and_fix(value, why):
    raw = {
        "tenant": {"accountId": "210987654321"},
        "externalId": "secret",
        "namePrefix": value,
        "regions": [
            {
                "region": "us-east-1",
                "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"]},
                "vaults": [{"name": "primary"}],
            }
        ],
    }
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    (problem,) = refused.value.problems
    assert problem.startswith(f"elastio:namePrefix: {json.dumps(value)} ")
    assert why in problem
    assert "e.g. staging" in problem  # the fix


def test_the_default_prefix_is_todays_names():
    cfg = parse_config(
        {
            "tenant": {"accountId": "210987654321"},
            "externalId": "secret",
            "regions": [
                {
                    "region": "us-east-1",
                    "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"]},
                    "vaults": [{"name": "primary"}],
                }
            ],
        }
    )
    assert cfg.name_prefix == naming.DEFAULT_NAME_PREFIX == "elastio"


NETWORK = NetworkArgs(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0123456789abcdef0"])


@pytest.mark.parametrize("prefix", ["Bad", "bad-prefix", "b" * (naming.NAME_PREFIX_MAX + 1)])
def test_a_library_caller_gets_the_same_check_when_the_args_are_made(prefix):
    with pytest.raises(ArgsError) as refused:
        CloudConnectorArgs(
            region="us-east-1", network=NETWORK, vaults=[VaultSpec(name="primary")],
            account_id="111122223333", tenant_role_arn="arn:t",
            permissions_boundary_arn="arn:b", code=LambdaZip(Path("c.zip"), None),
            layer_code=LambdaZip(Path("l.zip"), None), tags={}, name_prefix=prefix,
        )  # fmt: skip
    assert f"CloudConnectorArgs: name_prefix {prefix!r}" in str(refused.value)
    with pytest.raises(ArgsError, match="VaultArgs: name_prefix"):
        VaultArgs(
            vault=VaultSpec(name="primary"), region="us-east-1", network=NETWORK,
            account_id="111122223333", permissions_boundary_arn="arn:b", jobs_table_name="j",
            jobs_table_arn="arn:j", recovery_points_table_name="r", recovery_points_table_arn="arn:r",
            connector_key_arn="arn:k", catalog_function_name="c", catalog_function_arn="arn:c",
            security_group_id="sg-1", tags={}, name_prefix=prefix,
        )  # fmt: skip


def test_args_keep_the_prefix_they_were_checked_with():
    args = CloudConnectorArgs(
        region="us-east-1", network=NETWORK, vaults=[VaultSpec(name="primary")],
        account_id="111122223333", tenant_role_arn="arn:t",
        permissions_boundary_arn="arn:b", code=LambdaZip(Path("c.zip"), None),
        layer_code=LambdaZip(Path("l.zip"), None), tags={}, name_prefix="staging",
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.name_prefix = "Bad-"


def _longest_names_stack(prefix: str) -> dict:
    longest_region = max(SUPPORTED_REGIONS, key=len)
    return {
        "elastio:tenant": {"accountId": "210987654321"},
        "elastio:externalId": "an-external-id-for-this-test",
        "elastio:namePrefix": prefix,
        "elastio:regions": [
            {
                "region": longest_region,
                "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-0123456789abcdef0"]},
                "vaults": [{"name": "v" * VAULT_NAME_MAX}],
            }
        ],
    }


def test_the_longest_prefix_keeps_every_name_within_its_aws_limit():
    """The longest prefix with the longest vault name in the longest region: every planned name passes the rules
    AWS and the provider apply (tests/components/aws_api_shapes.py INPUT_RULES, each citing its source)."""
    plan = build_plan("example", stack_values=_longest_names_stack("p" * naming.NAME_PREFIX_MAX))
    problems = [
        problem
        for r in plan.resources
        for problem in api.input_rule_problems(r.type, r.inputs, f"{r.type} {r.name}")
    ]
    assert problems == []
    checked = {rule.type_token for rule in api.INPUT_RULES}
    assert {t for t, _ in physical_names(plan)} <= checked  # every named resource type has its name rule


def test_a_redeploy_adopts_only_what_its_own_deployment_kept(second_deployment_plan):
    """options.adoptRetained imports the kept buckets, tables, keys and aliases by name (retained.py): a second
    deployment's redeploy must import its own, never the first deployment's of the same vault names."""
    values = second_deployment_values()
    values["elastio:options"]["adoptRetained"] = True
    redeployed = build_plan("example", stack_values=values, generated_id_prefix=SECOND_DEPLOYMENT_GENERATED_IDS)
    adopted = {r.name: r.import_id for r in redeployed.resources if r.import_id}
    retained = {r.name for r in second_deployment_plan.resources if r.retain_on_delete}
    assert set(adopted) == retained and len(adopted) > 10
    assert sorted(name for name, import_id in adopted.items() if SECOND_DEPLOYMENT_PREFIX not in import_id) == []

"""Config validation: every class of bad input gives one clear message naming the key path and the value."""

from __future__ import annotations

import contextvars
import copy

import pytest

from elastio_pulumi.config import DeploymentConfig
from elastio_pulumi.constants import MAX_VAULTS_PER_REGION, SUPPORTED_REGIONS
from elastio_pulumi.stack_config import ConfigError, parse_config

SUBNET = "subnet-0123456789abcdef0"


def minimal() -> dict:
    return {
        "tenant": {"accountId": "210987654321"},
        "externalId": "secret",
        "regions": [
            {
                "region": "us-east-1",
                "network": {"vpcId": "vpc-0123456789abcdef0", "subnetIds": [SUBNET]},
                "vaults": [{"name": "primary"}],
            }
        ],
    }


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    return err.value.problems


def with_change(path: list, value) -> dict:
    raw = minimal()
    target = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return raw


def test_minimal_config_gets_sensible_defaults():
    cfg = parse_config(minimal())
    assert isinstance(cfg, DeploymentConfig)
    assert cfg.account_region == "us-east-1"
    assert cfg.options.compute_type == "FARGATE"
    assert cfg.options.log_retention_days == 30
    assert cfg.iam.name_prefix == "" and cfg.regions[0].network.private_link is False


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["tenant", "accountId"], "12345", 'elastio:tenant.accountId: "12345" is not a 12-digit AWS account id'),
        (["regions", 0, "region"], "us-east-9", 'elastio:regions[0].region: "us-east-9" is not a supported region'),
        (["regions", 0, "network", "vpcId"], "vpc-xyz", 'elastio:regions[0].network.vpcId: "vpc-xyz" is not a VPC id'),
        (["regions", 0, "network", "subnetIds"], ["sub-1"], 'elastio:regions[0].network.subnetIds[0]: "sub-1"'),
        (["regions", 0, "vaults", 0, "name"], "Bad_Name", "elastio:regions[0].vaults[0].name: \"Bad_Name\" is not"),
        (["options"], {"computeType": "EC2"}, 'elastio:options.computeType: "EC2" is not allowed'),
        (["options"], {"logRetentionDays": 31}, "elastio:options.logRetentionDays: 31 is not a CloudWatch Logs"),
        (["options"], {"alertEmails": ["nobody"]}, 'elastio:options.alertEmails[0]: "nobody" is not an email'),
        (["options"], {"workerImage": "worker"}, 'elastio:options.workerImage: "worker" is not a container image'),
        (["iam"], {"permissionsBoundaryArn": "boundary"}, 'elastio:iam.permissionsBoundaryArn: "boundary"'),
        (["iam"], {"installerPrincipals": ["arn:aws:iam::1:role/x"]}, "elastio:iam.installerPrincipals[0]"),
        (["iam"], {"namePrefix": "bad prefix"}, 'elastio:iam.namePrefix: "bad prefix"'),
        (["tenant", "roleArn"], "arn:aws:iam::999999999999:role/T", "is not in the tenant account 210987654321"),
        (["usage"], {"dailyChangeRate": 2}, "elastio:usage.dailyChangeRate: 2"),
        (["usage"], {"protectedGb": -1}, "elastio:usage.protectedGb: -1"),
        (["tags"], {"aws:owner": "me"}, "tag key 'aws:owner'"),
        (["tags"], {"elastio:resource": "false"}, "is set by the program"),
        (["tags"], {"elastio:deployment": "production"}, "'elastio:deployment' is set by the program"),
    ],
)
def test_bad_value_names_key_path_and_value(path, value, expected):
    problems = problems_of(with_change(path, value))
    assert any(expected in p for p in problems), problems


def test_too_many_vaults_says_how_many_and_the_limit():
    raw = minimal()
    raw["regions"][0]["vaults"] = [{"name": f"vault{i}"} for i in range(MAX_VAULTS_PER_REGION + 1)]
    assert problems_of(raw) == ["elastio:regions[0].vaults: 5 vaults given, at most 4 per region"]


def test_four_vaults_are_allowed():
    raw = minimal()
    raw["regions"][0]["vaults"] = [{"name": f"vault{i}"} for i in range(MAX_VAULTS_PER_REGION)]
    assert len(parse_config(raw).regions[0].vaults) == MAX_VAULTS_PER_REGION


def test_no_vaults_is_an_error():
    raw = with_change(["regions", 0, "vaults"], [])
    assert problems_of(raw) == ["elastio:regions[0].vaults: no vaults given, at least 1 per region"]


def test_vault_names_unique_within_region():
    raw = with_change(["regions", 0, "vaults"], [{"name": "same"}, {"name": "same"}])
    assert "repeated: same" in problems_of(raw)[0]


def test_same_vault_name_in_two_regions_is_fine():
    raw = minimal()
    second = copy.deepcopy(raw["regions"][0])
    second["region"] = "eu-west-1"
    raw["regions"].append(second)
    assert parse_config(raw).region_names == ["us-east-1", "eu-west-1"]


def test_region_at_most_once():
    raw = minimal()
    raw["regions"].append(copy.deepcopy(raw["regions"][0]))
    assert "each region at most once; repeated: us-east-1" in problems_of(raw)[0]


def test_private_link_needs_route_tables():
    raw = with_change(["regions", 0, "network", "privateLink"], True)
    (problem,) = problems_of(raw)
    assert problem.startswith("elastio:regions[0].network: privateLink is true but routeTableIds is empty")


PRIVATE_IMAGES = {
    "workerImage": "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker:1.0.0",
    "serverImage": "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-server@sha256:" + "a" * 64,
}


def test_private_link_with_route_tables_is_valid():
    raw = minimal()
    raw["regions"][0]["network"].update(privateLink=True, routeTableIds=["rtb-0123456789abcdef0"])
    raw["options"] = dict(PRIVATE_IMAGES)
    assert parse_config(raw).regions[0].network.private_link


def test_private_link_refuses_the_default_public_images_naming_both_keys_and_the_fix():
    raw = minimal()
    raw["regions"][0]["network"].update(privateLink=True, routeTableIds=["rtb-0123456789abcdef0"])
    problems = problems_of(raw)
    assert [p.split(":", 2)[1] for p in problems] == ["options.workerImage", "options.serverImage"]
    assert problems[0].startswith(
        'elastio:options.workerImage: "public.ecr.aws/elastio/scalez-worker:1.0.0" cannot be pulled in us-east-1'
    )
    assert "private ECR repository or ECR pull-through cache" in problems[0] and "\n" not in problems[0]


def test_private_link_refuses_a_private_registry_of_another_region():
    raw = minimal()
    raw["regions"][0]["network"].update(privateLink=True, routeTableIds=["rtb-0123456789abcdef0"])
    raw["options"] = {**PRIVATE_IMAGES, "workerImage": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:1"}
    (problem,) = problems_of(raw)
    assert problem.startswith('elastio:options.workerImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/w:1"')


def test_public_images_are_fine_without_private_link():
    assert parse_config(minimal()).options.worker_image.startswith("public.ecr.aws/")


def test_an_image_may_name_its_region_and_a_malformed_one_is_refused():
    raw = minimal()
    raw["options"] = {"workerImage": "123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker"}
    (problem,) = problems_of(raw)
    assert problem.startswith("elastio:options.workerImage: ") and "{region} is filled in per region" in problem


def test_existing_gateway_endpoints_stand_in_for_route_tables():
    raw = minimal()
    raw["regions"][0]["network"].update(privateLink=True, existingEndpoints=["s3", "dynamodb", "ecr.api"])
    raw["options"] = dict(PRIVATE_IMAGES)
    assert parse_config(raw).regions[0].network.existing_endpoints == ["s3", "dynamodb", "ecr.api"]


def test_existing_endpoints_must_be_services_the_endpoint_list_knows():
    raw = with_change(["regions", 0, "network", "existingEndpoints"], ["s3", "ecr"])
    (problem,) = problems_of(raw)
    assert problem.startswith("elastio:regions[0].network.existingEndpoints: ")
    assert "'ecr' is not an endpoint the vault tasks use" in problem and "ecr.api" in problem


def test_unknown_keys_are_errors_at_every_level():
    raw = minimal()
    raw["regionz"] = []
    raw["regions"][0]["network"]["subnetId"] = SUBNET
    raw["options"] = {"tracng": True}
    problems = problems_of(raw)
    assert any(p.startswith("elastio:regionz: unknown key") for p in problems)
    assert any(p.startswith("elastio:regions[0].network.subnetId: unknown key") for p in problems)
    assert any(p.startswith("elastio:options.tracng: unknown key") for p in problems)


def test_missing_required_keys_are_named():
    problems = problems_of({})
    assert any(p.startswith("elastio:tenant: missing") for p in problems)
    assert any(p.startswith("elastio:regions: missing") for p in problems)
    assert any("pulumi config set --secret elastio:externalId" in p for p in problems)


def test_home_region_must_be_configured():
    raw = minimal()
    raw["homeRegion"] = "eu-west-1"
    assert "homeRegion 'eu-west-1' is not one of the configured regions" in problems_of(raw)[0]


def test_all_problems_reported_at_once():
    raw = with_change(["tenant", "accountId"], "1")
    raw["regions"][0]["region"] = "mars-1"
    assert len(problems_of(raw)) == 2


def test_every_supported_region_is_accepted():
    for region in SUPPORTED_REGIONS:
        assert parse_config(with_change(["regions", 0, "region"], region)).regions[0].region == region


def test_object_given_as_wrong_type_is_reported():
    raw = minimal()
    raw["regions"] = "us-east-1"
    assert problems_of(raw)[0].startswith('elastio:regions: "us-east-1" has the wrong type')


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"dailyChangeRate": 1.5}, "elastio:usage.dailyChangeRate: 1.5 is above the maximum, 1"),
        ({"retentionDays": 0}, "elastio:usage.retentionDays: 0 is below the minimum, 1"),
        ({"protectedGb": -1}, "elastio:usage.protectedGb: -1 is below the minimum, 0"),
    ],
)
def test_a_number_out_of_range_says_the_bound_in_plain_words(change, expected):
    problems = problems_of(with_change(["usage"], change))
    assert expected in problems, problems
    assert not any("Input should" in p for p in problems)


def test_an_unquoted_account_id_asks_for_quotes():
    (problem,) = problems_of(with_change(["tenant", "accountId"], 12345678901))
    assert problem == (
        'elastio:tenant.accountId: 12345678901 is a number; quote the account id in the stack file: '
        'accountId: "012345678901"'
    )


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"dailyChangeRate": 1.5}, "elastio:regions[0].vaults[0].usage.dailyChangeRate: 1.5 is above the maximum, 1"),
        ({"protectedGB": 10}, "elastio:regions[0].vaults[0].usage.protectedGB: unknown key"),
        ({"changeRateBasis": "bytes"}, "elastio:regions[0].vaults[0].usage.changeRateBasis: \"bytes\" is not allowed"),
    ],
)
def test_a_vaults_own_usage_is_checked_like_the_stack_usage(usage, expected):
    raw = minimal()
    raw["regions"][0]["vaults"][0]["usage"] = usage
    problems = problems_of(raw)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_vaults_usage_leaves_unset_keys_to_the_cost_models_defaults():
    raw = minimal()
    raw["regions"][0]["vaults"][0]["usage"] = {"protectedGb": 500, "changeRateBasis": "blocks"}
    usage = parse_config(raw).regions[0].vaults[0].usage
    assert (usage.protected_gb, usage.change_rate_basis, usage.daily_change_rate) == (500, "blocks", None)


# --- iam.breakGlassRoleArn (issue 11) ----------------------------------------------------------------------


def test_a_break_glass_role_of_the_deployment_account_is_accepted():
    raw = minimal()
    raw["iam"] = {"breakGlassRoleArn": "arn:aws:iam::123456789012:role/ops/BreakGlass"}
    assert parse_config(raw).iam.break_glass_role_arn == "arn:aws:iam::123456789012:role/ops/BreakGlass"


@pytest.mark.parametrize(
    ("iam", "expected"),
    [
        ({"breakGlassRoleArn": "arn:aws:iam::123456789012:user/alice"}, "is not an IAM role ARN"),
        ({"breakGlassRoleArn": "arn:aws:iam::210987654321:role/Glass"}, "a role of the Elastio tenant's account"),
        (
            {
                "breakGlassRoleArn": "arn:aws:iam::123456789012:role/Glass",
                "permissionsBoundaryArn": "arn:aws:iam::111111111111:policy/Boundary",
            },
            "not in the account of iam.permissionsBoundaryArn (111111111111)",
        ),
    ],
    ids=["not-a-role", "tenant-account", "other-account-than-the-boundary"],
)
def test_a_break_glass_role_outside_the_deployment_account_is_one_line_naming_key_value_and_fix(iam, expected):
    raw = minimal()
    raw["iam"] = iam
    [problem] = problems_of(raw)
    assert "iam.breakGlassRoleArn" in problem and iam["breakGlassRoleArn"] in problem and expected in problem
    assert "\n" not in problem


# --- the one SDK internal the adapter reads (stack_config._set_config_keys) ----------------------------------


def test_a_key_set_through_the_sdks_public_setter_is_seen_so_typo_keys_are_caught():
    # The language host, Automation API inline programs and set_mocks all hand the config to the program with
    # the public pulumi.runtime.set_all_config. Pulumi has no public way to list keys, so configured_keys reads
    # the store behind it: if an SDK upgrade moves that store, this fails instead of typos passing silently.
    import pulumi.runtime

    from elastio_pulumi.stack_config import configured_keys

    def configured_run() -> list[str]:
        pulumi.runtime.set_all_config({"elastio:regionz": "[]", "aws:region": "us-east-1"}, [])
        return configured_keys()

    keys = contextvars.copy_context().run(configured_run)  # the config stays in this run's context
    assert "regionz" in keys and "region" not in keys

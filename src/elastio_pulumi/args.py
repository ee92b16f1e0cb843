"""The small Args the components take, frozen and checked when they are made (elastio_pulumi.rules, the same
rules the stack file's schema applies). A value another resource gives (a VPC, subnet or route table id) may
be an Output: it is checked when it is a plain string, and by AWS when it is known.

    network = NetworkArgs(vpc_id=vpc.id, subnet_ids=[a.id, b.id], route_table_ids=[private.id], private_link=True)
    CloudConnectorArgs(region="eu-west-1", network=network, vaults=[VaultSpec("primary")], ...)

A bad value raises ArgsError naming the argument, its value and what is allowed, one problem a line.
elastio_pulumi.stack_config maps a `Pulumi.<stack>.yaml` to these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from elastio_pulumi import naming, rules
from elastio_pulumi.constants import SUPPORTED_REGIONS
from elastio_pulumi.errors import ArgsError


class Problems:
    """The problems of one Args object, raised together as one ArgsError."""

    def __init__(self, component: str):
        self.component = component
        self.found: list[str] = []

    def check(self, name: str, value: Any, rule: Callable[[Any], Any]) -> None:
        """`value` against `rule`; an Output is left to AWS (its value is not known yet)."""
        if isinstance(value, pulumi.Output):
            return
        try:
            rule(value)
        except ValueError as err:
            self.found.append(f"{name} {value!r} {err}")

    def check_each(self, name: str, values: Sequence[Any], rule: Callable[[Any], Any]) -> None:
        if isinstance(values, (str, pulumi.Output)):
            # How many subnets, route tables or endpoints there are must be known before anything runs (the
            # resources are counted from it); each item may still be an Output.
            self.found.append(
                f"{name} {values!r} is not a list: pass a list, whose items may be Outputs ([s.id for s in subnets])"
            )
            return
        for index, value in enumerate(values):
            self.check(f"{name}[{index}]", value, rule)

    def add(self, problem: str) -> None:
        self.found.append(problem)

    def raise_any(self) -> None:
        if self.found:
            raise ArgsError(self.component, self.found)


def _string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string (or an Output of one)")
    return value


def _freeze(args: Any, *names: str) -> None:
    """Sequences as tuples, so frozen Args cannot change through a list the caller kept."""
    for name in names:
        value = getattr(args, name)
        if value is not None and not isinstance(value, (str, pulumi.Output)):
            object.__setattr__(args, name, tuple(value))


def _ids(rule: Callable[[str], str]) -> Callable[[Any], Any]:
    return lambda value: rule(_string(value))


@dataclass(frozen=True)
class IamArgs:
    """How IAM names are spelled and guarded (IAM names are global: prefix and suffix keep teams apart)."""

    name_prefix: str = ""
    name_suffix: str = ""
    permissions_boundary_arn: str | None = None
    """A customer boundary every role gets; without it AccountBootstrap creates one."""
    installer_principals: Sequence[str] = ()
    """Principals of this account that may assume ElastioInstaller besides the tenant."""
    break_glass_role_arn: str | None = None
    """A role of this account that may read (and so restore) vault data besides the vault's task role."""

    def __post_init__(self):
        _freeze(self, "installer_principals")
        problems = Problems("IamArgs")
        problems.check("name_prefix", self.name_prefix, _ids(rules.iam_affix))
        problems.check("name_suffix", self.name_suffix, _ids(rules.iam_affix))
        if self.permissions_boundary_arn is not None:
            problems.check("permissions_boundary_arn", self.permissions_boundary_arn, _ids(rules.policy_arn))
        problems.check_each("installer_principals", self.installer_principals, _ids(rules.principal_arn))
        if self.break_glass_role_arn is not None:
            problems.check("break_glass_role_arn", self.break_glass_role_arn, _ids(rules.role_arn))
        problems.raise_any()

    def naming(self, name_prefix: str) -> naming.IamNaming:
        """The IAM names of the deployment whose regional names start with `name_prefix` (its name_prefix Args)."""
        return naming.IamNaming(self.name_prefix, self.name_suffix, name_prefix)


@dataclass(frozen=True)
class TenantArgs:
    """Your Elastio tenant: the account (and optionally the one role of it) that may assume ElastioTenant."""

    account_id: str
    role_arn: str | None = None

    def __post_init__(self):
        problems = Problems("TenantArgs")
        problems.check("account_id", self.account_id, _ids(rules.account_id))
        if self.role_arn is not None:
            problems.check("role_arn", self.role_arn, _ids(rules.role_arn))
        if not problems.found:
            for problem in rules.tenant_role_problems(self.role_arn, self.account_id, str):
                problems.add(problem)
        problems.raise_any()


@dataclass(frozen=True)
class NetworkArgs:
    """Where a region's vault tasks run: your VPC and subnets (ids or Outputs of your resources)."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    route_table_ids: Sequence[pulumi.Input[str]] = ()
    """The subnets' route tables: the free S3 and DynamoDB gateway endpoints are added to them."""
    private_link: bool = False
    """A VPC without internet: interface endpoints for every AWS API the vault tasks call (billed hourly)."""
    assign_public_ip: bool = False
    """Public subnets without NAT: the tasks get a public IP to reach AWS."""
    existing_endpoints: Sequence[str] = ()
    """VPC endpoints the VPC already has (short names: s3, dynamodb, ecr.api, ...): not created again."""

    def __post_init__(self):
        _freeze(self, "subnet_ids", "route_table_ids", "existing_endpoints")
        problems = Problems("NetworkArgs")
        problems.check("vpc_id", self.vpc_id, _ids(rules.vpc_id))
        if not self.subnet_ids:
            problems.add("subnet_ids is empty: give at least one subnet for the vault tasks")
        problems.check_each("subnet_ids", self.subnet_ids, _ids(rules.subnet_id))
        problems.check_each("route_table_ids", self.route_table_ids, _ids(rules.route_table_id))
        problems.check("existing_endpoints", list(self.existing_endpoints), rules.endpoint_services)
        for problem in rules.network_problems(
            private_link=self.private_link,
            assign_public_ip=self.assign_public_ip,
            route_tables_given=bool(self.route_table_ids),
            existing_endpoints=self.existing_endpoints,
            key=str,
        ):
            problems.add(problem)
        problems.raise_any()


@dataclass(frozen=True)
class ObjectLock:
    """S3 Object Lock default retention of a vault's bucket (cannot be turned off; COMPLIANCE cannot be shortened)."""

    mode: str
    days: int

    def __post_init__(self):
        problems = Problems("ObjectLock")
        problems.check("mode", self.mode, _one_of(rules.OBJECT_LOCK_MODES))
        low, high = rules.OBJECT_LOCK_DAYS
        problems.check("days", self.days, _between(low, high))
        problems.raise_any()


@dataclass(frozen=True)
class VaultSpec:
    """One vault of a region: its name and what it does differently from the region."""

    name: str
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    """Overrides the region's network.subnet_ids for this vault's tasks."""
    object_lock: ObjectLock | None = None

    def __post_init__(self):
        _freeze(self, "subnet_ids")
        problems = Problems("VaultSpec")
        problems.check("name", self.name, _ids(rules.vault_name))
        if self.subnet_ids is not None:
            if not self.subnet_ids:
                problems.add("subnet_ids is empty: leave it None to use the region's subnets")
            problems.check_each("subnet_ids", self.subnet_ids, _ids(rules.subnet_id))
        problems.raise_any()


@dataclass(frozen=True)
class ConnectorOptions:
    """How the connector's functions and the vaults' tasks run."""

    tracing: bool = False
    compute_type: str = "FARGATE"
    worker_image: str = rules.DEFAULT_WORKER_IMAGE
    """May name `{region}`: filled in per region (a PrivateLink region pulls only from its own private ECR)."""
    server_image: str = rules.DEFAULT_SERVER_IMAGE
    alert_emails: Sequence[str] = ()
    log_retention_days: int = 30
    adopt_retained: bool = False
    """Import the resources an earlier `pulumi destroy` kept (elastio_pulumi.retained) instead of creating them."""

    def __post_init__(self):
        _freeze(self, "alert_emails")
        problems = Problems("ConnectorOptions")
        problems.check("compute_type", self.compute_type, _one_of(rules.COMPUTE_TYPES))
        problems.check("worker_image", self.worker_image, _ids(rules.image))
        problems.check("server_image", self.server_image, _ids(rules.image))
        problems.check_each("alert_emails", self.alert_emails, _ids(rules.email))
        problems.check("log_retention_days", self.log_retention_days, rules.log_retention_days)
        problems.raise_any()


def _one_of(allowed: Sequence[str]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"is not allowed; use one of: {', '.join(allowed)}")
        return value

    return check


def _between(low: int, high: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return check


def region_problems(
    problems: Problems, region: str, network: NetworkArgs, vaults: Sequence[VaultSpec], options: ConnectorOptions
) -> None:
    """What a region's Args must meet together: a supported region, 1 to 4 uniquely named vaults, and images a
    PrivateLink region can pull."""
    problems.check("region", region, _ids(rules.region))
    problems.check("vaults", [v.name for v in vaults], rules.vault_names)
    if network.private_link and region in SUPPORTED_REGIONS:
        for name in ("worker_image", "server_image"):
            image = getattr(options, name)
            if not rules.pulls_privately(image, region):
                problems.add(
                    f"options.{name} {image!r} cannot be pulled in {region} (network.private_link: no internet, "
                    "and only the region's own private ECR has an endpoint); push the image to a private ECR "
                    "repository or pull-through cache in this account and name it as "
                    "<account>.dkr.ecr.{region}.amazonaws.com/<repository>:<tag>"
                )


def iam_name_problems(problems: Problems, names: list[tuple[str, int]]) -> None:
    for problem in naming.iam_name_problems(
        names, "shorten iam.name_prefix / iam.name_suffix / name_prefix (or the vault name)"
    ):
        problems.add(problem)

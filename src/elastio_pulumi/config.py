"""The shapes of the stack configuration and their rules (pydantic models, frozen): what a stack may ask for.

Reading a stack's config into them and wording the errors is elastio_pulumi.stack_config; the IAM names the
config implies are listed in elastio_pulumi.naming.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from elastio_pulumi import naming, usage
from elastio_pulumi.constants import (
    MAX_VAULTS_PER_REGION,
    RESOURCE_TAG_KEY,
    SUPPORTED_REGIONS,
    VAULT_NAME_MAX,
)
from elastio_pulumi.networking import ENDPOINT_SERVICES, GATEWAY_SERVICES

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

DEFAULT_WORKER_IMAGE = "public.ecr.aws/elastio/scalez-worker:1.0.0"
DEFAULT_SERVER_IMAGE = "public.ecr.aws/elastio/scalez-server:1.0.0"
# An image may name its region: `123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker@sha256:...` is filled
# in per region, so every region pulls from its own registry.
REGION_PLACEHOLDER = "{region}"
# A private ECR registry: the only one a VPC without internet reaches, through its own region's ecr.api and
# ecr.dkr interface endpoints (public ECR, public.ecr.aws, has no PrivateLink endpoint).
PRIVATE_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")


# --- shapes --------------------------------------------------------------------------------------------

def _pattern(regex: str, what: str):
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"is not {what}")
        return value

    return AfterValidator(check)


AccountId = Annotated[str, _pattern(r"\d{12}", "a 12-digit AWS account id")]
VpcId = Annotated[str, _pattern(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a VPC id like vpc-0123456789abcdef0")]
SubnetId = Annotated[
    str, _pattern(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a subnet id like subnet-0123456789abcdef0")
]
RouteTableId = Annotated[
    str, _pattern(r"rtb-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a route table id like rtb-0123456789abcdef0")
]
RoleArn = Annotated[
    str,
    _pattern(
        r"arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}",
        "an IAM role ARN like arn:aws:iam::123456789012:role/Name",
    ),
]
PrincipalArn = Annotated[
    str,
    _pattern(
        r"arn:aws:iam::\d{12}:(?:root|(?:role|user)/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64})",
        "an IAM principal ARN (arn:aws:iam::<account>:root, :role/<name> or :user/<name>)",
    ),
]
PolicyArn = Annotated[
    str,
    _pattern(
        r"arn:aws:iam::(?:\d{12}|aws):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}",
        "an IAM managed policy ARN like arn:aws:iam::123456789012:policy/Boundary",
    ),
]
IamAffix = Annotated[
    str,
    Field(max_length=20),
    _pattern(r"[\w+=,.@-]*", "made of letters, digits and + = , . @ _ - only (IAM name characters)"),
]
Email = Annotated[str, _pattern(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address")]
_IMAGE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\.[a-z0-9-]+)*(?::\d+)?(?:/[a-z0-9._-]+)+(?::[\w.-]{1,128}|@sha256:[0-9a-f]{64})"
)


def _image(value: str) -> str:
    if not _IMAGE.fullmatch(image_in_region(value, SUPPORTED_REGIONS[0])):
        raise ValueError(
            "is not a container image reference with a tag or digest, like 123456789012.dkr.ecr.{region}."
            "amazonaws.com/scalez-worker:1.0.0 ({region} is filled in per region)"
        )
    return value


Image = Annotated[str, AfterValidator(_image)]


def image_in_region(image: str, region: str) -> str:
    """The image a region pulls: `{region}` in the reference becomes that region."""
    return image.replace(REGION_PLACEHOLDER, region)


def _region(value: str) -> str:
    if value not in SUPPORTED_REGIONS:
        raise ValueError(f"is not a supported region; supported: {', '.join(SUPPORTED_REGIONS)}")
    return value


Region = Annotated[str, AfterValidator(_region)]

_VAULT_NAME = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")


def _vault_name(value: str) -> str:
    if not (3 <= len(value) <= VAULT_NAME_MAX) or not _VAULT_NAME.fullmatch(value) or "--" in value:
        raise ValueError(
            f"is not a valid vault name: use 3 to {VAULT_NAME_MAX} lowercase letters, digits and single hyphens, "
            "starting with a letter (it becomes part of S3, DynamoDB, Batch and IAM names)"
        )
    return value


VaultName = Annotated[str, AfterValidator(_vault_name)]


def _name_prefix(value: str) -> str:
    problems = naming.name_prefix_problems(value)
    if problems:
        raise ValueError(problems[0])
    return value


NamePrefix = Annotated[str, AfterValidator(_name_prefix)]


class _Model(BaseModel):
    # camelCase keys as in the stack file; unknown keys are errors so typos cannot pass silently.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=True
    )


class TenantConfig(_Model):
    account_id: AccountId
    role_arn: RoleArn | None = None

    @field_validator("account_id", mode="before")
    @classmethod
    def _quoted_account_id(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML reads 012345678901 as a number and drops the leading zero; only a string keeps the id.
            raise ValueError(f'is a number; quote the account id in the stack file: accountId: "{value:012d}"')
        return value

    @model_validator(mode="after")
    def _role_in_tenant_account(self) -> TenantConfig:
        if self.role_arn and self.role_arn.split(":")[4] != self.account_id:
            raise ValueError(
                f"roleArn {self.role_arn!r} is not in the tenant account {self.account_id}: use a role of that account"
            )
        return self


class ObjectLockConfig(_Model):
    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int = Field(ge=1, le=36500)


class UsageConfig(_Model):
    """Workload assumptions for the cost preview (`usage` and `regions[].vaults[].usage`). Unset keys are
    None: their defaults and the data profile names belong to the cost model (cost/workload.py)."""

    protected_gb: float | None = Field(default=None, ge=usage.PROTECTED_GB_MIN)
    daily_change_rate: float | None = Field(
        default=None, ge=usage.DAILY_CHANGE_RATE_MIN, le=usage.DAILY_CHANGE_RATE_MAX
    )
    retention_days: int | None = Field(default=None, ge=usage.RETENTION_DAYS_MIN, le=usage.RETENTION_DAYS_MAX)
    data_profile: str | None = None
    change_rate_basis: str | None = None

    @field_validator("change_rate_basis")
    @classmethod
    def _known_basis(cls, basis: str | None) -> str | None:
        if basis is not None and basis not in usage.CHANGE_RATE_BASES:
            raise ValueError(f"is not allowed; use one of: {', '.join(usage.CHANGE_RATE_BASES)}")
        return basis

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, strict=False
    )


class VaultConfig(_Model):
    name: VaultName
    subnet_ids: list[SubnetId] | None = Field(default=None, min_length=1)
    object_lock: ObjectLockConfig | None = None
    usage: UsageConfig | None = None  # this vault's workload for the cost preview (same shape as `usage`)


def _endpoint_services(services: list[str]) -> list[str]:
    unknown = [s for s in services if s not in ENDPOINT_SERVICES]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} is not an endpoint the vault tasks use; "
            f"the names are {', '.join(ENDPOINT_SERVICES)}"
        )
    repeated = sorted({s for s in services if services.count(s) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(map(repr, repeated))} more than once; name each service once")
    return services


class NetworkConfig(_Model):
    vpc_id: VpcId
    subnet_ids: list[SubnetId] = Field(min_length=1)
    route_table_ids: list[RouteTableId] = Field(default_factory=list)
    private_link: bool = False
    assign_public_ip: bool = False
    existing_endpoints: Annotated[list[str], AfterValidator(_endpoint_services)] = Field(default_factory=list)
    """VPC endpoints the VPC already has (short names: s3, dynamodb, ecr.api, ...): not created again."""

    @model_validator(mode="after")
    def _private_link_needs_route_tables(self) -> NetworkConfig:
        gateways_exist = set(GATEWAY_SERVICES) <= set(self.existing_endpoints)
        if self.private_link and not self.route_table_ids and not gateways_exist:
            raise ValueError(
                "privateLink is true but routeTableIds is empty: the S3 gateway endpoint on the subnets' route "
                "tables is the only private route to the vault bucket and image layers; list them (or list s3 "
                "and dynamodb in existingEndpoints if the route tables already have those gateway endpoints)"
            )
        if self.private_link and self.assign_public_ip:
            raise ValueError(
                "privateLink and assignPublicIp are both true: choose one (PrivateLink is for VPCs without internet)"
            )
        return self


class RegionConfig(_Model):
    region: Region
    network: NetworkConfig
    vaults: list[VaultConfig]

    @field_validator("vaults")
    @classmethod
    def _vault_count_and_names(cls, vaults: list[VaultConfig]) -> list[VaultConfig]:
        if not vaults:
            raise ValueError("no vaults given, at least 1 per region")
        if len(vaults) > MAX_VAULTS_PER_REGION:
            raise ValueError(f"{len(vaults)} vaults given, at most {MAX_VAULTS_PER_REGION} per region")
        names = [v.name for v in vaults]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"vault names must be unique within a region; repeated: {', '.join(repeated)}")
        return vaults


class IamConfig(_Model):
    name_prefix: IamAffix = ""
    name_suffix: IamAffix = ""
    permissions_boundary_arn: PolicyArn | None = None
    installer_principals: list[PrincipalArn] = Field(default_factory=list)
    break_glass_role_arn: RoleArn | None = None
    """A role of this account that may read vault data (and so restore) besides the vault's task role."""

    def naming(self, name_prefix: str) -> naming.IamNaming:
        """The IAM names of the deployment whose regional names start with `name_prefix` (elastio:namePrefix)."""
        return naming.IamNaming(self.name_prefix, self.name_suffix, name_prefix)


class OptionsConfig(_Model):
    tracing: bool = False
    compute_type: Literal["FARGATE", "FARGATE_SPOT"] = "FARGATE"
    worker_image: Image = DEFAULT_WORKER_IMAGE
    server_image: Image = DEFAULT_SERVER_IMAGE
    alert_emails: list[Email] = Field(default_factory=list)
    log_retention_days: int = 30
    adopt_retained: bool = False
    """Import the resources an earlier `pulumi destroy` kept (retained.py) instead of creating them."""

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"is not a CloudWatch Logs retention period; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return days


def _tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not (1 <= len(key) <= 128) or key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r} must be 1-128 characters and not start with 'aws:'")
        if len(value) > 256:
            raise ValueError(f"tag {key!r} value is {len(value)} characters, at most 256")
        if key == RESOURCE_TAG_KEY:
            raise ValueError(f"tag {RESOURCE_TAG_KEY!r} is set by the program; remove it from tags")
    if len(tags) > 40:
        raise ValueError(f"{len(tags)} tags given, at most 40 (AWS allows 50 and the program adds its own)")
    return tags


class DeploymentConfig(_Model):
    tenant: TenantConfig
    name_prefix: NamePrefix = naming.DEFAULT_NAME_PREFIX
    """Starts every physical name (elastio_pulumi.naming): deployments with different prefixes share an account."""
    home_region: Region | None = None
    regions: list[RegionConfig] = Field(min_length=1)
    iam: IamConfig = IamConfig()
    options: OptionsConfig = OptionsConfig()
    tags: Annotated[dict[str, str], AfterValidator(_tags)] = Field(default_factory=dict)
    usage: UsageConfig = UsageConfig()

    @field_validator("regions")
    @classmethod
    def _each_region_once(cls, regions: list[RegionConfig]) -> list[RegionConfig]:
        names = [r.region for r in regions]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each region at most once; repeated: {', '.join(repeated)}")
        return regions

    @model_validator(mode="after")
    def _home_region_is_configured(self) -> DeploymentConfig:
        if self.home_region and self.home_region not in self.region_names:
            raise ValueError(
                f"homeRegion {self.home_region!r} is not one of the configured regions "
                f"({', '.join(self.region_names)}): add it to regions or leave homeRegion empty"
            )
        return self

    @model_validator(mode="after")
    def _break_glass_role_is_this_accounts(self) -> DeploymentConfig:
        # The deployment account is known only at run time (the vault's bucket policy checks it then); what the
        # config can tell: it is not the tenant's, and it is the account the customer boundary belongs to.
        role = self.iam.break_glass_role_arn
        if not role:
            return self
        account = role.split(":")[4]
        if account == self.tenant.account_id:
            raise ValueError(
                f"iam.breakGlassRoleArn {role!r} is a role of the Elastio tenant's account: name a role of the "
                "account you deploy to"
            )
        boundary = self.iam.permissions_boundary_arn
        if boundary and boundary.split(":")[4] not in ("aws", account):
            raise ValueError(
                f"iam.breakGlassRoleArn {role!r} is not in the account of iam.permissionsBoundaryArn "
                f"({boundary.split(':')[4]}): name a role of the account you deploy to"
            )
        return self

    @model_validator(mode="after")
    def _iam_names_fit(self) -> DeploymentConfig:
        problems = naming.iam_name_problems(
            derived_iam_names(self), "shorten iam.namePrefix / iam.nameSuffix / namePrefix (or the vault name)"
        )
        if problems:
            raise ValueError(problems[0])
        return self

    @property
    def region_names(self) -> list[str]:
        return [r.region for r in self.regions]

    @property
    def account_region(self) -> str:
        """Where account-level resources live: homeRegion, else the first configured region."""
        return self.home_region or self.regions[0].region


def derived_iam_names(cfg: DeploymentConfig) -> list[tuple[str, int]]:
    """Every IAM name the program derives from this config, with IAM's length limit for it."""
    iam = cfg.iam.naming(cfg.name_prefix)
    names = naming.account_iam_names(iam)
    for region in cfg.regions:
        names += naming.connector_iam_names(iam, region.region)
        for vault in region.vaults:
            names += naming.vault_iam_names(iam, vault.name, region.region)
    return names

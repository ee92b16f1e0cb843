"""The shapes of the stack configuration and their rules (pydantic models, frozen): what a stack may ask for.

Reading a stack's config into them and wording the errors is elastio_pulumi.stack_config; the IAM names the
config implies are listed in elastio_pulumi.naming.
"""

from __future__ import annotations

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

from elastio_pulumi import naming, rules, usage
from elastio_pulumi.constants import DEPLOYMENT_TAG_KEY, RESOURCE_TAG_KEY

# The rules live in elastio_pulumi.rules (the components' Args check the same ones); re-exported for callers.
LOG_RETENTION_DAYS = rules.LOG_RETENTION_DAYS
DEFAULT_WORKER_IMAGE = rules.DEFAULT_WORKER_IMAGE
DEFAULT_SERVER_IMAGE = rules.DEFAULT_SERVER_IMAGE
REGION_PLACEHOLDER = rules.REGION_PLACEHOLDER
PRIVATE_ECR_HOST = rules.PRIVATE_ECR_HOST
image_in_region = rules.image_in_region


# --- shapes --------------------------------------------------------------------------------------------

AccountId = Annotated[str, AfterValidator(rules.account_id)]
VpcId = Annotated[str, AfterValidator(rules.vpc_id)]
SubnetId = Annotated[str, AfterValidator(rules.subnet_id)]
RouteTableId = Annotated[str, AfterValidator(rules.route_table_id)]
RoleArn = Annotated[str, AfterValidator(rules.role_arn)]
PrincipalArn = Annotated[str, AfterValidator(rules.principal_arn)]
PolicyArn = Annotated[str, AfterValidator(rules.policy_arn)]
IamAffix = Annotated[str, Field(max_length=rules.IAM_AFFIX_MAX), AfterValidator(rules.iam_affix)]
Email = Annotated[str, AfterValidator(rules.email)]
Image = Annotated[str, AfterValidator(rules.image)]
Region = Annotated[str, AfterValidator(rules.region)]
VaultName = Annotated[str, AfterValidator(rules.vault_name)]


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
        problems = rules.tenant_role_problems(self.role_arn, self.account_id, to_camel)
        if problems:
            raise ValueError(problems[0])
        return self


class ObjectLockConfig(_Model):
    mode: Literal[rules.OBJECT_LOCK_MODES]  # type: ignore[valid-type]
    days: int = Field(ge=rules.OBJECT_LOCK_DAYS[0], le=rules.OBJECT_LOCK_DAYS[1])


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


class NetworkConfig(_Model):
    vpc_id: VpcId
    subnet_ids: list[SubnetId] = Field(min_length=1)
    route_table_ids: list[RouteTableId] = Field(default_factory=list)
    private_link: bool = False
    assign_public_ip: bool = False
    existing_endpoints: Annotated[list[str], AfterValidator(rules.endpoint_services)] = Field(default_factory=list)
    """VPC endpoints the VPC already has (short names: s3, dynamodb, ecr.api, ...): not created again."""

    @model_validator(mode="after")
    def _network_choices_fit(self) -> NetworkConfig:
        problems = rules.network_problems(
            private_link=self.private_link,
            assign_public_ip=self.assign_public_ip,
            route_tables_given=bool(self.route_table_ids),
            existing_endpoints=self.existing_endpoints,
            key=to_camel,
        )
        if problems:
            raise ValueError(problems[0])
        return self


class RegionConfig(_Model):
    region: Region
    network: NetworkConfig
    vaults: list[VaultConfig]

    @field_validator("vaults")
    @classmethod
    def _vault_count_and_names(cls, vaults: list[VaultConfig]) -> list[VaultConfig]:
        rules.vault_names([v.name for v in vaults])
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
    compute_type: Literal[rules.COMPUTE_TYPES] = "FARGATE"  # type: ignore[valid-type]
    worker_image: Image = rules.DEFAULT_WORKER_IMAGE
    server_image: Image = DEFAULT_SERVER_IMAGE
    alert_emails: list[Email] = Field(default_factory=list)
    log_retention_days: int = 30
    adopt_retained: bool = False
    """Import the resources an earlier `pulumi destroy` kept (retained.py) instead of creating them."""

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, days: int) -> int:
        return rules.log_retention_days(days)


def _tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not (1 <= len(key) <= 128) or key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r} must be 1-128 characters and not start with 'aws:'")
        if len(value) > 256:
            raise ValueError(f"tag {key!r} value is {len(value)} characters, at most 256")
        if key in (RESOURCE_TAG_KEY, DEPLOYMENT_TAG_KEY):
            raise ValueError(f"tag {key!r} is set by the program; remove it from tags")
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

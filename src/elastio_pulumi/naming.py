"""Names of everything the program creates, derived from the configuration.

Every physical name derives from the deployment's name prefix (`elastio:namePrefix`, default `elastio`), so two
deployments (say a staging and a production tenant's Cloud Connector) can share an account and region. Regional
resources (queues, tables, functions, ...) are named `<prefix>-...` inside their region so the tenant and the IAM
policies can address them; IAM names are global, so they carry a short region code, the configured IAM prefix
and suffix, and the prefix capitalised as their root (`elastio` -> `ElastioTenant`). Every function here is pure.

Why a prefix is lowercase letters and digits only: the IAM documents address a deployment's resources by
patterns like `elastio-*` and `ElastioVault-*`. With no hyphen in a prefix, `<p>-*` can never match a name of
another prefix (`elastio-*` does not match `elastiostaging-commands`), and with no capital after the first letter,
`<Root><Word>...` never matches another root's names either (`ElastioVault-*` does not match
`ElastiostagingVault-...`): one deployment's grants never reach another's resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elastio_contract import tables as contract_tables
from elastio_pulumi.constants import (
    IAM_POLICY_NAME_MAX,
    IAM_ROLE_NAME_MAX,
    MANAGED_POLICY_NAMES,
    PARTITION,
    REGION_CODES,
    S3_BUCKET_NAME_MAX,
    SUPPORTED_REGIONS,
    VAULT_NAME_MAX,
)

# Today's names: a deployment that does not set elastio:namePrefix keeps every name it always had.
DEFAULT_NAME_PREFIX = "elastio"

# The connector's services, in the order of the reference document, plus the command router.
SERVICES: tuple[str, ...] = (
    "catalog",
    "provisioner",
    "job_status",
    "background_jobs",
    "integrity_checks",
    "inventory",
)
ROUTER = "router"
FUNCTIONS: tuple[str, ...] = (ROUTER, *SERVICES)

VAULTS_TABLE = contract_tables.VAULTS
RECOVERY_POINTS_TABLE = contract_tables.RECOVERY_POINTS
JOBS_TABLE = contract_tables.JOBS
ASSETS_TABLE = contract_tables.ASSETS
COMMANDS_TABLE = contract_tables.COMMANDS
TABLES: tuple[str, ...] = contract_tables.TABLES

COMMANDS_QUEUE = "commands"
COMMANDS_DLQ = "commands-dlq"
FAILED_INVOCATIONS_QUEUE = "failed-invocations"
TENANT_EVENTS_QUEUE = "tenant-events"
QUEUES: tuple[str, ...] = (COMMANDS_QUEUE, COMMANDS_DLQ, FAILED_INVOCATIONS_QUEUE, TENANT_EVENTS_QUEUE)

# Vault roles: the Batch job/ScaleZ task role and the ECS execution role (image pulls, logs).
VAULT_ROLE_KINDS: tuple[str, ...] = ("task", "exec")


def iam_root(name_prefix: str) -> str:
    """The start of every IAM name's base: the deployment's prefix capitalised (`elastio` -> `Elastio`)."""
    return name_prefix[:1].upper() + name_prefix[1:]


@dataclass(frozen=True)
class IamNaming:
    """What every IAM name (roles, managed policies) is made of: the configured IAM prefix and suffix around
    the deployment's root (iam_root of its name prefix) and the name's own base."""

    prefix: str = ""
    suffix: str = ""
    name_prefix: str = DEFAULT_NAME_PREFIX
    """The deployment's name prefix (elastio:namePrefix), the same one its regional names start with."""

    def name(self, base: str) -> str:
        """base: what follows the root, starting with a capital (Tenant, Vault-..., Router-...) or `*`."""
        return f"{self.prefix}{iam_root(self.name_prefix)}{base}{self.suffix}"


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.replace("-", "_").split("_"))


# --- account level -------------------------------------------------------------------------------------

def tenant_role_name(iam: IamNaming) -> str:
    return iam.name("Tenant")


def installer_role_name(iam: IamNaming) -> str:
    return iam.name("Installer")


def managed_policy_name(iam: IamNaming, base: str) -> str:
    """base: one of MANAGED_POLICY_NAMES, the reference design's names (ElastioBackupAdmin, ...)."""
    return iam.name(base.removeprefix("Elastio"))


def default_boundary_name(iam: IamNaming) -> str:
    return iam.name("PermissionsBoundary")


def tenant_access_policy_name(iam: IamNaming) -> str:
    return iam.name("TenantAccess")


def installer_policy_name(iam: IamNaming, part: int | str) -> str:
    """The installer's permissions come in parts (IAM caps one managed policy at 6,144 characters)."""
    return iam.name(f"InstallerAccess{part}")


# --- regional (connector) ------------------------------------------------------------------------------

def function_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service.replace('_', '-')}"


ANY = "*"


def _region_code(region: str) -> str:
    """The short code in global IAM names; ANY gives the pattern that matches every region's name."""
    return ANY if region == ANY else REGION_CODES[region]


def function_role_name(iam: IamNaming, service: str, region: str) -> str:
    """region=ANY gives the IAM pattern of that function's role in every region."""
    return iam.name(f"{pascal(service)}-{_region_code(region)}")


def table_name(prefix: str, table: str) -> str:
    return f"{prefix}-{table}"


def queue_name(prefix: str, purpose: str) -> str:
    """purpose: commands, commands-dlq, failed-invocations, tenant-events."""
    return f"{prefix}-{purpose}"


# --- vault ---------------------------------------------------------------------------------------------

def vault_prefix(prefix: str, vault: str) -> str:
    return f"{prefix}-{vault}"


def vault_bucket_name(prefix: str, vault: str, account_id: str, region: str) -> str:
    # S3 names are global: the account and region make them unique without random suffixes.
    return f"{vault_prefix(prefix, vault)}-{account_id}-{region}"


def vault_index_table_name(prefix: str, vault: str) -> str:
    return f"{vault_prefix(prefix, vault)}-index"


def vault_key_alias_name(prefix: str, vault: str) -> str:
    # "vault-" keeps a vault named "connector" apart from the connector key's alias.
    return f"alias/{prefix}-vault-{vault}"


def connector_key_alias_name(prefix: str) -> str:
    return f"alias/{prefix}-connector"


def vault_role_name(iam: IamNaming, vault: str, region: str, kind: str) -> str:
    return iam.name(f"Vault-{vault}-{_region_code(region)}-{kind}")


def vault_resource_name(prefix: str, vault: str, purpose: str | None = None) -> str:
    """Regional Batch, ECS, EC2 and KMS names of a vault: <prefix>-<vault>[-<purpose>]."""
    return vault_prefix(prefix, vault) + (f"-{purpose}" if purpose else "")


def vault_job_definition_name(prefix: str, vault: str, job_type: str) -> str:
    """job_type: backup, restore, scan, compact."""
    return vault_resource_name(prefix, vault, job_type)


def vault_tasks_security_group_name(prefix: str) -> str:
    """The region's one security group for vault tasks (Batch jobs, ScaleZ server), shared by its vaults."""
    return f"{prefix}-vault-tasks"


def vault_log_group_name(prefix: str, vault: str) -> str:
    return f"/{prefix}/vaults/{vault}"


# --- ARN patterns used by account-level policies (regional names above, any supported region) -----------

def arn(service: str, region: str, account_id: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account_id}:{resource}"


def iam_arn(account_id: str, resource: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:{resource}"


# --- regional (connector) resources addressed by ARN before they exist ------------------------------------

def topic_name(prefix: str, purpose: str) -> str:
    """purpose: alerts."""
    return f"{prefix}-{purpose}"


def function_log_group_name(prefix: str, service: str) -> str:
    # Lambda's default log group name, so logs land in the group we create (with its retention).
    return f"/aws/lambda/{function_name(prefix, service)}"


def layer_name(prefix: str) -> str:
    return f"{prefix}-dependencies"


def rule_name(prefix: str, purpose: str) -> str:
    """purpose: inventory-changes, batch-job-state."""
    return f"{prefix}-{purpose}"


def alarm_name(prefix: str, purpose: str) -> str:
    return f"{prefix}-{purpose}"


# --- every IAM name, with IAM's limit (one list: the stack config and the components' Args check it) ----------

# The installer's permissions come in a number of parts known only once its documents are built; this stand-in
# is at least as long as any real part's number.
INSTALLER_PART_STAND_IN = 99


def account_iam_names(iam: IamNaming) -> list[tuple[str, int]]:
    """The account bootstrap's role and policy names."""
    names = [
        (tenant_role_name(iam), IAM_ROLE_NAME_MAX),
        (installer_role_name(iam), IAM_ROLE_NAME_MAX),
        (default_boundary_name(iam), IAM_POLICY_NAME_MAX),
        (tenant_access_policy_name(iam), IAM_POLICY_NAME_MAX),
        (installer_policy_name(iam, INSTALLER_PART_STAND_IN), IAM_POLICY_NAME_MAX),
    ]
    return names + [(managed_policy_name(iam, base), IAM_POLICY_NAME_MAX) for base in MANAGED_POLICY_NAMES]


def connector_iam_names(iam: IamNaming, region: str) -> list[tuple[str, int]]:
    """A region's function role names."""
    return [(function_role_name(iam, fn, region), IAM_ROLE_NAME_MAX) for fn in FUNCTIONS]


def vault_iam_names(iam: IamNaming, vault: str, region: str) -> list[tuple[str, int]]:
    """A vault's role names."""
    return [(vault_role_name(iam, vault, region, kind), IAM_ROLE_NAME_MAX) for kind in VAULT_ROLE_KINDS]


def iam_name_problems(names: list[tuple[str, int]], fix: str) -> list[str]:
    """One message per name over its limit: the name, its length, the limit and `fix`."""
    return [
        f"IAM name {name!r} would be {len(name)} characters, IAM allows {limit}: {fix}"
        for name, limit in names
        if len(name) > limit
    ]


# --- the name prefix: its shape and the longest one every name leaves room for ---------------------------------

NAME_PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9]*")

# The regional name of each kind that leaves the least room for the prefix, at its longest (the longest vault name
# in the longest region), with AWS's limit for it. The IAM names are checked name by name (iam_name_problems),
# since their affixes are configured too.
_LONGEST_VAULT = "v" * VAULT_NAME_MAX
_LONGEST_REGION = max(SUPPORTED_REGIONS, key=len)
_ANY_ACCOUNT = "0" * 12


def regional_name_limits(prefix: str) -> list[tuple[str, int]]:
    """(name, AWS limit) of the longest name of each kind a deployment with this prefix may create."""
    vault, region = _LONGEST_VAULT, _LONGEST_REGION
    longest_function = max(FUNCTIONS, key=len)
    return [
        # S3 general purpose bucket names: 3-63 characters (Amazon S3 User Guide, "General purpose bucket naming
        # rules"). The tightest: it holds the vault name, account id and region too.
        (vault_bucket_name(prefix, vault, _ANY_ACCOUNT, region), S3_BUCKET_NAME_MAX),
        # SQS CreateQueue QueueName: up to 80 characters (Amazon SQS API Reference, CreateQueue).
        (queue_name(prefix, max(QUEUES, key=len)), 80),
        # Lambda CreateFunction FunctionName: 64 characters for a bare name (AWS Lambda API Reference).
        (function_name(prefix, longest_function), 64),
        # EventBridge PutRule Name: 1-64 (Amazon EventBridge API Reference, PutRule; botocore's events model).
        (rule_name(prefix, "inventory-changes"), 64),
        # Lambda PublishLayerVersion LayerName: 1-140 (AWS Lambda API Reference, PublishLayerVersion).
        (layer_name(prefix), 140),
        # DynamoDB table names: 3-255 (Amazon DynamoDB Developer Guide, "Supported data types and naming rules").
        (vault_index_table_name(prefix, vault), 255),
        # Batch compute environment, job queue and job definition names: 1-128 (terraform-provider-aws
        # internal/service/batch/validate.go validName; AWS Batch API Reference).
        (vault_job_definition_name(prefix, vault, "restore"), 128),
        # ECS cluster and task definition family: 1-255 (Amazon ECS API Reference, CreateCluster,
        # RegisterTaskDefinition).
        (vault_resource_name(prefix, vault, "server"), 255),
        # CloudWatch Logs CreateLogGroup logGroupName: 1-512 (Amazon CloudWatch Logs API Reference).
        (function_log_group_name(prefix, longest_function), 512),
        (vault_log_group_name(prefix, vault), 512),
        # CloudWatch PutMetricAlarm AlarmName: 1-255 (Amazon CloudWatch API Reference).
        (alarm_name(prefix, f"{FAILED_INVOCATIONS_QUEUE}-{region}"), 255),
        # KMS CreateAlias AliasName: 1-256 (AWS KMS API Reference, CreateAlias).
        (vault_key_alias_name(prefix, vault), 256),
        # SNS CreateTopic Name: up to 256 (Amazon SNS API Reference, CreateTopic).
        (topic_name(prefix, "alerts"), 256),
        # EC2 CreateSecurityGroup GroupName: up to 255 (Amazon EC2 API Reference, CreateSecurityGroup).
        (vault_tasks_security_group_name(prefix), 255),
    ]


def _longest_prefix_that_fits() -> int:
    """The longest prefix every regional name, and the account's role names with the longest IAM affixes,
    leave room for."""
    for length in range(64, 0, -1):
        prefix = "p" * length
        longest_affix = "a" * 20  # config.IamAffix's maximum
        account_roles = account_iam_names(IamNaming(longest_affix, longest_affix, prefix))
        if all(len(name) <= limit for name, limit in regional_name_limits(prefix) + account_roles):
            return length
    raise AssertionError("no prefix fits")


NAME_PREFIX_MAX = _longest_prefix_that_fits()


def name_prefix_problems(prefix: str) -> list[str]:
    """What is wrong with a name prefix, each as the tail of `<key>: <value> ...` (empty when it is fine)."""
    if not isinstance(prefix, str) or not NAME_PREFIX_PATTERN.fullmatch(prefix):
        return [
            "is not a name prefix: use lowercase letters and digits only, starting with a letter, no hyphen "
            "(it starts S3 bucket names, which are lowercase; a hyphen would let one deployment's IAM patterns "
            f"reach another's names, as {DEFAULT_NAME_PREFIX}-* would match {DEFAULT_NAME_PREFIX}-staging-...), "
            "e.g. staging"
        ]
    if len(prefix) > NAME_PREFIX_MAX:
        return [
            f"is {len(prefix)} characters, at most {NAME_PREFIX_MAX} characters fit every name it starts (the "
            f"vault buckets: <prefix>-<vault>-<account>-<region> within S3's {S3_BUCKET_NAME_MAX}); use a shorter "
            "one, e.g. staging"
        ]
    return []


def name_prefix_arg_problems(name_prefix: str) -> list[str]:
    """name_prefix_problems as a component's Args say them (the argument, its value, what is wrong, the fix)."""
    return [f"name_prefix {name_prefix!r} {problem}" for problem in name_prefix_problems(name_prefix)]

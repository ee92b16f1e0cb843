"""Names of everything the program creates, derived from the configuration.

Regional resources (queues, tables, functions) have fixed names inside their region so the tenant and the
IAM policies can address them; IAM names are global, so they carry a short region code and the configured
prefix and suffix. Every function here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from elastio_contract import tables as contract_tables
from elastio_pulumi.constants import (
    IAM_POLICY_NAME_MAX,
    IAM_ROLE_NAME_MAX,
    MANAGED_POLICY_NAMES,
    PARTITION,
    REGION_CODES,
)

NAME_ROOT = "elastio"

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


@dataclass(frozen=True)
class IamNaming:
    """Prefix and suffix applied to every IAM name (roles, managed policies)."""

    prefix: str = ""
    suffix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}{self.suffix}"


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.replace("-", "_").split("_"))


# --- account level -------------------------------------------------------------------------------------

def tenant_role_name(iam: IamNaming) -> str:
    return iam.name("ElastioTenant")


def installer_role_name(iam: IamNaming) -> str:
    return iam.name("ElastioInstaller")


def managed_policy_name(iam: IamNaming, base: str) -> str:
    return iam.name(base)


def default_boundary_name(iam: IamNaming) -> str:
    return iam.name("ElastioPermissionsBoundary")


def tenant_access_policy_name(iam: IamNaming) -> str:
    return iam.name("ElastioTenantAccess")


def installer_policy_name(iam: IamNaming, part: int | str) -> str:
    """The installer's permissions come in parts (IAM caps one managed policy at 6,144 characters)."""
    return iam.name(f"ElastioInstallerAccess{part}")


# --- regional (connector) ------------------------------------------------------------------------------

def function_name(service: str) -> str:
    return f"{NAME_ROOT}-{service.replace('_', '-')}"


ANY = "*"


def _region_code(region: str) -> str:
    """The short code in global IAM names; ANY gives the pattern that matches every region's name."""
    return ANY if region == ANY else REGION_CODES[region]


def function_role_name(iam: IamNaming, service: str, region: str) -> str:
    """region=ANY gives the IAM pattern of that function's role in every region."""
    return iam.name(f"Elastio{pascal(service)}-{_region_code(region)}")


def table_name(table: str) -> str:
    return f"{NAME_ROOT}-{table}"


def queue_name(purpose: str) -> str:
    """purpose: commands, commands-dlq, failed-invocations, tenant-events."""
    return f"{NAME_ROOT}-{purpose}"


# --- vault ---------------------------------------------------------------------------------------------

def vault_prefix(vault: str) -> str:
    return f"{NAME_ROOT}-{vault}"


def vault_bucket_name(vault: str, account_id: str, region: str) -> str:
    # S3 names are global: the account and region make them unique without random suffixes.
    return f"{vault_prefix(vault)}-{account_id}-{region}"


def vault_index_table_name(vault: str) -> str:
    return f"{vault_prefix(vault)}-index"


def vault_key_alias_name(vault: str) -> str:
    # "vault-" keeps a vault named "connector" apart from the connector key's alias.
    return f"alias/{NAME_ROOT}-vault-{vault}"


def connector_key_alias_name() -> str:
    return f"alias/{NAME_ROOT}-connector"


def vault_role_name(iam: IamNaming, vault: str, region: str, kind: str) -> str:
    return iam.name(f"ElastioVault-{vault}-{_region_code(region)}-{kind}")


def vault_resource_name(vault: str, purpose: str | None = None) -> str:
    """Regional Batch, ECS, EC2 and KMS names of a vault: elastio-<vault>[-<purpose>] (all within AWS limits)."""
    return vault_prefix(vault) + (f"-{purpose}" if purpose else "")


def vault_job_definition_name(vault: str, job_type: str) -> str:
    """job_type: backup, restore, scan, compact."""
    return vault_resource_name(vault, job_type)


def vault_tasks_security_group_name() -> str:
    """The region's one security group for vault tasks (Batch jobs, ScaleZ server), shared by its vaults."""
    return f"{NAME_ROOT}-vault-tasks"


def vault_log_group_name(vault: str) -> str:
    return f"/{NAME_ROOT}/vaults/{vault}"


# --- ARN patterns used by account-level policies (regional names above, any supported region) -----------

def arn(service: str, region: str, account_id: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account_id}:{resource}"


def iam_arn(account_id: str, resource: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:{resource}"


# --- regional (connector) resources addressed by ARN before they exist ------------------------------------

def topic_name(purpose: str) -> str:
    """purpose: alerts."""
    return f"{NAME_ROOT}-{purpose}"


def function_log_group_name(service: str) -> str:
    # Lambda's default log group name, so logs land in the group we create (with its retention).
    return f"/aws/lambda/{function_name(service)}"


def layer_name() -> str:
    return f"{NAME_ROOT}-dependencies"


def rule_name(purpose: str) -> str:
    """purpose: inventory-changes, batch-job-state."""
    return f"{NAME_ROOT}-{purpose}"


def alarm_name(purpose: str) -> str:
    return f"{NAME_ROOT}-{purpose}"


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

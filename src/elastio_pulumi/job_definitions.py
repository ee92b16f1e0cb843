"""The vault's Batch job definitions and ScaleZ server container, as the AWS APIs take them (pure): task sizes,
the engine's command line and environment (docs/CONTRACT.md, "Batch jobs" and "Engine environment"). The IAM
documents the same containers run under are in vault_documents.py; src/elastio_pulumi/vault.py wires both."""

from __future__ import annotations

from dataclasses import dataclass

from elastio_contract import environment as env
from elastio_contract import jobs as contract_jobs

JOB_TYPES: tuple[str, ...] = contract_jobs.JOB_TYPES
# Batch parameters per job type (docs/CONTRACT.md, "Batch jobs"): elastio_contract.jobs.
JOB_PARAMETERS: dict[str, dict[str, str | None]] = contract_jobs.PARAMETERS


@dataclass(frozen=True)
class TaskSize:
    vcpu: str
    memory_mib: str


# Valid Fargate cpu/memory pairs. Backup and restore move EBS blocks in parallel and compress; scan and
# compact mostly read and hash.
JOB_SIZES: dict[str, TaskSize] = {
    "backup": TaskSize("2", "4096"),
    "restore": TaskSize("2", "4096"),
    "scan": TaskSize("1", "2048"),
    "compact": TaskSize("1", "2048"),
}
SERVER_SIZE = TaskSize("1", "2048")
# A job that runs longer than this is stuck (a 16 TiB volume at 100 MiB/s takes under two days).
JOB_TIMEOUT_SECONDS = 48 * 3600
# Fargate Spot reclaims tasks; a reclaimed job is retried, anything else the engine failed on is not.
JOB_RETRY_ATTEMPTS = 3

@dataclass(frozen=True)
class EngineSettings:
    """The resolved values a job definition's container needs (docs/CONTRACT.md, "Engine environment")."""

    vault_name: str
    region: str
    image: str
    bucket_name: str
    key_arn: str
    index_table_name: str
    jobs_table_name: str
    recovery_points_table_name: str
    catalog_function_name: str
    task_role_arn: str
    execution_role_arn: str
    log_group_name: str
    assign_public_ip: bool


def engine_environment(s: EngineSettings) -> dict[str, str]:
    return {
        env.VAULT_NAME: s.vault_name,
        env.VAULT_BUCKET: s.bucket_name,
        env.VAULT_KMS_KEY_ARN: s.key_arn,
        env.INDEX_TABLE: s.index_table_name,
        env.JOBS_TABLE: s.jobs_table_name,
        env.RECOVERY_POINTS_TABLE: s.recovery_points_table_name,
        env.CATALOG_FUNCTION: s.catalog_function_name,
    }


job_command = contract_jobs.command
job_parameter_defaults = contract_jobs.parameter_defaults


def container_properties(job_type: str, s: EngineSettings) -> dict:
    size = JOB_SIZES[job_type]
    return {
        "image": s.image,
        "command": job_command(job_type),
        "jobRoleArn": s.task_role_arn,
        "executionRoleArn": s.execution_role_arn,
        "resourceRequirements": [
            {"type": "VCPU", "value": size.vcpu},
            {"type": "MEMORY", "value": size.memory_mib},
        ],
        "environment": [{"name": k, "value": v} for k, v in engine_environment(s).items()],
        "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "networkConfiguration": {"assignPublicIp": "ENABLED" if s.assign_public_ip else "DISABLED"},
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": s.log_group_name,
                "awslogs-region": s.region,
                "awslogs-stream-prefix": job_type,
            },
        },
    }


def server_container_definitions(s: EngineSettings, server_image: str) -> list[dict]:
    """The ScaleZ server: same vault environment as the engine; it only connects out (no port mappings)."""
    return [
        {
            "name": "scalez-server",
            "image": server_image,
            "essential": True,
            "environment": [{"name": k, "value": v} for k, v in engine_environment(s).items()],
            "readonlyRootFilesystem": False,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": s.log_group_name,
                    "awslogs-region": s.region,
                    "awslogs-stream-prefix": "server",
                },
            },
        }
    ]

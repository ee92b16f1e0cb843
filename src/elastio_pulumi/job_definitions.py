"""The vault's Batch job definitions and ScaleZ server container, as the AWS APIs take them (pure): task sizes,
the engine's command line and environment (docs/CONTRACT.md, "Batch jobs" and "Engine environment"). The IAM
documents the same containers run under are in vault_documents.py; src/elastio_pulumi/vault.py wires both."""

from __future__ import annotations

import math
from dataclasses import dataclass

from elastio_contract import environment as env
from elastio_contract import jobs as contract_jobs

JOB_TYPES: tuple[str, ...] = contract_jobs.JOB_TYPES
# Batch parameters per job type (docs/CONTRACT.md, "Batch jobs"): elastio_contract.jobs.
JOB_PARAMETERS: dict[str, dict[str, str | None]] = contract_jobs.PARAMETERS


KIB, GIB, TIB = 1024, 1024**3, 1024**4

# --- the disk each job fills on the task's ephemeral storage ------------------------------------------------
# Issue 14's target: a 16 TiB volume backs up, restores and scans, and a vault with 16 TiB of unique data
# compacts, each within an 8 GiB task and at most 200 GiB of ephemeral storage. The engine keeps its local
# index copy and its spool files in ELASTIO_ENGINE_WORK_DIR, unset in these definitions, so the temp
# directory: the container's writable layer, which Fargate keeps on the task's ephemeral storage.
TARGET_VOLUME_BYTES = 16 * TIB
# engine/chunking.py ChunkerSettings.avg_size. The calibration measures a 64.9 KiB mean (cost/
# engine_calibration.json, perNewGb.chunksStored), so the nominal average counts slightly more chunks.
CHUNK_AVG_BYTES = 64 * KIB
TARGET_CHUNKS = TARGET_VOLUME_BYTES // CHUNK_AVG_BYTES  # 268 M
# engine/manifest.py MAX_CHAIN_DEPTH: a manifest resolves through at most this many parents.
MAX_CHAIN_DEPTH = 8


@dataclass(frozen=True)
class DiskPerChunk:
    """Bytes per chunk the engine writes to local disk, as its benchmarks measure them."""

    # benchmarks/engine_index_view.py, "on local disk": the job's SQLite copy of the vault's index, per unique
    # chunk of the vault (60 for one merged blob and for 40 unsorted backup blobs alike).
    index_view: float = 60.0
    # benchmarks/engine_memory.py, "manifest in S3 full": a version-3 manifest, spooled whole to be written
    # and to be read. An incremental one is smaller (0.86 at 2%/day) but never larger than a full one: with
    # its parent gone it is written full. Sizing a chain as full manifests holds at any change rate.
    full_manifest: float = 36.0
    # engine/bounded.py LiveSet: compaction's mark spools each distinct live digest once (32 bytes per unique
    # chunk, whatever the number of manifests listing it; benchmarks/engine_memory.py --full-manifests 13).
    live_digest: float = 32.0


DISK_PER_CHUNK = DiskPerChunk()
# Compaction's mark streams each live manifest's own records, and every full manifest (one per
# MAX_CHAIN_DEPTH + 1 points) re-lists each chunk of its volume (13 references per unique chunk for a volume kept
# 90 days at 2%/day, 42 at 365), but what it holds follows unique chunks: its filters are sized by the vault's
# index entries and each live digest is spooled once (engine/compact.py mark). So one spool of live digests per
# unique chunk, and the manifest being streamed, at any retention.
# The image is pulled and unpacked on the same storage (Amazon ECS developer guide, "Fargate task ephemeral
# storage"): python:3.11-slim-bookworm and the engine's wheels (engine/Dockerfile) unpack to a few hundred
# MiB; twice 1 GiB leaves room for both copies without a container runtime here to measure them.
IMAGE_ALLOWANCE_GIB = 2
# Batch EphemeralStorage.sizeInGiB: 21-200 GiB, Fargate only; without it a Fargate task gets 20 GiB (AWS
# Batch API reference, EphemeralStorage; the same rule is in tests/components/aws_api_shapes.py INPUT_RULES).
EPHEMERAL_STORAGE_GIB = (21, 200)


def spooled_bytes_per_chunk(job_type: str) -> float:
    """What one job holds on local disk at once, in bytes per chunk of the target volume. Every job loads the
    vault's index. A point's manifest resolves through up to MAX_CHAIN_DEPTH parents, each spooled while it is
    read (engine/vault.py open_manifest); a backup reads its parent's chain and spools the manifest it writes;
    compaction spools each live digest once and streams one manifest at a time (engine/compact.py mark)."""
    d = DISK_PER_CHUNK
    chain = (MAX_CHAIN_DEPTH + 1) * d.full_manifest
    held = {
        "backup": chain + d.full_manifest,
        "restore": chain,
        "scan": chain,
        "compact": d.live_digest + d.full_manifest,
    }[job_type]
    return d.index_view + held


def ephemeral_storage_gib(job_type: str) -> int:
    """The job definition's ephemeral storage: the job's spools at the target plus the image."""
    need = spooled_bytes_per_chunk(job_type) * TARGET_CHUNKS / GIB + IMAGE_ALLOWANCE_GIB
    low, high = EPHEMERAL_STORAGE_GIB
    size = max(low, math.ceil(need))
    if size > high:
        raise ValueError(f"{job_type} jobs need {need:.0f} GiB of ephemeral storage; Fargate gives at most {high}")
    return size


@dataclass(frozen=True)
class TaskSize:
    vcpu: str
    memory_mib: str
    ephemeral_gib: int | None = None  # None: Fargate's default 20 GiB


# Valid Fargate cpu/memory pairs (2 vCPU: 4-16 GiB; 1 vCPU: 2-8 GiB). Backup and restore move EBS blocks in
# parallel and compress; scan and compact mostly read and hash. Memory at 16 TiB (benchmarks/engine_memory.py
# --tib 1, metadata only): backup 4.9 bytes per chunk full / 5.5 incremental, restore 0.1, scan 1.1,
# compaction's mark 2.0 per unique chunk at any retention (--full-manifests 13). The backup's EBS listing is
# streamed (engine/ebs.py: one page of block tokens, ~10 bytes a block with the plan, tests/components/
# test_job_storage.py), so a 16 TiB backup needs about 1.7 GiB and 4 GiB leaves room for the pipeline's buffers
# and the interpreter (it had 8 GiB while it held every token: ~190 bytes a block, 5.9 GiB at 16 TiB).
# Compaction's three filters (live, freed, the sweep's seen set) need at most 1.5 GiB at 16 TiB; it keeps 8 GiB
# because its sweep also holds a list of the chunks it moves and of the packs, which no benchmark measures yet
# (engine/README.md, limits).
JOB_SIZES: dict[str, TaskSize] = {
    "backup": TaskSize("2", "4096", ephemeral_storage_gib("backup")),
    "restore": TaskSize("2", "4096", ephemeral_storage_gib("restore")),
    "scan": TaskSize("1", "2048", ephemeral_storage_gib("scan")),
    "compact": TaskSize("1", "8192", ephemeral_storage_gib("compact")),
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
    deployment: str
    """The deployment's name prefix: the elastio:deployment tag of what the engine restores."""


def engine_environment(s: EngineSettings) -> dict[str, str]:
    return {
        env.VAULT_NAME: s.vault_name,
        env.VAULT_BUCKET: s.bucket_name,
        env.VAULT_KMS_KEY_ARN: s.key_arn,
        env.INDEX_TABLE: s.index_table_name,
        env.JOBS_TABLE: s.jobs_table_name,
        env.RECOVERY_POINTS_TABLE: s.recovery_points_table_name,
        env.CATALOG_FUNCTION: s.catalog_function_name,
        env.DEPLOYMENT: s.deployment,
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
        # Batch's member name is sizeInGiB (the provider decodes the JSON into the SDK's ContainerProperties).
        **({"ephemeralStorage": {"sizeInGiB": size.ephemeral_gib}} if size.ephemeral_gib else {}),
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

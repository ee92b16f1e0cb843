"""The model's fixed assumptions: each one a number with the reason it has that value.

They are inputs, not tuning knobs: changing one changes every estimate, and the report prints them all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

GIB = 1024**3
KIB = 1024


@dataclass(frozen=True)
class Assumptions:
    hours_per_month: float = 730.0  # AWS's billing month
    # Amazon EBS direct APIs and snapshots track changes in 512 KiB blocks.
    ebs_block_kib: float = 512.0
    # The engine's FastCDC average chunk (engine.chunking.ChunkerSettings.avg_size).
    chunk_avg_kib: float = 64.0
    # The engine's pack object size (engine.backup: pack_bytes); chunks are packed, not stored one per object.
    pack_mib: float = 32.0
    # Compaction rewrites a pack once its live share falls below this (engine.compact.CompactionSettings
    # .rewrite_below); packs then hold on average (1 + t) / 2 live data, and each rewrite copies the live part.
    compaction_live_threshold: float = 0.8
    # Days the lifecycle rule keeps noncurrent versions (rewritten packs, merged index blobs); the graph's rule
    # wins when present (components/vault.py: NONCURRENT_VERSION_DAYS).
    noncurrent_days: float = 1.0
    # Backup job throughput reading changed blocks through the EBS direct APIs and storing them.
    backup_throughput_mib_s: float = 100.0
    # Per job: Fargate start, image pull and the index/manifest work around the data.
    job_overhead_minutes: float = 2.0
    # One backup job per volume per day; volumes of this average size hold the protected data.
    volume_gb: float = 200.0
    # Job size when the graph has no job definition to read it from (Fargate's default ephemeral storage).
    # Backup, compaction and restore hours are all priced at one size: the backup job definition's vCPU and
    # memory and the largest ephemeral storage of the vault's job definitions (the backup job's), each the largest
    # of the four job types (src/elastio_pulumi/job_definitions.py JOB_SIZES): an upper bound.
    job_vcpu: float = 2.0
    job_memory_gb: float = 4.0
    job_ephemeral_gb: float = 20.0
    # Fargate includes 20 GB of ephemeral storage per task; only what a task configures above is billed
    # (https://aws.amazon.com/fargate/pricing/).
    fargate_free_ephemeral_gb: float = 20.0
    # The engine reads only blocks changed since the previous recovery point (ListChangedBlocks), so the
    # latest snapshot of each volume stays until the next backup: a full-size standard-tier snapshot.
    keep_parent_snapshot: bool = True
    # Lambda keeps polling an SQS event source even when idle: five long polls of 20 s each at a time.
    sqs_pollers: float = 5.0
    sqs_poll_wait_s: float = 20.0
    # The tenant polls its events queue from outside (assumption: one long poller of 20 s per region).
    tenant_pollers: float = 1.0
    tenant_poll_wait_s: float = 20.0
    # Restores read packs with ranged GETs of runs of adjacent chunks.
    restore_read_mib: float = 4.0
    # Control plane per backup job: router, background jobs, job status, catalog invocations and log lines.
    invocations_per_job: float = 6.0
    invocation_gb_seconds: float = 0.25 * 0.5  # 256 MB for half a second
    log_kb_per_invocation: float = 2.0
    log_kb_per_job: float = 50.0
    log_retention_days: float = 30.0  # the graph's log groups win when present

    @property
    def days_per_month(self) -> float:
        return self.hours_per_month / 24.0

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)

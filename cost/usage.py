"""Usage cost of a workload in the vault, and of the same protection with EBS snapshots and AWS Backup.

Steady state of daily backups kept `retention_days`: everything is a monthly figure once the oldest
recovery point expires as a new one is made. Sizes are in GB of 2^30 bytes, as AWS bills storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost.assumptions import Assumptions
from cost.lines import Line, priced
from cost.operations import KIB_PER_GB, operation_counts
from cost.prices import PriceTable
from cost.profiles import DataProfile
from cost.workload import Workload


def amplification(granularity_kib: float, extent_kib: float) -> float:
    """Bytes a change-tracking unit of `granularity_kib` stores per byte of a changed run of `extent_kib`.

    A run of w bytes at a random offset touches on average 1 + (w - 1) / g units of size g, so
    g * (1 + w / g) = g + w bytes are stored for w changed: 1 + g / w.
    """
    return 1.0 + granularity_kib / extent_kib


@dataclass(frozen=True)
class DataFlow:
    """Where the bytes go, per day and at rest, for one workload and profile."""

    changed_block_gb_per_day: float  # 512 KiB blocks that changed: what snapshots store and the engine reads
    new_chunk_gb_per_day: float  # of those, bytes in chunks the vault has not seen (uncompressed)
    new_stored_gb_per_day: float  # the same, compressed: what the vault adds (and, steady, frees) each day
    full_copy_stored_gb: float  # the first full copy after dedup and compression
    retained_changes_stored_gb: float  # the changes kept for the retention period
    pack_slack_gb: float  # dead chunks in packs not yet compacted
    noncurrent_gb: float  # rewritten packs kept as noncurrent versions by the lifecycle rule
    rewritten_gb_per_day: float  # live bytes compaction copies into new packs
    unique_chunk_gb: float  # uncompressed bytes behind the index entries
    jobs_per_day: float

    @property
    def vault_stored_gb(self) -> float:
        return (
            self.full_copy_stored_gb
            + self.retained_changes_stored_gb
            + self.pack_slack_gb
            + self.noncurrent_gb
        )


def changed_share(rate: float, amplification_factor: float) -> float:
    """Share of units changed in a day when a share `rate` of the data is rewritten in runs that each touch
    `amplification_factor` units per unit of data.

    Rewrites overlap instead of adding up: with independent writes a unit escapes a day's changes with
    probability (1 - rate) ** amplification_factor, so the share changed is 1 - (1 - r)^a (r * a for small
    r, never above 1). The same rule gives the share changed over d independent days: 1 - (1 - r)^d."""
    return 1.0 - (1.0 - rate) ** amplification_factor


def data_rate(workload: Workload, profile: DataProfile, assumptions: Assumptions) -> float:
    """The share of the data rewritten a day. A `blocks` basis (what snapshot sizes show: the share of
    512 KiB blocks changed) is turned back into data through the profile's run length."""
    if workload.change_rate_basis == "data":
        return workload.daily_change_rate
    block_amp = amplification(assumptions.ebs_block_kib, profile.changed_extent_kib)
    return 1.0 - (1.0 - workload.daily_change_rate) ** (1.0 / block_amp)


def changed_block_share(workload: Workload, profile: DataProfile, assumptions: Assumptions) -> float:
    """Share of the volumes' 512 KiB blocks a day changes: what snapshots store and the engine reads."""
    rate = data_rate(workload, profile, assumptions)
    return changed_share(rate, amplification(assumptions.ebs_block_kib, profile.changed_extent_kib))


def data_flow(workload: Workload, profile: DataProfile, assumptions: Assumptions) -> DataFlow:
    a = assumptions
    protected, days = workload.protected_gb, workload.retention_days
    rate = data_rate(workload, profile, a)
    changed_blocks = protected * changed_block_share(workload, profile, a)
    # The engine reads whole changed blocks, but chunks of them that did not change dedup against the index,
    # so the vault keeps changes at chunk granularity.
    new_chunks = (
        protected * changed_share(rate, amplification(a.chunk_avg_kib, profile.changed_extent_kib))
        / profile.dedup_factor
    )
    new_stored = new_chunks / profile.compression_factor
    retained = new_stored * days
    t = a.compaction_live_threshold
    # Packs holding expiring chunks average (1 + t) / 2 live; a pack is rewritten at live share t, so each
    # freed byte leaves 1 / (1 - t) bytes of old pack behind as a noncurrent version and copies t / (1 - t).
    slack = retained * (1 - t) / (1 + t)
    noncurrent = a.noncurrent_days * new_stored / (1 - t)
    return DataFlow(
        changed_block_gb_per_day=changed_blocks,
        new_chunk_gb_per_day=new_chunks,
        new_stored_gb_per_day=new_stored,
        full_copy_stored_gb=protected / profile.reduction,
        retained_changes_stored_gb=retained,
        pack_slack_gb=slack,
        noncurrent_gb=noncurrent,
        rewritten_gb_per_day=new_stored * t / (1 - t),
        unique_chunk_gb=protected / profile.dedup_factor + new_chunks * days,
        jobs_per_day=math.ceil(protected / a.volume_gb) if protected > 0 else 0,
    )


@dataclass(frozen=True)
class Network:
    """How one vault's tasks reach AWS (from `cost.graph.VaultFacts`): `public`, `endpoint` or `nat`."""

    path: str = "public"
    s3_gateway: bool = False
    dynamodb_gateway: bool = False


def network_lines(
    line,  # the caller's line factory: (price key, resource, quantity, note) -> Line
    network: Network,
    *,
    ebs_gb: float,
    s3_gb: float,
    task_hours: float,
) -> list:
    """The per-GB and per-address charges of the path the engine's bytes take out of the tasks' subnets."""
    lines = []
    if network.path == "public":
        # A Fargate task with assignPublicIp holds one public IPv4 address while it runs.
        lines.append(
            line("vpc.public_ipv4.hours", "Public IPv4 addresses of running tasks", task_hours,
                 "assignPublicIp: one address per task-hour")
        )
    elif network.path == "endpoint":
        lines.append(
            line("vpce.interface.data", "Interface endpoint data processed (EBS direct API reads)", ebs_gb,
                 "the ebs endpoint carries the blocks the engine reads")
        )
    else:
        lines.append(
            line("vpc.nat_gateway.data", "NAT data processed (EBS direct API reads)", ebs_gb,
                 "private subnets without PrivateLink: the customer's NAT gateway (assumed)")
        )
        if not network.s3_gateway:
            lines.append(
                line("vpc.nat_gateway.data", "NAT data processed (S3 packs and index, no gateway endpoint)", s3_gb,
                     "no routeTableIds: no S3 gateway endpoint")
            )
    return lines


def compute_lines(line, job_hours: float, a: Assumptions, *, spot: bool, jobs: str) -> list[Line]:
    """Fargate (or Fargate Spot) vCPU, memory and ephemeral storage of `job_hours` of Batch jobs of the graph's
    size. Storage is billed only above the 20 GB every task gets; on Spot it is priced at the on-demand rate (the
    Fargate pricing page's Spot table lists vCPU and memory only: an upper bound if Spot discounts it too)."""
    fargate, label = ("fargate_spot", "Fargate Spot") if spot else ("fargate", "Fargate")
    extra_storage = max(0.0, a.job_ephemeral_gb - a.fargate_free_ephemeral_gb)
    storage = [
        line(
            "fargate.ephemeral_storage",
            f"Batch {label} ephemeral storage above the free {a.fargate_free_ephemeral_gb:g} GB",
            job_hours * extra_storage,
            f"{job_hours:.3g} job-hours x {extra_storage:g} GB (job definition: {a.job_ephemeral_gb:g} GB)",
        )
    ] if extra_storage else []
    return [
        line(
            f"{fargate}.vcpu",
            f"Batch {label} vCPU ({jobs})",
            job_hours * a.job_vcpu,
            f"{job_hours:.3g} job-hours x {a.job_vcpu:g} vCPU",
        ),
        line(
            f"{fargate}.memory",
            f"Batch {label} memory",
            job_hours * a.job_memory_gb,
            f"{job_hours:.3g} job-hours x {a.job_memory_gb:g} GB",
        ),
    ] + storage


def manifest_lines(line, workload: Workload, flow: DataFlow, ops) -> list[Line]:
    """The manifests in S3 (engine/manifest.py, version 3): one per retained recovery point, a full one (every
    chunk of the volume listed) starting each chain of `max_chain_depth` + 1, the others incremental (the
    chunks of the segments the backup read, and a map of the volume). Compaction also keeps an expired parent
    while a live manifest resolves through it (engine/README.md, rule P): per volume, the ancestors of the
    oldest live point, k of them for a point at chain depth k, k evenly spread over 0..max_chain_depth."""
    volumes = flow.jobs_per_day
    if not volumes:
        return []
    volume_gb = workload.protected_gb / volumes
    full_gb = volume_gb * ops.chunks_per_read_gb * ops.manifest_full_bytes_per_chunk / 2**30
    written = flow.changed_block_gb_per_day / volumes * ops.chunks_per_read_gb
    incremental_gb = ops.incremental_manifest_bytes(written, volume_gb * ops.blocks_per_gb) / 2**30
    depth = ops.max_chain_depth
    chain = depth + 1
    days = workload.retention_days
    retained = volumes * days * (full_gb + depth * incremental_gb) / chain
    kept = volumes * (depth * full_gb + depth * (depth - 1) / 2 * incremental_gb) / chain
    return [
        line(
            "s3.standard.storage",
            "Vault storage: manifests of retained points",
            retained,
            f"{days} per volume: a full one ({full_gb * 1024:.3g} MiB) every {chain:g}, incremental ones "
            f"({incremental_gb * 1024:.3g} MiB) between",
        ),
        line(
            "s3.standard.storage",
            "Vault storage: expired parent manifests kept for a child",
            kept,
            f"at most one chain of {depth:g} per volume, half of one on average",
        ),
    ]


def elastio_usage_lines(
    workload: Workload,
    profile: DataProfile,
    region: str,
    prices: PriceTable,
    assumptions: Assumptions,
    *,
    spot: bool = False,
    bucket_key: bool = False,
    network: Network = Network(),
    component: str = "",
) -> list[Line]:
    """A month of steady daily backups of `workload` into one vault in `region`, and its daily compaction."""
    a = assumptions
    ops = operation_counts(a)
    flow = data_flow(workload, profile, a)
    month = a.days_per_month
    restore = workload.restore_gb_per_month

    def line(key: str, resource: str, quantity: float, note: str = "") -> Line:
        return priced(prices, key, region, resource, quantity, "usage", note, component)

    lines = [
        line(
            "s3.standard.storage",
            "Vault storage: first full copy",
            flow.full_copy_stored_gb,
            f"{workload.protected_gb:g} GB / ({profile.dedup_factor:g} dedup x "
            f"{profile.compression_factor:g} "
            "compression)",
        ),
        line(
            "s3.standard.storage",
            "Vault storage: changes kept for retention",
            flow.retained_changes_stored_gb,
            f"{workload.retention_days} days x {flow.new_stored_gb_per_day:.3g} GB/day",
        ),
        line(
            "s3.standard.storage",
            "Vault storage: dead chunks awaiting compaction",
            flow.pack_slack_gb,
            f"packs rewritten below {a.compaction_live_threshold:.0%} live",
        ),
        line(
            "s3.standard.storage",
            "Vault storage: noncurrent pack versions",
            flow.noncurrent_gb,
            f"lifecycle rule keeps them {a.noncurrent_days:g} days",
        ),
    ]

    lines += manifest_lines(line, workload, flow, ops)

    # The dedup index is held in S3: every job and the daily compaction read all of its blobs; compaction
    # writes them merged. No request per chunk (engine/index.py).
    index_gb = ops.index_gb(flow.unique_chunk_gb)
    index_blobs = ops.index_blobs(flow.unique_chunk_gb)
    compactions = 1.0 if flow.jobs_per_day else 0.0  # one a day per vault, with the Catalog's expiry
    puts = month * (
        (flow.new_stored_gb_per_day + flow.rewritten_gb_per_day) * ops.packs_per_stored_gb
        + flow.jobs_per_day * ops.s3_puts_per_job
        + compactions * (ops.s3_puts_per_compaction + index_blobs)
    )
    restored_stored = restore / profile.compression_factor
    gets = (
        month
        * (
            flow.new_stored_gb_per_day / (1 - a.compaction_live_threshold) * ops.packs_per_stored_gb
            + flow.jobs_per_day * (ops.s3_gets_per_job + index_blobs)
            + compactions * (ops.s3_gets_per_compaction + index_blobs
                             + ops.s3_gets_per_manifest * flow.jobs_per_day * workload.retention_days)
        )
        + restored_stored * ops.restore_gets_per_stored_gb
    )
    lines += [
        line(
            "s3.standard.storage",
            "Dedup index blobs",
            index_gb,
            f"{ops.index_entry_bytes:g} bytes per chunk ({ops.chunks_per_gb:g} chunks/GB), in S3",
        ),
        line(
            "s3.put_requests",
            "S3 PUT requests (packs, index blobs, manifests)",
            puts / 1e3,
            f"chunks packed into {a.pack_mib:g} MiB objects",
        ),
        line("s3.get_requests", "S3 GET requests (index blobs, compaction, restores)", gets / 1e3),
        line(
            "kms.requests",
            "KMS requests (SSE-KMS on S3 objects)",
            (puts + gets) * (0.01 if bucket_key else 1.0) / 1e4,
            "S3 bucket key on" if bucket_key else "one KMS call per object request (no bucket key)",
        ),
        line(
            "dynamodb.write_request_units",
            "Vault state table (compaction lock, GC generation)",
            month * compactions * ops.table_requests_per_compaction / 1e6,
            "small state only: no item per chunk",
        ),
    ]

    throughput_gb_h = a.backup_throughput_mib_s * 3600 / 1024
    restore_jobs = math.ceil(restore / a.volume_gb) if restore > 0 else 0
    job_hours = (
        month
        * (
            flow.jobs_per_day * a.job_overhead_minutes / 60
            + (flow.changed_block_gb_per_day + 2 * flow.rewritten_gb_per_day) / throughput_gb_h
        )
        + restore_jobs * a.job_overhead_minutes / 60
        + restore / throughput_gb_h
    )
    lines += compute_lines(line, job_hours, a, spot=spot, jobs="backup, compaction, restore jobs")

    blocks_per_gb = ops.blocks_per_gb
    lines += [
        line(
            "ebs.direct.get_block",
            "EBS direct APIs: changed blocks read",
            month * flow.changed_block_gb_per_day * blocks_per_gb / 1e3,
        ),
        line(
            "ebs.direct.list",
            "EBS direct APIs: ListChangedBlocks",
            month
            * flow.jobs_per_day
            * max(
                1.0,
                math.ceil(
                    flow.changed_block_gb_per_day * blocks_per_gb / max(flow.jobs_per_day, 1)
                    / ops.blocks_per_list_page
                ),
            )
            / 1e3,
        ),
    ]
    if restore:
        lines.append(
            line(
                "ebs.direct.put_block",
                "EBS direct APIs: blocks written by restores",
                restore * blocks_per_gb / 1e3,
            )
        )
    if a.keep_parent_snapshot:
        lines.append(
            line(
                "ebs.snapshot.standard",
                "Change-tracking snapshot (latest per volume)",
                workload.protected_gb * (1 + changed_block_share(workload, profile, a)),
                "kept until the next backup so ListChangedBlocks can diff against it",
            )
        )
    s3_gb = (
        month * (flow.new_stored_gb_per_day * (1 + 1 / (1 - a.compaction_live_threshold))
                 + flow.rewritten_gb_per_day + (flow.jobs_per_day + 2 * compactions) * index_gb)
        + restored_stored
    )
    lines += network_lines(
        line,
        network,
        ebs_gb=month * flow.changed_block_gb_per_day + restore,
        s3_gb=s3_gb,
        task_hours=job_hours,
    )

    invocations = month * flow.jobs_per_day * a.invocations_per_job
    log_gb = (
        invocations * a.log_kb_per_invocation / KIB_PER_GB
        + month * flow.jobs_per_day * a.log_kb_per_job / KIB_PER_GB
    )
    lines += [
        line("lambda.requests", "Lambda invocations (commands, job events)", invocations / 1e6),
        line("lambda.duration", "Lambda duration", invocations * a.invocation_gb_seconds),
        line(
            "sqs.requests",
            "SQS command messages (send, receive, delete)",
            3 * month * flow.jobs_per_day / 1e6,
        ),
        line("logs.ingestion", "CloudWatch Logs ingestion", log_gb),
        line(
            "logs.storage",
            "CloudWatch Logs storage",
            log_gb * a.log_retention_days / month,
            f"kept {a.log_retention_days:g} days",
        ),
    ]
    return [x for x in lines if x.quantity > 0]


def snapshot_quantities(
    workload: Workload, profile: DataProfile, assumptions: Assumptions
) -> tuple[float, float]:
    """GB a chain of daily EBS snapshots keeps: the first full copy of the used blocks, and the changed
    512 KiB blocks of each retained day (standard tier: incremental, not compressed, not deduplicated)."""
    changed = changed_block_share(workload, profile, assumptions)
    return workload.protected_gb, workload.protected_gb * changed * workload.retention_days


def ebs_snapshot_lines(
    workload: Workload,
    profile: DataProfile,
    region: str,
    prices: PriceTable,
    assumptions: Assumptions,
    component: str = "",
) -> list[Line]:
    full, changes = snapshot_quantities(workload, profile, assumptions)
    return [
        priced(
            prices, "ebs.snapshot.standard", region, "EBS snapshots: first full snapshot", full, "usage",
            component=component,
        ),
        priced(
            prices,
            "ebs.snapshot.standard",
            region,
            "EBS snapshots: changed blocks kept for retention",
            changes,
            "usage",
            f"{workload.retention_days} daily snapshots",
            component,
        ),
    ]


def aws_backup_lines(
    workload: Workload,
    profile: DataProfile,
    region: str,
    prices: PriceTable,
    assumptions: Assumptions,
    component: str = "",
) -> list[Line]:
    full, changes = snapshot_quantities(workload, profile, assumptions)
    lines = [
        priced(
            prices, "backup.ebs.warm", region, "AWS Backup EBS: first full backup", full, "usage",
            component=component,
        ),
        priced(
            prices,
            "backup.ebs.warm",
            region,
            "AWS Backup EBS: changed blocks kept for retention",
            changes,
            "usage",
            f"{workload.retention_days} daily recovery points",
            component,
        ),
    ]
    if workload.restore_gb_per_month:
        lines.append(
            priced(
                prices,
                "backup.ebs.restore",
                region,
                "AWS Backup EBS restores",
                workload.restore_gb_per_month,
                "usage",
                component=component,
            )
        )
    return lines


def first_backup_lines(
    workload: Workload,
    profile: DataProfile,
    region: str,
    prices: PriceTable,
    assumptions: Assumptions,
    *,
    spot: bool = False,
    network: Network = Network(),
    component: str = "",
) -> list[Line]:
    """What month 1 adds once: the first full backup reads every used block and packs the first full copy
    (its storage, and its index blob's, are already in the steady month)."""
    a = assumptions
    protected = workload.protected_gb
    if protected <= 0:
        return []

    def line(key: str, resource: str, quantity: float, note: str = "") -> Line:
        return priced(prices, key, region, f"First full backup: {resource}", quantity, "usage", note, component)

    ops = operation_counts(a)
    stored = protected / profile.reduction
    puts = stored * ops.packs_per_stored_gb + math.ceil(protected / a.volume_gb) * ops.s3_puts_per_job
    throughput_gb_h = a.backup_throughput_mib_s * 3600 / 1024
    job_hours = protected / throughput_gb_h
    lines = [
        line("ebs.direct.get_block", "EBS direct APIs: every used block read", protected * ops.blocks_per_gb / 1e3),
        line("s3.put_requests", "S3 PUT requests", puts / 1e3),
        *compute_lines(line, job_hours, a, spot=spot, jobs="the full read"),
    ]
    lines += network_lines(
        line,
        network,
        ebs_gb=protected,
        s3_gb=stored,
        task_hours=job_hours,
    )
    return [x for x in lines if x.quantity > 0]

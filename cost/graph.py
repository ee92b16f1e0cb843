"""What the planned resource graph says about cost: the idle (fixed) lines, and the facts the usage model
needs.

Takes graph records (dicts of docs/CONTRACT.md: type, region, inputs in camelCase) from any source: the
offline plan, a real preview, or a test fixture. Resources that bill only by use (an empty bucket, an
on-demand table, a log group nobody writes to, a rule nothing matches) add nothing at rest; they are
counted so the report can say they were seen.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cost.assumptions import Assumptions
from cost.errors import CostInputError
from cost.lines import Line, priced
from cost.prices import PriceTable

KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
SQS_QUEUE = "aws:sqs/queue:Queue"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
SECRET = "aws:secretsmanager/secret:Secret"
JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition"
COMPUTE_ENVIRONMENT = "aws:batch/computeEnvironment:ComputeEnvironment"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TABLE = "aws:dynamodb/table:Table"

PRICED_BY_USE = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    TABLE,
    LOG_GROUP,
    SQS_QUEUE,
    "aws:sns/topic:Topic",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:lambda/function:Function",
    "aws:batch/jobQueue:JobQueue",
    COMPUTE_ENVIRONMENT,
    JOB_DEFINITION,
    "aws:ecs/cluster:Cluster",
    "aws:ecs/taskDefinition:TaskDefinition",
)


@dataclass(frozen=True)
class GraphFacts:
    """Settings in the graph that change usage prices; None where the graph does not say."""

    regions: tuple[str, ...] = ()
    vault_regions: tuple[str, ...] = ()  # one entry per vault (a Batch backup job definition), in graph order
    compute_type: str | None = None  # FARGATE or FARGATE_SPOT
    job_vcpu: float | None = None
    job_memory_gb: float | None = None
    noncurrent_days: float | None = None
    bucket_key_enabled: bool | None = None
    log_retention_days: float | None = None
    pitr_enabled: bool | None = None
    priced_by_use: dict[str, int] = field(default_factory=dict)


def _region(record: Mapping[str, Any], prices: PriceTable) -> str:
    region = record.get("region") or (record.get("inputs") or {}).get("region")
    if not region:
        raise CostInputError(
            "region",
            None,
            f"is missing on {record.get('type')} {record.get('name')!r}: "
            "give each resource a regional provider",
        )
    if region not in prices.regions:
        raise CostInputError(
            "region",
            region,
            f"of {record.get('type')} {record.get('name')!r} is not a priced "
            f"region; use one of: {', '.join(prices.regions)}",
        )
    return region


def _custom(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        r
        for r in records
        if r.get("custom", True)
        and ":" in str(r.get("type", ""))
        and not str(r.get("type", "")).startswith("pulumi:")
    ]


def _alarm_metrics(inputs: Mapping[str, Any]) -> int:
    queries = inputs.get("metricQueries") or []
    # A metric-math alarm bills per metric it reads, not per expression.
    return max(1, sum(1 for q in queries if q.get("metric") is not None)) if queries else 1


def _polls_sqs(record: Mapping[str, Any], types_by_urn: Mapping[str, str]) -> bool:
    inputs = record.get("inputs") or {}
    if inputs.get("enabled") is False:
        return False
    if ":sqs:" in str(inputs.get("eventSourceArn", "")):
        return True
    sources = (record.get("property_dependencies") or {}).get("eventSourceArn", [])
    return any(types_by_urn.get(urn) == SQS_QUEUE for urn in sources)


def idle_lines(
    records: Iterable[Mapping[str, Any]], prices: PriceTable, assumptions: Assumptions
) -> list[Line]:
    """What the graph bills per month (or per poll) with no backup activity, a line per kind and region."""
    records = _custom(records)
    types_by_urn = {r.get("urn", ""): r.get("type", "") for r in records}
    counts: dict[tuple[str, str, str], float] = defaultdict(
        float
    )  # (resource, price key, region) -> quantity
    hours = assumptions.hours_per_month
    polls_per_month = (
        assumptions.sqs_pollers * 86400 / assumptions.sqs_poll_wait_s * assumptions.days_per_month
    )
    for record in records:
        kind, inputs = record.get("type"), record.get("inputs") or {}
        if kind in (KMS_KEY, KMS_REPLICA_KEY):
            counts[("KMS keys", "kms.key", _region(record, prices))] += 1
        elif kind == METRIC_ALARM:
            counts[("CloudWatch alarms", "cloudwatch.alarm", _region(record, prices))] += _alarm_metrics(
                inputs
            )
        elif kind == EVENT_SOURCE_MAPPING and _polls_sqs(record, types_by_urn):
            counts[
                (
                    "SQS long polls of an idle queue (Lambda event source)",
                    "sqs.requests",
                    _region(record, prices),
                )
            ] += polls_per_month / 1e6
        elif kind == VPC_ENDPOINT and inputs.get("vpcEndpointType") in ("Interface", "GatewayLoadBalancer"):
            azs = max(1, len(inputs.get("subnetIds") or []))  # one subnet per AZ
            counts[("Interface VPC endpoints (per AZ)", "vpce.interface.hours", _region(record, prices))] += (
                azs * hours
            )
        elif kind == NAT_GATEWAY:
            counts[("NAT gateways", "vpc.nat_gateway.hours", _region(record, prices))] += hours
        elif kind == SECRET:
            counts[("Secrets Manager secrets", "secretsmanager.secret", _region(record, prices))] += 1
    for record in records:
        if record.get("region"):
            _region(record, prices)  # an unpriced region is an error even on a resource that bills by use
    return [
        priced(prices, key, region, resource, quantity, "fixed")
        for (resource, key, region), quantity in counts.items()
    ]


def _job_size(inputs: Mapping[str, Any]) -> tuple[float | None, float | None]:
    props = inputs.get("containerProperties")
    if isinstance(props, str):
        try:
            props = json.loads(props)
        except json.JSONDecodeError:
            return None, None
    if not isinstance(props, Mapping):
        return None, None
    vcpu = memory = None
    for requirement in props.get("resourceRequirements") or []:
        if requirement.get("type") == "VCPU":
            vcpu = float(requirement["value"])
        elif requirement.get("type") == "MEMORY":
            memory = float(requirement["value"]) / 1024  # MiB -> GB as Fargate bills it
    return vcpu, memory


def _is_backup_job(record: Mapping[str, Any]) -> bool:
    name = str(record.get("name", "")) + " " + str((record.get("inputs") or {}).get("name", ""))
    return "backup" in name


def facts(records: Iterable[Mapping[str, Any]], prices: PriceTable) -> GraphFacts:
    records = _custom(records)
    regions: list[str] = []
    for record in records:
        if record.get("region") and record["region"] not in regions:
            regions.append(_region(record, prices))
    jobs = [r for r in records if r.get("type") == JOB_DEFINITION]
    backup_jobs = [r for r in jobs if _is_backup_job(r)] or jobs
    vcpu = memory = None
    for job in backup_jobs:
        vcpu, memory = _job_size(job.get("inputs") or {})
        if vcpu:
            break
    compute_types = {
        ((r.get("inputs") or {}).get("computeResources") or {}).get("type")
        for r in records
        if r.get("type") == COMPUTE_ENVIRONMENT
    } - {None}
    noncurrent = [
        float(rule["noncurrentVersionExpiration"]["noncurrentDays"])
        for r in records
        if r.get("type") == LIFECYCLE
        for rule in (r.get("inputs") or {}).get("rules") or []
        if (rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays") is not None
    ]
    bucket_keys = [
        bool(rule.get("bucketKeyEnabled"))
        for r in records
        if r.get("type") == ENCRYPTION
        for rule in (r.get("inputs") or {}).get("rules") or []
    ]
    retention = [
        float((r.get("inputs") or {})["retentionInDays"])
        for r in records
        if r.get("type") == LOG_GROUP and (r.get("inputs") or {}).get("retentionInDays")
    ]
    pitr = [
        bool(((r.get("inputs") or {}).get("pointInTimeRecovery") or {}).get("enabled"))
        for r in records
        if r.get("type") == TABLE
    ]
    return GraphFacts(
        regions=tuple(regions),
        vault_regions=tuple(_region(r, prices) for r in backup_jobs if r in jobs and _is_backup_job(r)),
        # Spot anywhere means the backup jobs may run on Spot; price the dearer on-demand unless all are Spot.
        compute_type=("FARGATE_SPOT" if compute_types == {"FARGATE_SPOT"} else "FARGATE")
        if compute_types
        else None,
        job_vcpu=vcpu,
        job_memory_gb=memory,
        noncurrent_days=max(noncurrent) if noncurrent else None,
        bucket_key_enabled=all(bucket_keys) if bucket_keys else None,
        log_retention_days=max(retention) if retention else None,
        pitr_enabled=any(pitr) if pitr else None,
        priced_by_use=dict(Counter(r["type"] for r in records if r.get("type") in PRICED_BY_USE)),
    )

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


VAULT_COMPONENT = "elastio:vault:Vault"
CONNECTOR_COMPONENT = "elastio:connector:CloudConnector"
ACCOUNT_COMPONENT = "elastio:account:AccountBootstrap"


@dataclass(frozen=True)
class VaultFacts:
    """One vault as the graph plans it: where it is, how its jobs run and how their bytes leave the VPC."""

    component: str  # "us-east-1/vault:primary": the path lines and totals are grouped by
    region: str
    name: str
    compute_type: str | None = None  # FARGATE or FARGATE_SPOT
    job_vcpu: float | None = None
    job_memory_gb: float | None = None
    job_ephemeral_gb: float | None = None
    noncurrent_days: float | None = None
    bucket_key_enabled: bool | None = None
    pitr_enabled: bool | None = None
    assign_public_ip: bool = False
    # How the engine's bytes reach AWS APIs from the tasks' subnets (see `network_path`).
    path: str = "nat"
    s3_gateway: bool = False
    dynamodb_gateway: bool = False


# AWS offers gateway endpoints for S3 and DynamoDB only; every other service is an interface endpoint
# (Amazon VPC User Guide, "Gateway endpoints").
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")


def existing_endpoints(config: Any) -> dict[str, tuple[str, ...]]:
    """region -> the endpoint services its VPC already has (`regions[].network.existingEndpoints`): the
    program creates none of them, so the graph cannot show them. `config` is the validated stack config,
    duck-typed."""
    return {
        region.region: tuple(getattr(region.network, "existing_endpoints", None) or ())
        for region in getattr(config, "regions", None) or ()
    }


@dataclass(frozen=True)
class GraphFacts:
    """Settings in the graph that change usage prices; None where the graph does not say."""

    regions: tuple[str, ...] = ()
    existing_endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)  # from the config
    home_region: str | None = None  # the account bootstrap's region (where the stack-wide usage goes)
    vaults: tuple[VaultFacts, ...] = ()
    log_retention_days: float | None = None
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


def components(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """URN -> component path of every record: `us-east-1/vault:primary`, `us-east-1/connector`, `account`,
    or the bare region for a resource outside any Elastio component (a hand-made graph)."""
    records = list(records)
    by_urn = {r.get("urn"): r for r in records if r.get("urn")}

    def own(record: Mapping[str, Any]) -> str | None:
        kind, region = record.get("type"), record.get("region") or ""
        if kind == ACCOUNT_COMPONENT:
            return "account"
        if kind == CONNECTOR_COMPONENT:
            return f"{region}/connector"
        if kind == VAULT_COMPONENT:
            return f"{region}/vault:{_vault_name(record, by_urn)}"
        return None

    paths: dict[str, str] = {}
    for record in records:
        node, path = record, None
        for _ in range(len(records) + 1):  # parents form a tree; the bound only guards a malformed graph
            path = own(node)
            parent = by_urn.get(node.get("parent"))
            if path or parent is None:
                break
            node = parent
        paths[record.get("urn", "")] = path or str(record.get("region") or "stack")
    return paths


def _vault_name(vault: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    """The configured vault name: the component is named `<connector name>-<vault name>`."""
    name = str(vault.get("name", ""))
    connector = by_urn.get(vault.get("parent"))
    prefix = f"{connector.get('name')}-" if connector else ""
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


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


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _received_by_another_principal(inputs: Mapping[str, Any]) -> bool:
    """A queue whose policy lets a named AWS principal receive: the tenant polls it from outside the stack.

    The tenant's ElastioTenant role is a role of the customer's account, so its ReceiveMessage calls are
    requests of that account, billed there like the Lambda event source's."""
    policy = _json_value(inputs.get("policy"))
    if not isinstance(policy, Mapping):
        return False
    for statement in policy.get("Statement") or []:
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        principal = statement.get("Principal")
        if (
            statement.get("Effect") == "Allow"
            and isinstance(principal, Mapping)
            and principal.get("AWS")
            and any(str(a).lower() in ("sqs:receivemessage", "sqs:*") for a in actions)
        ):
            return True
    return False


def kms_rotations_by_year(inputs: Mapping[str, Any], year: int) -> int:
    """Extra key materials AWS bills for a key in `year` (1-based): one per automatic rotation completed by
    the start of that year, at most two.

    AWS KMS pricing (since May 2024): each of the first and second rotations adds $1/month; later rotations
    add nothing (https://aws.amazon.com/kms/pricing/). Rotation runs every `rotationPeriodInDays` (default
    365, EnableKeyRotation API reference)."""
    if not inputs.get("enableKeyRotation"):
        return 0
    period = float(inputs.get("rotationPeriodInDays") or 365)
    return min(2, int(365 * (year - 1) // period))


def idle_lines(
    records: Iterable[Mapping[str, Any]], prices: PriceTable, assumptions: Assumptions
) -> list[Line]:
    """What the graph bills per month with no backup activity: a line per resource (an interface endpoint a
    line per AZ), each with its component path, in the resource's region."""
    all_records = list(records)
    paths = components(all_records)
    records = _custom(all_records)
    types_by_urn = {r.get("urn", ""): r.get("type", "") for r in records}
    hours = assumptions.hours_per_month
    month_s = 86400 * assumptions.days_per_month
    lines: list[Line] = []

    def add(record: Mapping[str, Any], key: str, resource: str, quantity: float, note: str = "") -> None:
        region = _region(record, prices)
        component = paths.get(record.get("urn", ""), region)
        lines.append(priced(prices, key, region, resource, quantity, "fixed", note, component))

    for record in records:
        kind, inputs, name = record.get("type"), record.get("inputs") or {}, record.get("name")
        if kind in (KMS_KEY, KMS_REPLICA_KEY):
            rotating = bool(inputs.get("enableKeyRotation"))
            note = "rotation on: +$1/month after the 1st and the 2nd rotation" if rotating else ""
            add(record, "kms.key", f"KMS key {name}", 1, note)
        elif kind == METRIC_ALARM:
            add(record, "cloudwatch.alarm", f"CloudWatch alarm {name}", _alarm_metrics(inputs))
        elif kind == EVENT_SOURCE_MAPPING and _polls_sqs(record, types_by_urn):
            polls = assumptions.sqs_pollers * month_s / assumptions.sqs_poll_wait_s
            add(
                record,
                "sqs.requests",
                f"SQS long polls by {name} (Lambda event source, idle)",
                polls / 1e6,
                f"{assumptions.sqs_pollers:g} pollers x one {assumptions.sqs_poll_wait_s:g} s poll",
            )
        elif kind == SQS_QUEUE and _received_by_another_principal(inputs):
            polls = assumptions.tenant_pollers * month_s / assumptions.tenant_poll_wait_s
            add(
                record,
                "sqs.requests",
                f"SQS long polls of {name} by the tenant",
                polls / 1e6,
                f"assumed {assumptions.tenant_pollers:g} poller x one {assumptions.tenant_poll_wait_s:g} s poll; "
                "ElastioTenant is a role of this account, so its requests bill here",
            )
        elif kind == VPC_ENDPOINT and inputs.get("vpcEndpointType") in ("Interface", "GatewayLoadBalancer"):
            # Billed per endpoint per AZ (https://aws.amazon.com/privatelink/pricing/). Subnet AZs are not
            # known offline: each distinct subnet is assumed to be in its own AZ.
            subnets = sorted(set(inputs.get("subnetIds") or [])) or ["(no subnet given)"]
            for subnet in subnets:
                add(
                    record,
                    "vpce.interface.hours",
                    f"VPC endpoint {name}, AZ of {subnet}",
                    hours,
                    "one AZ per distinct subnet (assumed)",
                )
        elif kind == NAT_GATEWAY:
            add(record, "vpc.nat_gateway.hours", f"NAT gateway {name}", hours)
        elif kind == SECRET:
            add(record, "secretsmanager.secret", f"Secrets Manager secret {name}", 1)
    for record in records:
        if record.get("region"):
            _region(record, prices)  # an unpriced region is an error even on a resource that bills by use
    return lines


def rotation_lines(
    records: Iterable[Mapping[str, Any]], prices: PriceTable, year: int
) -> list[Line]:
    """The key materials rotation adds in `year`: a line per rotating key (none in year 1)."""
    all_records = list(records)
    paths = components(all_records)
    lines = []
    for record in _custom(all_records):
        if record.get("type") not in (KMS_KEY, KMS_REPLICA_KEY):
            continue
        extra = kms_rotations_by_year(record.get("inputs") or {}, year)
        if extra:
            region = _region(record, prices)
            lines.append(
                priced(
                    prices,
                    "kms.key",
                    region,
                    f"KMS key {record.get('name')}: rotated key material (year {year})",
                    extra,
                    "fixed",
                    f"{extra} rotation(s) by the start of year {year}",
                    paths.get(record.get("urn", ""), region),
                )
            )
    return lines


def _job_size(inputs: Mapping[str, Any]) -> tuple[float | None, float | None, float | None]:
    """vCPU, memory (GB) and ephemeral storage (GB) of a Batch job definition's container."""
    props = _json_value(inputs.get("containerProperties"))
    if not isinstance(props, Mapping):
        return None, None, None
    vcpu = memory = None
    for requirement in props.get("resourceRequirements") or []:
        if requirement.get("type") == "VCPU":
            vcpu = float(requirement["value"])
        elif requirement.get("type") == "MEMORY":
            memory = float(requirement["value"]) / 1024  # MiB -> GB as Fargate bills it
    # Batch containerProperties.ephemeralStorage.sizeInGiB; Fargate bills it per GB-hour like memory.
    storage = (props.get("ephemeralStorage") or {}).get("sizeInGiB")
    return vcpu, memory, float(storage) if storage is not None else None


def _assigns_public_ip(inputs: Mapping[str, Any]) -> bool:
    props = _json_value(inputs.get("containerProperties"))
    if not isinstance(props, Mapping):
        return False
    return (props.get("networkConfiguration") or {}).get("assignPublicIp") == "ENABLED"


def _is_backup_job(record: Mapping[str, Any]) -> bool:
    name = str(record.get("name", "")) + " " + str((record.get("inputs") or {}).get("name", ""))
    return "backup" in name


def _endpoint_services(records: list[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(region, endpoint type) -> the service suffixes (`ebs`, `s3`) of the region's VPC endpoints."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records:
        if record.get("type") == VPC_ENDPOINT:
            inputs = record.get("inputs") or {}
            service = str(inputs.get("serviceName", ""))
            region = str(record.get("region") or "")
            suffix = service.split(f".{region}.", 1)[-1]
            found[(region, str(inputs.get("vpcEndpointType", "Gateway")))].add(suffix)
    return found


def network_path(assign_public_ip: bool, interface_services: set[str]) -> str:
    """How a vault task's API traffic leaves its subnet.

    `public`: a public IP and the internet gateway (no per-GB charge to same-region AWS APIs, an IPv4
    address per running task); `endpoint`: interface endpoints, $0.01/GB processed; `nat`: private subnets
    without PrivateLink reach AWS through the customer's NAT gateway, $0.045/GB processed in us-east-1
    (https://aws.amazon.com/vpc/pricing/). S3 and DynamoDB take their gateway endpoints when there are any."""
    if assign_public_ip:
        return "public"
    if "ebs" in interface_services:
        return "endpoint"
    return "nat"


def facts(
    records: Iterable[Mapping[str, Any]],
    prices: PriceTable,
    existing: Mapping[str, Iterable[str]] | None = None,
) -> GraphFacts:
    """What the graph says, plus the endpoints `existing` says each region's VPC already has."""
    all_records = list(records)
    paths = components(all_records)
    records = _custom(all_records)
    regions: list[str] = []
    for record in records:
        if record.get("region") and record["region"] not in regions:
            regions.append(_region(record, prices))
    endpoints = _endpoint_services(records)
    for region, services in (existing or {}).items():
        for service in services:
            kind = "Gateway" if service in GATEWAY_ENDPOINT_SERVICES else "Interface"
            endpoints[(region, kind)].add(service)
    by_component: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_component[paths.get(record.get("urn", ""), "")].append(record)

    # A vault is a vault component; a graph without components (hand-made) has one per backup job definition.
    vault_components = [r for r in all_records if r.get("type") == VAULT_COMPONENT]
    if vault_components:
        vaults = [
            (paths[r["urn"]], _region(r, prices), paths[r["urn"]].split("vault:", 1)[-1]) for r in vault_components
        ]
        members = {path: by_component[path] for path, _, _ in vaults}
    else:
        jobs = [r for r in records if r.get("type") == JOB_DEFINITION and _is_backup_job(r)]
        vaults = []
        members = {}
        for job in jobs:
            region = _region(job, prices)
            name = str(job.get("name", "")).removesuffix("-backup")
            path = f"{region}/vault:{name}"
            vaults.append((path, region, name))
            members[path] = [r for r in records if r.get("region") == region]
    vault_facts = tuple(
        _vault_facts(path, region, name, members[path], endpoints) for path, region, name in vaults
    )
    retention = [
        float((r.get("inputs") or {})["retentionInDays"])
        for r in records
        if r.get("type") == LOG_GROUP and (r.get("inputs") or {}).get("retentionInDays")
    ]
    account = next((r for r in all_records if r.get("type") == ACCOUNT_COMPONENT and r.get("region")), None)
    return GraphFacts(
        regions=tuple(regions),
        existing_endpoints={region: tuple(services) for region, services in (existing or {}).items() if services},
        home_region=account.get("region") if account else None,
        vaults=vault_facts,
        log_retention_days=max(retention) if retention else None,
        priced_by_use=dict(Counter(r["type"] for r in records if r.get("type") in PRICED_BY_USE)),
    )


def _vault_facts(
    path: str,
    region: str,
    name: str,
    records: list[Mapping[str, Any]],
    endpoints: Mapping[tuple[str, str], set[str]],
) -> VaultFacts:
    jobs = [r for r in records if r.get("type") == JOB_DEFINITION]
    backup_jobs = [r for r in jobs if _is_backup_job(r)] or jobs
    vcpu = memory = None
    for job in backup_jobs:
        vcpu, memory, _ = _job_size(job.get("inputs") or {})
        if vcpu:
            break
    # Every job hour is priced at one size: the backup job's vCPU and memory (the largest of the program's job
    # definitions), and the largest ephemeral storage any of the vault's job definitions asks for (the backup job's).
    storages = [size for job in jobs if (size := _job_size(job.get("inputs") or {})[2]) is not None]
    storage = max(storages) if storages else None
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
    pitr = [
        bool(((r.get("inputs") or {}).get("pointInTimeRecovery") or {}).get("enabled"))
        for r in records
        if r.get("type") == TABLE
    ]
    public = any(_assigns_public_ip(job.get("inputs") or {}) for job in backup_jobs)
    gateways = endpoints.get((region, "Gateway"), set())
    return VaultFacts(
        component=path,
        region=region,
        name=name,
        # Spot anywhere means the backup jobs may run on Spot; price the dearer on-demand unless all are Spot.
        compute_type=("FARGATE_SPOT" if compute_types == {"FARGATE_SPOT"} else "FARGATE")
        if compute_types
        else None,
        job_vcpu=vcpu,
        job_memory_gb=memory,
        job_ephemeral_gb=storage,
        noncurrent_days=max(noncurrent) if noncurrent else None,
        bucket_key_enabled=all(bucket_keys) if bucket_keys else None,
        pitr_enabled=any(pitr) if pitr else None,
        assign_public_ip=public,
        path=network_path(public, endpoints.get((region, "Interface"), set())),
        s3_gateway="s3" in gateways,
        dynamodb_gateway="dynamodb" in gateways,
    )

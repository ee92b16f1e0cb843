"""Hand-made graph records shaped like the planned Elastio graph (pulumi-aws v7 types, camelCase inputs)."""

from __future__ import annotations

import json
from typing import Any

from elastio_pulumi.constants import GATEWAY_SERVICES, INTERFACE_SERVICES

# The endpoints the program plans (elastio_pulumi.networking); the hand-kept list had drifted from them (sqs and
# batch, which the program never creates, and no ec2). tests/cost/test_cost_idle.py compares these records with
# the endpoints of the planned example stack.
PRIVATE_LINK_SERVICES = tuple(INTERFACE_SERVICES)


def _record(
    kind: str,
    name: str,
    region: str,
    inputs: dict[str, Any] | None = None,
    deps: dict[str, list[str]] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:example::elastio::{kind}::{name}",
        "type": kind,
        "name": name,
        "parent": parent,
        "region": region,
        "inputs": inputs or {},
        "protect": False,
        "retain_on_delete": False,
        "property_dependencies": deps or {},
    }


def tenant_receives(region: str) -> str:
    """The tenant events queue's policy: the tenant role (outside the stack's functions) receives."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TenantReceives",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:role/ElastioTenant"},
                    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                    "Resource": f"arn:aws:sqs:{region}:123456789012:elastio-tenant-events",
                }
            ],
        }
    )


def _component(kind: str, name: str, region: str, parent: str | None = None) -> dict[str, Any]:
    return {**_record(kind, name, region, parent=parent), "custom": False}


def _parented(records: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    """The records as children of the component `parent` (the real program's tree)."""
    return [parent] + [{**r, "parent": r["parent"] or parent["urn"]} for r in records]


def _vault(region: str, name: str, compute_type: str, public_ip: bool = True) -> list[dict[str, Any]]:
    job = json.dumps(
        {
            "image": "worker:1",
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
            "networkConfiguration": {"assignPublicIp": "ENABLED" if public_ip else "DISABLED"},
        }
    )
    records = [
        _record("aws:kms/key:Key", f"{region}-{name}-key", region, {"enableKeyRotation": True}),
        _record("aws:s3/bucket:Bucket", f"{region}-{name}-bucket", region, {}),
        _record(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            f"{region}-{name}-lifecycle",
            region,
            {
                "rules": [
                    {
                        "id": "noncurrent",
                        "status": "Enabled",
                        "noncurrentVersionExpiration": {"noncurrentDays": 7},
                    }
                ]
            },
        ),
        _record(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{region}-{name}-sse",
            region,
            {"rules": [{"bucketKeyEnabled": True}]},
        ),
        _record(
            "aws:dynamodb/table:Table",
            f"{region}-{name}-index",
            region,
            {"billingMode": "PAY_PER_REQUEST", "pointInTimeRecovery": {"enabled": True}},
        ),
        _record(
            "aws:batch/computeEnvironment:ComputeEnvironment",
            f"{region}-{name}-compute",
            region,
            {"type": "MANAGED", "computeResources": {"type": compute_type, "maxVcpus": 16}},
        ),
        _record("aws:batch/jobQueue:JobQueue", f"{region}-{name}-queue", region, {}),
        _record("aws:ecs/cluster:Cluster", f"{region}-{name}-cluster", region, {}),
    ]
    records += [
        _record(
            "aws:batch/jobDefinition:JobDefinition",
            f"{region}-{name}-{kind}",
            region,
            {"type": "container", "platformCapabilities": ["FARGATE"], "containerProperties": job},
        )
        for kind in ("backup", "restore", "scan", "compact")
    ]
    return records


def region_records(
    region: str,
    vaults: int = 1,
    private_link: bool = False,
    subnets: int = 2,
    compute_type: str = "FARGATE",
    public_ip: bool = True,
    route_tables: bool = False,
) -> list[dict[str, Any]]:
    """One regional Cloud Connector with `vaults` vaults; their tasks get public IPs unless `public_ip` is
    False (private subnets: PrivateLink or, without it, a NAT)."""
    queue_urn = f"urn:pulumi:example::elastio::aws:sqs/queue:Queue::{region}-commands"
    records = [
        _record("aws:kms/key:Key", f"{region}-connector-key", region, {"enableKeyRotation": True}),
        _record("aws:sqs/queue:Queue", f"{region}-commands", region, {}),
        _record("aws:sqs/queue:Queue", f"{region}-commands-dlq", region, {}),
        _record("aws:sqs/queue:Queue", f"{region}-failed-invocations", region, {}),
        _record("aws:sqs/queue:Queue", f"{region}-tenant-events", region, {"policy": tenant_receives(region)}),
        _record(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            f"{region}-router-commands",
            region,
            {
                "eventSourceArn": f"arn:aws:sqs:{region}:123456789012:elastio-commands",
                "functionResponseTypes": ["ReportBatchItemFailures"],
                "scalingConfig": {"maximumConcurrency": 2},
            },
            {"eventSourceArn": [queue_urn]},
        ),
        _record("aws:sns/topic:Topic", f"{region}-alerts", region, {}),
    ]
    records += [
        _record(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            f"{region}-{dlq}-alarm",
            region,
            {"metricName": "ApproximateNumberOfMessagesVisible", "namespace": "AWS/SQS", "period": 300},
        )
        for dlq in ("commands-dlq", "failed-invocations")
    ]
    records += [
        _record(
            "aws:dynamodb/table:Table",
            f"{region}-{table}",
            region,
            {"billingMode": "PAY_PER_REQUEST", "pointInTimeRecovery": {"enabled": True}},
        )
        for table in ("vaults", "recovery-points", "jobs", "assets", "commands")
    ]
    for fn in (
        "router",
        "catalog",
        "provisioner",
        "job-status",
        "background-jobs",
        "integrity-checks",
        "inventory",
    ):
        records.append(_record("aws:lambda/function:Function", f"{region}-{fn}", region, {"memorySize": 256}))
        records.append(
            _record(
                "aws:cloudwatch/logGroup:LogGroup", f"{region}-{fn}-logs", region, {"retentionInDays": 30}
            )
        )
    records += [
        _record("aws:cloudwatch/eventRule:EventRule", f"{region}-{rule}", region, {})
        for rule in ("ec2-state", "ebs-volume", "ebs-snapshot", "batch-state")
    ]
    if private_link:
        subnet_ids = [f"subnet-{i:017x}" for i in range(subnets)]
        records += [
            _record(
                "aws:ec2/vpcEndpoint:VpcEndpoint",
                f"{region}-{service}-endpoint",
                region,
                {
                    "vpcEndpointType": "Interface",
                    "serviceName": f"com.amazonaws.{region}.{service}",
                    "subnetIds": subnet_ids,
                    "privateDnsEnabled": True,
                },
            )
            for service in PRIVATE_LINK_SERVICES
        ]
    if private_link or route_tables:
        records += [
            _record(
                "aws:ec2/vpcEndpoint:VpcEndpoint",
                f"{region}-{service}-gateway",
                region,
                {"vpcEndpointType": "Gateway", "serviceName": f"com.amazonaws.{region}.{service}"},
            )
            for service in GATEWAY_SERVICES
        ]
    connector = _component("elastio:connector:CloudConnector", f"elastio-{region}", region)
    for i in range(vaults):
        vault = _component("elastio:vault:Vault", f"elastio-{region}-vault{i}", region, connector["urn"])
        records += _parented(_vault(region, f"vault{i}", compute_type, public_ip and not private_link), vault)
    return _parented(records, connector)


def stack_records(
    regions: tuple[str, ...] = ("us-east-1",),
    vaults: int = 1,
    private_link: bool = False,
    compute_type: str = "FARGATE",
    public_ip: bool = True,
    route_tables: bool = False,
) -> list[dict[str, Any]]:
    account = [
        {
            "urn": "urn:pulumi:example::elastio::pulumi:pulumi:Stack::elastio-example",
            "type": "pulumi:pulumi:Stack",
            "name": "elastio-example",
            "parent": None,
            "region": None,
            "inputs": {},
            "custom": False,
        },
        _component("elastio:account:AccountBootstrap", "elastio-account", regions[0]),
        _record("aws:iam/role:Role", "tenant-role", regions[0], {}),
    ]
    records = list(account)
    for region in regions:
        records += region_records(
            region,
            vaults=vaults,
            private_link=private_link,
            compute_type=compute_type,
            public_ip=public_ip,
            route_tables=route_tables,
        )
    return records

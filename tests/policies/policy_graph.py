"""Hand-built graph records in the shape plan/ produces (docs/CONTRACT.md): a compliant Elastio stack
(account roles, one region's connector and one vault) and helpers to break one thing in a copy of it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

ACCOUNT = "123456789012"
TENANT_ACCOUNT = "111122223333"
REGION = "us-east-1"
TAGS = {"elastio:resource": "true", "team": "platform"}
REDACTED = "[secret]"
PINNED_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/scalez-worker@sha256:" + "0" * 64


class GraphBuilder:
    def __init__(self, stack: str = "example", project: str = "elastio"):
        self.stack, self.project = stack, project
        self.records: list[dict] = []
        self._types: dict[str, str] = {}

    def add(self, type_: str, name: str, inputs: dict | None = None, parent: str | None = None,
            deps: dict[str, list[str]] | None = None, **options) -> str:
        chain = f"{self._types[parent]}${type_}" if parent else type_
        urn = f"urn:pulumi:{self.stack}::{self.project}::{chain}::{name}"
        self._types[urn] = chain
        self.records.append({
            "urn": urn, "type": type_, "name": name, "parent": parent, "region": REGION,
            "inputs": inputs or {}, "protect": options.get("protect", False),
            "retain_on_delete": options.get("retain_on_delete", False),
            "property_dependencies": deps or {},
        })
        return urn


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def tls_only_statement(resource: str, action: str = "s3:*") -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": [resource, f"{resource}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def compliant_graph() -> list[dict]:
    g = GraphBuilder()
    g.add("pulumi:providers:aws", "aws-us-east-1", {"region": REGION})

    account = g.add("elastio:account:AccountBootstrap", "account")
    tenant_trust = policy({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TENANT_ACCOUNT}:root"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": REDACTED}},
    })
    g.add("aws:iam/role:Role", "tenant-role",
          {"name": "acme-ElastioTenant-prod", "assumeRolePolicy": tenant_trust, "tags": TAGS}, parent=account)
    installer_trust = policy({
        "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{TENANT_ACCOUNT}:root"]},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": REDACTED}},
    })
    g.add("aws:iam/role:Role", "installer-role",
          {"name": "acme-ElastioInstaller-prod", "assumeRolePolicy": installer_trust, "tags": TAGS},
          parent=account)
    g.add("aws:iam/policy:Policy", "backup-admin", {
        "name": "ElastioBackupAdmin",
        "policy": policy(
            {"Sid": "Jobs", "Effect": "Allow", "Action": ["batch:SubmitJob", "batch:DescribeJobs"],
             "Resource": f"arn:aws:batch:*:{ACCOUNT}:job-queue/elastio-*"},
            {"Sid": "PassWorkerRole", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": f"arn:aws:iam::{ACCOUNT}:role/elastio-worker-*",
             "Condition": {"StringEquals": {"iam:PassedToService": "batch.amazonaws.com"}}},
        ),
        "tags": TAGS,
    }, parent=account)

    connector = g.add("elastio:connector:CloudConnector", "connector-us-east-1")
    key = g.add("aws:kms/key:Key", "connector-us-east-1-key", {
        "description": "Elastio connector data", "enableKeyRotation": True, "deletionWindowInDays": 30.0,
        "policy": policy({"Sid": "Account", "Effect": "Allow",
                          "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                          "Resource": "*"}),
        "tags": TAGS,
    }, parent=connector, protect=True)
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    kms = {"kmsMasterKeyId": [key]}

    dlq = g.add("aws:sqs/queue:Queue", "connector-us-east-1-commands-dlq",
                {"name": "elastio-commands-dlq-use1", "kmsMasterKeyId": key_arn,
                 "messageRetentionSeconds": 1209600.0, "tags": TAGS}, parent=connector, deps=kms)
    g.add("aws:sqs/queue:Queue", "connector-us-east-1-commands", {
        "name": "elastio-commands-use1", "kmsMasterKeyId": key_arn, "visibilityTimeoutSeconds": 180.0,
        "redrivePolicy": json.dumps({
            "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:elastio-commands-dlq-use1",
            "maxReceiveCount": 5,
        }),
        "tags": TAGS,
    }, parent=connector, deps={**kms, "redrivePolicy": [dlq]})
    g.add("aws:sqs/queuePolicy:QueuePolicy", "connector-us-east-1-commands-policy", {
        "queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/elastio-commands-use1",
        "policy": policy(
            tls_only_statement(f"arn:aws:sqs:{REGION}:{ACCOUNT}:elastio-commands-use1", "sqs:*"),
            {"Sid": "TenantSends", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/acme-ElastioTenant-prod"},
             "Action": "sqs:SendMessage",
             "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:elastio-commands-use1"},
        ),
    }, parent=connector)
    failed = g.add("aws:sqs/queue:Queue", "connector-us-east-1-failed-invocations",
                   {"name": "elastio-failed-invocations-use1", "kmsMasterKeyId": key_arn, "tags": TAGS},
                   parent=connector, deps=kms)
    events_dlq = g.add("aws:sqs/queue:Queue", "connector-us-east-1-tenant-events-dlq",
                       {"name": "elastio-tenant-events-dlq-use1", "sqsManagedSseEnabled": True, "tags": TAGS},
                       parent=connector)
    g.add("aws:sqs/queue:Queue", "connector-us-east-1-tenant-events",
          {"name": "elastio-tenant-events-use1", "sqsManagedSseEnabled": True, "tags": TAGS},
          parent=connector)
    g.add("aws:sqs/redrivePolicy:RedrivePolicy", "connector-us-east-1-tenant-events-redrive", {
        "queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/elastio-tenant-events-use1",
        "redrivePolicy": json.dumps({"deadLetterTargetArn": "arn", "maxReceiveCount": 10}),
    }, parent=connector, deps={"queueUrl": [g.records[-1]["urn"]], "redrivePolicy": [events_dlq]})

    g.add("aws:sns/topic:Topic", "connector-us-east-1-alerts",
          {"name": "elastio-alerts-use1", "kmsMasterKeyId": key_arn, "tags": TAGS},
          parent=connector, deps=kms)
    g.add("aws:dynamodb/table:Table", "connector-us-east-1-jobs", {
        "name": "elastio-jobs-use1", "billingMode": "PAY_PER_REQUEST", "hashKey": "jobId",
        "attributes": [{"name": "jobId", "type": "S"}],
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": key_arn},
        "tags": TAGS,
    }, parent=connector, protect=True, deps={"serverSideEncryption": [key]})

    lambda_trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"})
    role = g.add("aws:iam/role:Role", "connector-us-east-1-catalog-role",
                 {"name": "elastio-catalog-use1", "assumeRolePolicy": lambda_trust, "tags": TAGS},
                 parent=connector)
    g.add("aws:iam/rolePolicy:RolePolicy", "connector-us-east-1-catalog-policy", {
        "role": "elastio-catalog-use1",
        "policy": policy({"Effect": "Allow",
                          "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                          "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-*"}),
    }, parent=connector, deps={"role": [role]})
    catalog_logs = g.add("aws:cloudwatch/logGroup:LogGroup", "connector-us-east-1-catalog-logs",
                         {"name": "/aws/lambda/elastio-catalog-use1", "retentionInDays": 30.0, "tags": TAGS},
                         parent=connector)
    catalog = g.add("aws:lambda/function:Function", "connector-us-east-1-catalog", {
        "name": "elastio-catalog-use1", "runtime": "python3.12", "handler": "lambdas.catalog.handler.handler",
        "role": f"arn:aws:iam::{ACCOUNT}:role/elastio-catalog-use1", "memorySize": 256.0, "timeout": 30.0,
        "loggingConfig": {"logFormat": "JSON", "logGroup": "/aws/lambda/elastio-catalog-use1"},
        "tags": TAGS,
    }, parent=connector, deps={"loggingConfig": [catalog_logs], "role": [role]})
    failed_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:elastio-failed-invocations-use1"
    g.add("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
          "connector-us-east-1-catalog-async", {
        "functionName": "elastio-catalog-use1", "maximumRetryAttempts": 2.0,
        "destinationConfig": {"onFailure": {"destination": failed_arn}},
    }, parent=connector, deps={"destinationConfig": [failed], "functionName": [catalog]})
    g.add("aws:cloudwatch/logGroup:LogGroup", "connector-us-east-1-router-logs",
          {"name": "/aws/lambda/elastio-router-use1", "retentionInDays": 14.0, "tags": TAGS},
          parent=connector)
    router = g.add("aws:lambda/function:Function", "connector-us-east-1-router", {
        "name": "elastio-router-use1", "runtime": "python3.13", "handler": "lambdas.router.handler.handler",
        "role": f"arn:aws:iam::{ACCOUNT}:role/elastio-router-use1", "tags": TAGS,
    }, parent=connector)
    g.add("aws:lambda/eventSourceMapping:EventSourceMapping", "connector-us-east-1-router-commands", {
        "eventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:elastio-commands-use1",
        "functionName": "elastio-router-use1", "functionResponseTypes": ["ReportBatchItemFailures"],
        "scalingConfig": {"maximumConcurrency": 2.0}, "tags": TAGS,
    }, parent=connector, deps={"functionName": [router]})
    g.add("aws:lambda/permission:Permission", "connector-us-east-1-inventory-events", {
        "action": "lambda:InvokeFunction", "function": "elastio-inventory-use1",
        "principal": "events.amazonaws.com",
        "sourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/elastio-inventory-ec2-use1",
    }, parent=connector)

    vault = g.add("elastio:vault:Vault", "vault-main", parent=connector)
    bucket_name = f"elastio-main-{ACCOUNT}-use1"
    bucket = g.add("aws:s3/bucket:Bucket", "vault-main-bucket", {"bucket": bucket_name, "tags": TAGS},
                   parent=vault, protect=True)
    on_bucket = {"bucket": [bucket]}
    g.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "vault-main-encryption", {"bucket": bucket_name, "rules": [{
              "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
              "bucketKeyEnabled": True}]}, parent=vault, deps={**on_bucket, "rules": [key]})
    g.add("aws:s3/bucketVersioning:BucketVersioning", "vault-main-versioning",
          {"bucket": bucket_name, "versioningConfiguration": {"status": "Enabled"}},
          parent=vault, deps=on_bucket)
    g.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "vault-main-public-access-block", {
        "bucket": bucket_name, "blockPublicAcls": True, "blockPublicPolicy": True,
        "ignorePublicAcls": True, "restrictPublicBuckets": True,
    }, parent=vault, deps=on_bucket)
    g.add("aws:s3/bucketPolicy:BucketPolicy", "vault-main-bucket-policy", {
        "bucket": bucket_name,
        "policy": policy(
            tls_only_statement(f"arn:aws:s3:::{bucket_name}"),
            {"Sid": "DenyOtherKeys", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{bucket_name}/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}},
        ),
    }, parent=vault, deps=on_bucket)
    g.add("aws:batch/computeEnvironment:ComputeEnvironment", "vault-main-compute", {
        "name": "elastio-main-use1", "type": "MANAGED",
        "computeResources": {"type": "FARGATE", "maxVcpus": 16.0, "subnets": ["subnet-0123456789abcdef0"],
                             "securityGroupIds": ["sg-0123456789abcdef0"]},
        "tags": TAGS,
    }, parent=vault)
    g.add("aws:ecs/cluster:Cluster", "vault-main-cluster", {"name": "elastio-main-use1", "tags": TAGS},
          parent=vault)
    g.add("aws:batch/jobDefinition:JobDefinition", "vault-main-backup", {
        "name": "elastio-main-backup", "type": "container", "platformCapabilities": ["FARGATE"],
        "containerProperties": json.dumps({"image": PINNED_IMAGE, "command": ["python", "-m", "engine"]}),
        "tags": TAGS,
    }, parent=vault)
    g.add("aws:ecs/taskDefinition:TaskDefinition", "vault-main-server", {
        "family": "elastio-main-server", "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": json.dumps([{"name": "scalez-server", "image": PINNED_IMAGE, "essential": True}]),
        "tags": TAGS,
    }, parent=vault)
    return g.records


def by_name(records: list[dict], name: str) -> dict:
    matches = [record for record in records if record["name"] == name]
    assert len(matches) == 1, f"expected one record named {name!r}, found {len(matches)}"
    return matches[0]


def changed(name: str, change: Callable[[dict], object]) -> list[dict]:
    """A copy of the compliant graph where `change` edited the record named `name`."""
    records = copy.deepcopy(compliant_graph())
    change(by_name(records, name))
    return records


def without(*names: str) -> list[dict]:
    """A copy of the compliant graph without the named records."""
    return [record for record in compliant_graph() if record["name"] not in names]


def with_added(type_: str, name: str, inputs: dict) -> list[dict]:
    records = compliant_graph()
    builder = GraphBuilder()
    builder.add(type_, name, inputs)
    return records + builder.records

"""Builds, in moto, the AWS resources the Cloud Connector functions expect (what the program deploys)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from elastio_contract import environment as env_names
from elastio_contract import tables
from lambdas.shared import aws as shared_aws

REGION = "us-east-1"
FUNCTION_KEYS = {
    "catalog": "elastio-catalog",
    "provisioner": "elastio-provisioner",
    "backgroundJobs": "elastio-background-jobs",
    "jobStatus": "elastio-job-status",
    "integrityChecks": "elastio-integrity-checks",
    "inventory": "elastio-inventory",
}
# The connector tables' physical names in the fake account; TABLES keys them as the functions read them, by the
# environment variable each comes in (elastio_contract.environment).
TABLE_NAMES = {
    tables.VAULTS: "elastio-vaults",
    tables.RECOVERY_POINTS: "elastio-recovery-points",
    tables.JOBS: "elastio-jobs",
    tables.ASSETS: "elastio-assets",
    tables.COMMANDS: "elastio-commands",
}
TABLES = {env_names.TABLE_VARIABLES[table]: name for table, name in TABLE_NAMES.items()}
VAULT = "primary"
JOB_TYPES = ("backup", "restore", "scan", "compact")


def aws_client(service: str):
    """Clients are reused across tests (moto intercepts them whenever a mock is active): creating is slow."""
    return shared_aws.client(service)


def aws_table(name: str):
    return shared_aws.table(name)


@dataclass
class World:
    env: dict[str, str]
    command_queue_url: str
    command_dlq_url: str
    tenant_queue_url: str
    alerts_topic_arn: str
    alerts_inbox_url: str
    vault: dict[str, Any] = field(default_factory=dict)
    outbox_stream: OutboxStream = field(default_factory=lambda: OutboxStream())

    def tenant_events(self) -> list[dict[str, Any]]:
        """Send the outbox, then drain the tenant events queue (what the tenant would receive)."""
        self.outbox_stream.deliver_all()
        return [json.loads(body) for body in drain(self.tenant_queue_url)]

    def alerts(self) -> list[dict[str, Any]]:
        """Send the outbox, then drain the queue subscribed to the alerts topic (what an operator receives)."""
        self.outbox_stream.deliver_all()
        return [json.loads(json.loads(body)["Message"]) for body in drain(self.alerts_inbox_url)]


class OutboxStream:
    """What DynamoDB Streams and Lambda's stream event source mapping do with the commands table.

    moto 5 does not serve the DynamoDB Streams API, so the stream is recorded from successful writes of the
    functions' own client (an INSERT record per new outbox item, as the table's stream would have it) and
    delivered to Job status in order, redelivering from the first failure reported (ReportBatchItemFailures).
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._sequence = 0

    _HOOKS = (("provide-client-params.dynamodb.TransactWriteItems", "_asked"),
              ("after-call.dynamodb.TransactWriteItems", "_written"))

    def attach(self, client: Any) -> None:
        for event, method in self._HOOKS:
            client.meta.events.register(event, getattr(self, method), unique_id=f"test-outbox-{method}")

    def detach(self, client: Any) -> None:
        for event, method in self._HOOKS:
            client.meta.events.unregister(event, unique_id=f"test-outbox-{method}")

    @staticmethod
    def _asked(params: dict, context: dict, **_: Any) -> None:
        context["outbox_request"] = params

    def _written(self, http_response: Any, context: dict, **_: Any) -> None:
        if http_response.status_code != 200:
            return
        for action in context.get("outbox_request", {}).get("TransactItems", []):
            item = action.get("Put", {}).get("Item", {})
            if item.get("id", {}).get("S", "").startswith("outbox#"):
                self._sequence += 1
                self.records.append({"eventID": str(self._sequence), "eventName": "INSERT",
                                     "eventSource": "aws:dynamodb", "awsRegion": REGION,
                                     "dynamodb": {"NewImage": item, "SequenceNumber": f"{self._sequence:021d}",
                                                  "StreamViewType": "NEW_IMAGE"}})

    def deliver_all(self, attempts: int = 5, sender: Any = None) -> None:
        """Deliver every pending record to Job status (or `sender`); a failed record is retried."""
        from lambdas.job_status.handler import handler as job_status
        from tests.lambdas.conftest import LambdaContext

        sender = sender or job_status
        for _ in range(attempts):
            if not self.records:
                return
            batch, self.records = self.records[:100], self.records[100:]
            try:
                failures = sender({"Records": batch}, LambdaContext())["batchItemFailures"]
            except Exception:  # the whole invocation failed: Lambda retries the batch
                failures = [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
            if failures:
                first = next(i for i, r in enumerate(batch)
                             if r["dynamodb"]["SequenceNumber"] == failures[0]["itemIdentifier"])
                self.records = batch[first:] + self.records


def queue_attribute(queue_url: str, name: str) -> str:
    attributes = aws_client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])
    return attributes["Attributes"][name]


def drain(queue_url: str) -> list[str]:
    sqs = aws_client("sqs")
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _table(ddb: Any, name: str, keys: list[tuple[str, str]], attributes: dict[str, str],
           indexes: list[dict[str, Any]] | None = None, key_arn: str | None = None) -> None:
    extra: dict[str, Any] = {"GlobalSecondaryIndexes": indexes} if indexes else {}
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in attributes.items()],
        BillingMode="PAY_PER_REQUEST",
        # Naming the key spares moto from generating the AWS-managed DynamoDB key (slow).
        SSESpecification={"Enabled": True, "SSEType": "KMS",
                          **({"KMSMasterKeyId": key_arn} if key_arn else {})},
        **extra,
    )


_CONNECTOR_TABLE_SHAPES: dict[str, dict[str, Any]] = {
    tables.VAULTS: {"keys": [("vaultName", "HASH")], "attributes": {"vaultName": "S"}},
    tables.RECOVERY_POINTS: {
        "keys": [("assetId", "HASH"), ("recoveryPointId", "RANGE")],
        "attributes": {"assetId": "S", "recoveryPointId": "S", "vaultName": "S", "createdAt": "S"},
        "indexes": [{"IndexName": "byVault",
                     "KeySchema": [{"AttributeName": "vaultName", "KeyType": "HASH"},
                                   {"AttributeName": "createdAt", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}}]},
    tables.JOBS: {"keys": [("jobId", "HASH")], "attributes": {"jobId": "S"}},
    tables.ASSETS: {"keys": [("assetId", "HASH")], "attributes": {"assetId": "S"}},
    tables.COMMANDS: {"keys": [("id", "HASH")], "attributes": {"id": "S"}},
}


def table_name(table: str) -> str:
    """The physical name of a connector table (elastio_contract.tables) in the fake account."""
    return TABLE_NAMES[table]


def create_connector_table(table: str, key_arn: str) -> None:
    """One connector table as CONTRACT.md describes it (also used to bring a table back after an outage)."""
    _table(aws_client("dynamodb"), TABLE_NAMES[table], key_arn=key_arn, **_CONNECTOR_TABLE_SHAPES[table])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambdas/__init__.py", "")
    return buffer.getvalue()


def create_functions(role_arn: str) -> None:
    awslambda = aws_client("lambda")
    code = _zip()
    for key, name in FUNCTION_KEYS.items():
        service = {"backgroundJobs": "background_jobs", "jobStatus": "job_status",
                   "integrityChecks": "integrity_checks"}.get(key, key)
        awslambda.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn,
                                  Handler=f"lambdas.{service}.handler.handler", Code={"ZipFile": code})


def create_snapshot(tags: dict[str, str] | None = None) -> str:
    """A completed EBS snapshot of a new volume in the region, as a customer's backup schedule makes it."""
    ec2 = aws_client("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"]
    extra = {"TagSpecifications": [{"ResourceType": "snapshot", "Tags": [
        {"Key": k, "Value": v} for k, v in tags.items()]}]} if tags else {}
    return ec2.create_snapshot(VolumeId=volume, **extra)["SnapshotId"]


def create_vault(vault_name: str, env: dict[str, str], key_arn: str) -> dict[str, Any]:
    """The vault's resources and its record in the vaults table, as the program writes it."""
    iam = aws_client("iam")
    ec2 = aws_client("ec2")
    s3 = aws_client("s3")
    batch = aws_client("batch")
    ecs = aws_client("ecs")
    ddb = aws_client("dynamodb")

    bucket = f"elastio-vault-{vault_name}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True}]})
    index_table = f"elastio-index-{vault_name}"
    _table(ddb, index_table, [("chunkHash", "HASH")], {"chunkHash": "S"}, key_arn=key_arn)

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{vault_name}-sg", Description="vault", VpcId=vpc)["GroupId"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"Service": "batch.amazonaws.com"}}]})
    service_role = iam.create_role(RoleName=f"{vault_name}-batch",
                                   AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"{vault_name}-ce", type="MANAGED", state="ENABLED", serviceRole=service_role,
        computeResources={"type": "FARGATE", "maxvCpus": 16, "subnets": [subnet],
                          "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(jobQueueName=f"{vault_name}-jobs", state="ENABLED", priority=1,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])
    definitions = {
        job_type: batch.register_job_definition(
            jobDefinitionName=f"{vault_name}-{job_type}", type="container", platformCapabilities=["FARGATE"],
            containerProperties={"image": "elastio/engine:latest", "command": ["elastio-engine", job_type],
                                 "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                          {"type": "MEMORY", "value": "2048"}],
                                 "executionRoleArn": service_role},
        )["jobDefinitionArn"]
        for job_type in JOB_TYPES
    }
    cluster = ecs.create_cluster(clusterName=f"{vault_name}-scalez")["cluster"]["clusterArn"]
    task_definition = ecs.register_task_definition(
        family=f"{vault_name}-scalez", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
        memory="512", containerDefinitions=[{"name": "scalez", "image": "elastio/scalez:latest"}],
    )["taskDefinition"]["taskDefinitionArn"]
    record = {
        "vaultName": vault_name, "region": REGION, "bucketName": bucket, "kmsKeyArn": key_arn,
        "indexTableName": index_table, "jobQueueArn": queue["jobQueueArn"], "jobDefinitions": definitions,
        "clusterArn": cluster, "serverTaskDefinitionArn": task_definition, "subnetIds": [subnet],
        "securityGroupId": group, "assignPublicIp": False,
    }
    aws_table(env[env_names.TABLE_VARIABLES[tables.VAULTS]]).put_item(Item=record)  # as the functions find it
    return record


def build_world() -> World:
    """Queues, tables, topic, functions and one vault, inside an active moto mock."""
    sqs = aws_client("sqs")
    sns = aws_client("sns")
    iam = aws_client("iam")
    kms = aws_client("kms")
    connector_key = kms.create_key(Description="connector")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=connector_key)
    for table in TABLE_NAMES:
        create_connector_table(table, connector_key)
    dlq = sqs.create_queue(QueueName="elastio-commands-dlq")["QueueUrl"]
    dlq_arn = queue_attribute(dlq, "QueueArn")
    commands = sqs.create_queue(QueueName="elastio-commands", Attributes={
        "KmsMasterKeyId": connector_key,
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})["QueueUrl"]
    tenant = sqs.create_queue(QueueName="elastio-tenant-events",
                              Attributes={"KmsMasterKeyId": connector_key})["QueueUrl"]
    topic = sns.create_topic(Name="elastio-alerts", Attributes={"KmsMasterKeyId": connector_key})["TopicArn"]
    inbox = sqs.create_queue(QueueName="elastio-alerts-inbox")["QueueUrl"]
    inbox_arn = queue_attribute(inbox, "QueueArn")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]})
    role = iam.create_role(RoleName="elastio-functions", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    create_functions(role)
    env = {**TABLES, env_names.TENANT_EVENTS_QUEUE_URL: tenant, env_names.ALERTS_TOPIC_ARN: topic,
           env_names.DEPLOYMENT: "elastio", env_names.FUNCTIONS: json.dumps(FUNCTION_KEYS)}
    world = World(env=env, command_queue_url=commands, command_dlq_url=dlq, tenant_queue_url=tenant,
                  alerts_topic_arn=topic, alerts_inbox_url=inbox)
    world.outbox_stream.attach(aws_client("dynamodb"))
    # One KMS key for connector and vault: moto generates key material for each, which is slow.
    world.vault = create_vault(VAULT, env, connector_key)
    return world

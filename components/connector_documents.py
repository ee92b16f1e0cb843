"""Policy documents of a region's Cloud Connector: function roles, its KMS key, queues and alerts topic.

Pure functions of a `ConnectorScope` (plain strings, no Outputs), so they are tested as plain Python and
checked with parliament. `components/connector.py` resolves the Outputs and calls these.

Every regional name is fixed (components.naming), so most ARNs are derived here rather than passed in; only
what AWS generates (key ids, vault resource ARNs, role ARNs) comes in through the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components import naming

VERSION = "2012-10-17"

# What a function needs to read and write items of a table (no table-level or delete-table actions).
TABLE_READ = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")
QUEUE_SEND = ("sqs:SendMessage", "sqs:GetQueueUrl")
QUEUE_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
# SQS, SNS and DynamoDB call KMS on the caller's behalf; the caller needs these on the connector key.
KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class VaultRefs:
    """One vault's resources, as the connector's functions address them."""

    name: str
    bucket_arn: str
    key_arn: str
    index_table_arn: str
    job_queue_arn: str
    job_definition_arns: tuple[str, ...]
    cluster_arn: str
    server_task_definition_arn: str
    task_role_arn: str
    execution_role_arn: str


@dataclass(frozen=True)
class ConnectorScope:
    region: str
    account_id: str
    key_arn: str
    """The connector's customer-managed key (tables, queues, alerts topic)."""
    tenant_role_arn: str
    tracing: bool = False
    vaults: tuple[VaultRefs, ...] = field(default_factory=tuple)

    # --- derived ARNs (names are fixed per region) ---
    def table_arn(self, table: str) -> str:
        return naming.arn("dynamodb", self.region, self.account_id, f"table/{naming.table_name(table)}")

    def queue_arn(self, purpose: str) -> str:
        return naming.arn("sqs", self.region, self.account_id, naming.queue_name(purpose))

    def function_arn(self, service: str) -> str:
        return naming.arn("lambda", self.region, self.account_id, f"function:{naming.function_name(service)}")

    def topic_arn(self) -> str:
        return naming.arn("sns", self.region, self.account_id, naming.topic_name("alerts"))

    def log_group_arn(self, service: str) -> str:
        return naming.arn(
            "logs", self.region, self.account_id, f"log-group:{naming.function_log_group_name(service)}:*"
        )

    @property
    def account_root(self) -> str:
        return naming.iam_arn(self.account_id, "root")


def _statement(sid: str, actions: tuple[str, ...] | list[str], resources: list[str], **extra: Any) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": resources, **extra}


def _document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": [s for s in statements if s]}


# --- function roles --------------------------------------------------------------------------------------


def lambda_trust_policy(scope: ConnectorScope) -> dict:
    """Only Lambda, on behalf of this account, may assume a function role (confused-deputy guard)."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": scope.account_id}},
        }
    )


def _common(scope: ConnectorScope, service: str) -> list[dict]:
    """What every function does: write its own logs, use the connector key, tell the tenant, fail safely."""
    statements = [
        _statement("OwnLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), [scope.log_group_arn(service)]),
        # DynamoDB tables with a customer-managed key also describe it on the caller's behalf.
        _statement("ConnectorKey", (*KEY_USE, "kms:DescribeKey"), [scope.key_arn]),
        _statement("TenantEvents", QUEUE_SEND, [scope.queue_arn("tenant-events")]),
    ]
    if service != naming.ROUTER:
        # Lambda sends failed asynchronous invocations to the on-failure destination as the function's role.
        statements.append(
            _statement("OnFailureDestination", QUEUE_SEND, [scope.queue_arn("failed-invocations")])
        )
    if scope.tracing:
        # X-Ray has no resource-level permissions for these two write-only telemetry actions.
        statements.append(_statement("Tracing", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ["*"]))
    return statements


def _vault_lookup(scope: ConnectorScope) -> dict:
    return _statement("ReadVaults", ("dynamodb:GetItem",), [scope.table_arn("vaults")])


def _submit_jobs(scope: ConnectorScope) -> dict | None:
    if not scope.vaults:
        return None
    resources = [v.job_queue_arn for v in scope.vaults]
    for definition in sorted({_unrevisioned(a) for v in scope.vaults for a in v.job_definition_arns}):
        # Any revision of our definitions: a new revision on update must not need a new role policy.
        resources += [definition, f"{definition}:*"]
    # IAM also authorises SubmitJob on the new job, whose id does not exist yet; the queue and definition
    # resources above are what bound it (every resource of the call must be allowed).
    resources.append(naming.arn("batch", scope.region, scope.account_id, "job/*"))
    return _statement("SubmitVaultJobs", ("batch:SubmitJob",), resources)


def _service_statements(scope: ConnectorScope, service: str) -> list[dict | None]:
    region, account = scope.region, scope.account_id
    if service == naming.ROUTER:
        return [
            _statement("ConsumeCommands", QUEUE_CONSUME, [scope.queue_arn("commands")]),
            _statement(
                "InvokeServices", ("lambda:InvokeFunction",), [scope.function_arn(s) for s in naming.SERVICES]
            ),
            # Powertools idempotency records for command ids.
            _statement(
                "IdempotencyRecords",
                ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
                [scope.table_arn("commands")],
            ),
        ]
    if service == "catalog":
        points = scope.table_arn("recovery-points")
        return [
            _vault_lookup(scope),
            _statement("RecoveryPoints", TABLE_READ + TABLE_WRITE, [points, f"{points}/index/*"]),
            _statement("CompactJobs", ("dynamodb:GetItem",) + TABLE_WRITE, [scope.table_arn("jobs")]),
            _submit_jobs(scope),
        ]
    if service == "background_jobs":
        return [
            _vault_lookup(scope),
            _statement("ReadRecoveryPoints", TABLE_READ, [scope.table_arn("recovery-points")]),
            _statement("Jobs", ("dynamodb:GetItem",) + TABLE_WRITE, [scope.table_arn("jobs")]),
            _submit_jobs(scope),
            # TerminateJob is only addressable by job id; job ids are not known in advance.
            _statement(
                "CancelJobs", ("batch:TerminateJob",), [naming.arn("batch", region, account, "job/*")]
            ),
        ]
    if service == "job_status":
        return [
            _statement("Jobs", ("dynamodb:GetItem", "dynamodb:UpdateItem"), [scope.table_arn("jobs")]),
            _statement("Alerts", ("sns:Publish",), [scope.topic_arn()]),
        ]
    if service == "provisioner":
        if not scope.vaults:
            return [_vault_lookup(scope)]
        clusters = [v.cluster_arn for v in scope.vaults]
        tasks = [_tasks_of(v.cluster_arn) for v in scope.vaults]
        return [
            _vault_lookup(scope),
            _statement(
                "RunServer",
                ("ecs:RunTask",),
                [v.server_task_definition_arn for v in scope.vaults],
                Condition={"ArnEquals": {"ecs:cluster": clusters}},
            ),
            _statement("ManageServerTasks", ("ecs:StopTask", "ecs:DescribeTasks"), tasks),
            _statement("ListServerTasks", ("ecs:ListTasks",), [_container_instances_of(c) for c in clusters]),
            _statement(
                "PassServerRoles",
                ("iam:PassRole",),
                [arn for v in scope.vaults for arn in (v.task_role_arn, v.execution_role_arn)],
                Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
        ]
    if service == "integrity_checks":
        statements: list[dict | None] = [
            _statement("ReadVaults", ("dynamodb:GetItem", "dynamodb:Scan"), [scope.table_arn("vaults")]),
            _statement("Alerts", ("sns:Publish",), [scope.topic_arn()]),
            # Read-only checks of the account setup; these describe calls have no resource-level scoping.
            _statement(
                "DescribeSetup",
                (
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeRouteTables",
                    "batch:DescribeComputeEnvironments",
                    "batch:DescribeJobQueues",
                ),
                ["*"],
            ),
        ]
        if scope.vaults:
            buckets = [v.bucket_arn for v in scope.vaults]
            statements += [
                _statement(
                    "CheckBuckets",
                    (
                        "s3:GetBucketVersioning",
                        "s3:GetEncryptionConfiguration",
                        "s3:GetBucketPublicAccessBlock",
                        "s3:GetBucketPolicy",
                    ),
                    buckets,
                ),
                _statement("WriteReports", ("s3:PutObject",), [f"{b}/reports/integrity/*" for b in buckets]),
                _statement(
                    "VaultKeys", ("kms:GenerateDataKey", "kms:DescribeKey"), [v.key_arn for v in scope.vaults]
                ),
            ]
        return statements
    if service == "inventory":
        return [
            _statement(
                "Assets", TABLE_READ + TABLE_WRITE + ("dynamodb:DeleteItem",), [scope.table_arn("assets")]
            ),
            # Read-only; EC2 describe calls cannot be scoped to resources.
            _statement(
                "DescribeAssets",
                ("ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"),
                ["*"],
            ),
        ]
    raise ValueError(f"unknown function {service!r}; known: {', '.join(naming.FUNCTIONS)}")


def function_role_policy(scope: ConnectorScope, service: str) -> dict:
    """The execution role policy of one connector function (router or one of the six services)."""
    return _document(*_common(scope, service), *_service_statements(scope, service))


def _unrevisioned(job_definition_arn: str) -> str:
    # arn:aws:batch:<region>:<account>:job-definition/<name>:<revision> -> ...:job-definition/<name>
    head, _, revision = job_definition_arn.rpartition(":")
    return head if revision.isdigit() else job_definition_arn


def _tasks_of(cluster_arn: str) -> str:
    # arn:aws:ecs:<region>:<account>:cluster/<name> -> that cluster's tasks
    prefix, _, cluster = cluster_arn.rpartition(":cluster/")
    return f"{prefix}:task/{cluster}/*"


def _container_instances_of(cluster_arn: str) -> str:
    # ListTasks is authorised on the cluster's container-instance resource (per the ECS authorization table).
    prefix, _, cluster = cluster_arn.rpartition(":cluster/")
    return f"{prefix}:container-instance/{cluster}/*"


# --- resource policies -----------------------------------------------------------------------------------


def _deny_insecure_transport(action: str, resource: str) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _allow_tenant(scope: ConnectorScope, sid: str, actions: list[str], queue: str) -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": scope.tenant_role_arn},
        "Action": actions,
        "Resource": queue,
    }


def command_queue_policy(scope: ConnectorScope) -> dict:
    """TLS only; only the account's ElastioTenant role may send commands (not even other admins)."""
    queue = scope.queue_arn("commands")
    return _document(
        _deny_insecure_transport("sqs:*", queue),
        _allow_tenant(
            scope, "TenantSends", ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], queue
        ),
        {
            # Same-account identity policies could otherwise grant SendMessage; this makes the rule absolute.
            "Sid": "OnlyTenantSends",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": queue,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": scope.tenant_role_arn}},
        },
    )


def tenant_events_queue_policy(scope: ConnectorScope) -> dict:
    queue = scope.queue_arn("tenant-events")
    return _document(
        _deny_insecure_transport("sqs:*", queue),
        _allow_tenant(scope, "TenantReceives", list(QUEUE_CONSUME), queue),
    )


def tls_only_queue_policy(scope: ConnectorScope, purpose: str) -> dict:
    """Queues nobody outside the account touches (dead-letter, failed invocations): TLS only."""
    return _document(_deny_insecure_transport("sqs:*", scope.queue_arn(purpose)))


def redrive_policy(scope: ConnectorScope, max_receive_count: int) -> dict:
    return {"deadLetterTargetArn": scope.queue_arn("commands-dlq"), "maxReceiveCount": max_receive_count}


# Queues whose failed messages go to the one dead-letter queue of the region (shared: one alarm watches both).
DEAD_LETTER_SOURCES = ("commands", "tenant-events")


def dlq_redrive_allow_policy(scope: ConnectorScope) -> dict:
    """Only the command queue and the tenant events queue may use the region's dead-letter queue."""
    return {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [scope.queue_arn(q) for q in DEAD_LETTER_SOURCES],
    }


def connector_key_policy(scope: ConnectorScope) -> dict:
    """The account administers the key (the function roles' IAM policies then grant its use); CloudWatch
    may use it to publish alarms to the encrypted topic; the tenant role only through this region's SQS."""
    return _document(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": scope.account_root},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": list(KEY_USE),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": scope.account_id}},
        },
        {
            "Sid": "TenantUsesQueues",
            "Effect": "Allow",
            "Principal": {"AWS": scope.tenant_role_arn},
            "Action": list(KEY_USE),
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{scope.region}.amazonaws.com"}},
        },
    )


def alerts_topic_policy(scope: ConnectorScope) -> dict:
    """The account and this account's CloudWatch alarms may publish; nothing over plain HTTP."""
    topic = scope.topic_arn()
    return _document(
        _deny_insecure_transport("sns:Publish", topic),
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": scope.account_root},
            "Action": [
                "sns:Publish",
                "sns:Subscribe",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
            ],
            "Resource": topic,
        },
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {
                "ArnLike": {
                    "aws:SourceArn": naming.arn("cloudwatch", scope.region, scope.account_id, "alarm:*")
                },
                "StringEquals": {"aws:SourceAccount": scope.account_id},
            },
        },
    )


# --- event patterns --------------------------------------------------------------------------------------

INVENTORY_DETAIL_TYPES = (
    "EC2 Instance State-change Notification",
    "EBS Volume Notification",
    "EBS Snapshot Notification",
)


def inventory_event_pattern() -> dict:
    return {"source": ["aws.ec2"], "detail-type": list(INVENTORY_DETAIL_TYPES)}


def batch_job_state_pattern(job_queue_arns: list[str]) -> dict:
    """Only our job queues' state changes reach Job status."""
    return {
        "source": ["aws.batch"],
        "detail-type": ["Batch Job State Change"],
        "detail": {"jobQueue": sorted(job_queue_arns)},
    }

"""Policy documents of a region's Cloud Connector: function roles, its KMS key, queues and alerts topic.

Pure functions of a `ConnectorScope` (plain strings, no Outputs), so they are tested as plain Python and
checked with parliament. `src/elastio_pulumi/connector.py` resolves the Outputs and calls these.

Every regional name is fixed by the deployment's name prefix (elastio_pulumi.naming), so most ARNs are derived
here rather than passed in; only
what AWS generates (key ids, vault resource ARNs, role ARNs) comes in through the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from elastio_contract.tables import OUTBOX_KEY_PREFIX
from elastio_pulumi import naming
from elastio_pulumi.constants import JOB_VAULT_TAG_KEY
from elastio_pulumi.iam_documents import document, in_account_s3, mark_snapshots_readable, statement
from elastio_pulumi.iam_documents.builder import merge_conditions, own_deployment
from elastio_pulumi.vault_documents import INTEGRITY_REPORTS_PREFIX, snapshot_arns

VERSION = "2012-10-17"

# Each function gets exactly the item actions its handler calls (tests/components/test_function_permissions.py
# maps every boto3 call in lambdas/ to these grants); no table-level or delete-table actions.
GET = "dynamodb:GetItem"
PUT = "dynamodb:PutItem"
UPDATE = "dynamodb:UpdateItem"
DELETE = "dynamodb:DeleteItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
# The connector's functions address queues by the URL in their environment, so SendMessage is all they need.
QUEUE_SEND = ("sqs:SendMessage",)
QUEUE_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
# What Lambda's event source mapping calls on a DynamoDB stream, as the function's role
# (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Execution role permissions"). ListStreams
# supports no resource-level permissions, so it is granted on "*" apart from the others.
OUTBOX_STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
STREAM_LISTING = ("dynamodb:ListStreams",)
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
    name_prefix: str = naming.DEFAULT_NAME_PREFIX
    """The deployment's name prefix (elastio:namePrefix) the connector's names start with."""

    # --- derived ARNs (names are fixed per region and prefix) ---
    def table_arn(self, table: str) -> str:
        return naming.arn(
            "dynamodb", self.region, self.account_id, f"table/{naming.table_name(self.name_prefix, table)}"
        )

    def queue_arn(self, purpose: str) -> str:
        return naming.arn("sqs", self.region, self.account_id, naming.queue_name(self.name_prefix, purpose))

    def function_arn(self, service: str) -> str:
        return naming.arn(
            "lambda", self.region, self.account_id, f"function:{naming.function_name(self.name_prefix, service)}"
        )

    def topic_arn(self) -> str:
        return naming.arn("sns", self.region, self.account_id, naming.topic_name(self.name_prefix, "alerts"))

    def log_group_arn(self, service: str) -> str:
        group = naming.function_log_group_name(self.name_prefix, service)
        return naming.arn("logs", self.region, self.account_id, f"log-group:{group}:*")

    def jobs_arn_pattern(self) -> str:
        """Every Batch job of the region: jobs are addressable only by ids that do not exist in advance."""
        return naming.arn("batch", self.region, self.account_id, "job/*")

    @property
    def account_root(self) -> str:
        return naming.iam_arn(self.account_id, "root")


# --- function roles --------------------------------------------------------------------------------------


def lambda_trust_policy(scope: ConnectorScope) -> dict:
    """Only Lambda, on behalf of this account, may assume a function role (confused-deputy guard)."""
    return document(
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
        statement("OwnLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), [scope.log_group_arn(service)]),
        # DynamoDB tables with a customer-managed key also describe it on the caller's behalf.
        statement("ConnectorKey", (*KEY_USE, "kms:DescribeKey"), [scope.key_arn]),
        statement("TenantEvents", QUEUE_SEND, [scope.queue_arn(naming.TENANT_EVENTS_QUEUE)]),
    ]
    if service != naming.ROUTER:
        # Lambda sends failed asynchronous invocations to the on-failure destination as the function's role.
        statements.append(
            statement("OnFailureDestination", QUEUE_SEND, [scope.queue_arn(naming.FAILED_INVOCATIONS_QUEUE)])
        )
        statements.append(_outbox_writes(scope))
    if scope.tracing:
        # X-Ray has no resource-level permissions for these two write-only telemetry actions.
        statements.append(statement("Tracing", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ["*"]))
    return statements




def _outbox_writes(scope: ConnectorScope) -> dict:
    """Tenant events and alerts are queued as new items of the commands table, in the same transaction as
    the state they announce (lambdas/shared/outbox.py). Transaction Puts are authorised as PutItem
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html); the
    leading-key condition keeps the services off the router's idempotency records in the same table."""
    return statement(
        "Outbox",
        (PUT,),
        [scope.table_arn(naming.COMMANDS_TABLE)],
        condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{OUTBOX_KEY_PREFIX}*"]}},
    )


def outbox_stream_filter() -> dict:
    """Event source mapping filter: only new outbox items reach the sender (not idempotency records, TTL
    deletions or updates). https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html"""
    return {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event", "alert"]}}}}


def _vault_lookup(scope: ConnectorScope) -> dict:
    return statement("ReadVaults", (GET,), [scope.table_arn(naming.VAULTS_TABLE)])


def _alerts(scope: ConnectorScope) -> dict:
    return statement("Alerts", ("sns:Publish",), [scope.topic_arn()])


def _submit_jobs(scope: ConnectorScope) -> dict | None:
    if not scope.vaults:
        return None
    resources = [v.job_queue_arn for v in scope.vaults]
    for definition in sorted({_unrevisioned(a) for v in scope.vaults for a in v.job_definition_arns}):
        # Any revision of our definitions: a new revision on update must not need a new role policy.
        resources += [definition, f"{definition}:*"]
    # IAM also authorises SubmitJob on the new job, whose id does not exist yet; the queue and definition
    # resources above are what bound it (every resource of the call must be allowed).
    resources.append(scope.jobs_arn_pattern())
    # The submitter tags each job with its vault (JOB_VAULT_TAG_KEY) and deployment (lambdas/shared/jobs.py,
    # job_tags); Batch authorises those tags as batch:TagResource on the new job, in the same request.
    return statement("SubmitVaultJobs", ("batch:SubmitJob", "batch:TagResource"), resources)


def _terminate_vault_jobs(scope: ConnectorScope) -> dict | None:
    """TerminateJob addresses a job by id alone, and a job ARN names no queue: the vault and deployment tags every
    submitted job carries (lambdas/shared/jobs.py, job_tags) keep this to jobs of this deployment's vaults in the
    region; a vault name alone is not unique in an account with two deployments (batch:TerminateJob supports
    aws:ResourceTag, Service Authorization Reference, AWS Batch)."""
    if not scope.vaults:
        return None
    return statement(
        "CancelVaultJobs",
        ("batch:TerminateJob",),
        [scope.jobs_arn_pattern()],
        condition=merge_conditions(
            {"StringEquals": {f"aws:ResourceTag/{JOB_VAULT_TAG_KEY}": [v.name for v in scope.vaults]}},
            own_deployment(scope.name_prefix),
        ),
    )


def _router(scope: ConnectorScope) -> list[dict | None]:
    return [
        statement("ConsumeCommands", QUEUE_CONSUME, [scope.queue_arn(naming.COMMANDS_QUEUE)]),
        statement(
            "InvokeServices", ("lambda:InvokeFunction",), [scope.function_arn(s) for s in naming.SERVICES]
        ),
        # Powertools idempotency records for command ids (its DynamoDB persistence layer makes these calls).
        statement("IdempotencyRecords", (GET, PUT, UPDATE, DELETE), [scope.table_arn(naming.COMMANDS_TABLE)]),
    ]


def _catalog(scope: ConnectorScope) -> list[dict | None]:
    points = scope.table_arn(naming.RECOVERY_POINTS_TABLE)
    return [
        _vault_lookup(scope),
        statement("RecoveryPoints", (PUT, UPDATE, QUERY), [points]),
        statement("RecoveryPointsByVault", (QUERY,), [f"{points}/index/byVault"]),
        # recovery-points.expire submits a compact job through the shared job-record path.
        statement("CompactJobs", (GET, PUT, UPDATE), [scope.table_arn(naming.JOBS_TABLE)]),
        _submit_jobs(scope),
    ]


def _mark_snapshots_for_the_engine(scope: ConnectorScope) -> list[dict]:
    """backup.start tags the snapshots a backup reads with elastio:resource=true, which the vault task role's
    EBS direct API grants require (lambdas/background_jobs/snapshots.py). CreateTags is allowed to add that
    one tag with that one value and nothing else: no other key, no other value, no removal (DeleteTags)."""
    return [
        # DescribeSnapshots supports no resource-level permissions; read-only (checks the snapshot is ours).
        statement("FindSourceSnapshots", ("ec2:DescribeSnapshots",), ["*"]),
        mark_snapshots_readable(snapshot_arns(scope.region)),
    ]


def _background_jobs(scope: ConnectorScope) -> list[dict | None]:
    return [
        _vault_lookup(scope),
        statement("ReadRecoveryPoints", (GET,), [scope.table_arn(naming.RECOVERY_POINTS_TABLE)]),
        statement("Jobs", (GET, PUT, UPDATE), [scope.table_arn(naming.JOBS_TABLE)]),
        _submit_jobs(scope),
        _terminate_vault_jobs(scope),
        *_mark_snapshots_for_the_engine(scope),
    ]


def _job_status(scope: ConnectorScope) -> list[dict | None]:
    return [
        statement("Jobs", (GET, UPDATE), [scope.table_arn(naming.JOBS_TABLE)]),
        _alerts(scope),
        # Lambda reads the commands table's stream as this role to hand it the outbox (event source polling).
        statement("OutboxStream", OUTBOX_STREAM_READ, [f"{scope.table_arn(naming.COMMANDS_TABLE)}/stream/*"]),
        statement("ListStreams", STREAM_LISTING, ["*"]),
    ]


def _provisioner(scope: ConnectorScope) -> list[dict | None]:
    statements: list[dict | None] = [
        _vault_lookup(scope),
        # The server's state lives in the jobs table under `server-<vault>` (read, then overwritten).
        statement("ServerState", (GET, PUT), [scope.table_arn(naming.JOBS_TABLE)]),
        _alerts(scope),  # a server that does not start is alerted
    ]
    if not scope.vaults:
        return statements
    clusters = [v.cluster_arn for v in scope.vaults]
    return statements + [
        statement(
            "RunServer",
            ("ecs:RunTask",),
            [v.server_task_definition_arn for v in scope.vaults],
            condition={"ArnEquals": {"ecs:cluster": clusters}},
        ),
        statement(
            "ManageServerTasks", ("ecs:StopTask", "ecs:DescribeTasks"), [_tasks_of(c) for c in clusters]
        ),
        statement(
            "PassServerRoles",
            ("iam:PassRole",),
            [arn for v in scope.vaults for arn in (v.task_role_arn, v.execution_role_arn)],
            condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
    ]


def _integrity_checks(scope: ConnectorScope) -> list[dict | None]:
    tables = [scope.table_arn(t) for t in naming.TABLES] + [v.index_table_arn for v in scope.vaults]
    statements: list[dict | None] = [
        statement("ReadVaults", (GET, SCAN), [scope.table_arn(naming.VAULTS_TABLE)]),
        statement("DescribeTables", ("dynamodb:DescribeTable",), tables),
        statement("DescribeEventsQueue", ("sqs:GetQueueAttributes",), [scope.queue_arn(naming.TENANT_EVENTS_QUEUE)]),
        statement("DescribeAlertsTopic", ("sns:GetTopicAttributes",), [scope.topic_arn()]),
        _alerts(scope),
        # Read-only; these Batch describe actions support no resource-level permissions.
        statement(
            "DescribeBatch",
            ("batch:DescribeJobQueues", "batch:DescribeComputeEnvironments", "batch:DescribeJobDefinitions"),
            ["*"],
        ),
    ]
    if not scope.vaults:
        return statements
    buckets = [v.bucket_arn for v in scope.vaults]
    return statements + [
        statement("DescribeClusters", ("ecs:DescribeClusters",), [v.cluster_arn for v in scope.vaults]),
        statement(
            "CheckBucketEncryption",
            ("s3:GetEncryptionConfiguration",),
            buckets,
            condition=in_account_s3(scope.account_id),
        ),
        statement(
            "WriteReports",
            ("s3:PutObject",),
            [f"{b}/{INTEGRITY_REPORTS_PREFIX}*" for b in buckets],
            condition=in_account_s3(scope.account_id),
        ),
        # DescribeKey and GetKeyRotationStatus are the checks; GenerateDataKey encrypts the report (SSE-KMS).
        statement(
            "VaultKeys",
            ("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:GenerateDataKey"),
            [v.key_arn for v in scope.vaults],
        ),
    ]


def _inventory(scope: ConnectorScope) -> list[dict | None]:
    return [
        # Observations are conditional puts; a refresh scans the table and marks vanished assets deleted.
        statement("Assets", (PUT, UPDATE, SCAN), [scope.table_arn(naming.ASSETS_TABLE)]),
        # Read-only; EC2 describe calls cannot be scoped to resources.
        statement(
            "DescribeAssets", ("ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"), ["*"]
        ),
    ]


_SERVICE_STATEMENTS = {
    naming.ROUTER: _router,
    "catalog": _catalog,
    "background_jobs": _background_jobs,
    "job_status": _job_status,
    "provisioner": _provisioner,
    "integrity_checks": _integrity_checks,
    "inventory": _inventory,
}


def _service_statements(scope: ConnectorScope, service: str) -> list[dict | None]:
    try:
        return _SERVICE_STATEMENTS[service](scope)
    except KeyError:
        raise ValueError(f"unknown function {service!r}; known: {', '.join(naming.FUNCTIONS)}") from None


def function_role_policy(scope: ConnectorScope, service: str) -> dict:
    """The execution role policy of one connector function (router or one of the six services)."""
    return document(*_common(scope, service), *_service_statements(scope, service))


def _unrevisioned(job_definition_arn: str) -> str:
    # arn:aws:batch:<region>:<account>:job-definition/<name>:<revision> -> ...:job-definition/<name>
    head, _, revision = job_definition_arn.rpartition(":")
    return head if revision.isdigit() else job_definition_arn


def _tasks_of(cluster_arn: str) -> str:
    # arn:aws:ecs:<region>:<account>:cluster/<name> -> that cluster's tasks
    prefix, _, cluster = cluster_arn.rpartition(":cluster/")
    return f"{prefix}:task/{cluster}/*"


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
    """TLS only; principals of this account send commands, as their IAM policies allow: the ElastioTenant role
    and the people holding one of the six managed policies (which grant sending and redriving failed commands
    back). No principal of another account may send, whatever this policy or another grants it later."""
    queue = scope.queue_arn(naming.COMMANDS_QUEUE)
    return document(
        _deny_insecure_transport("sqs:*", queue),
        _allow_tenant(
            scope, "TenantSends", ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], queue
        ),
        {
            "Sid": "OnlyThisAccountSends",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": queue,
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": scope.account_id}},
        },
    )


def tenant_events_queue_policy(scope: ConnectorScope) -> dict:
    queue = scope.queue_arn(naming.TENANT_EVENTS_QUEUE)
    return document(
        _deny_insecure_transport("sqs:*", queue),
        _allow_tenant(scope, "TenantReceives", list(QUEUE_CONSUME), queue),
    )


def tls_only_queue_policy(scope: ConnectorScope, purpose: str) -> dict:
    """Queues nobody outside the account touches (dead-letter, failed invocations): TLS only."""
    return document(_deny_insecure_transport("sqs:*", scope.queue_arn(purpose)))


def redrive_policy(scope: ConnectorScope, max_receive_count: int) -> dict:
    return {"deadLetterTargetArn": scope.queue_arn(naming.COMMANDS_DLQ), "maxReceiveCount": max_receive_count}


# Queues whose failed messages go to the one dead-letter queue of the region (shared: one alarm watches both).
DEAD_LETTER_SOURCES = (naming.COMMANDS_QUEUE, naming.TENANT_EVENTS_QUEUE)


def dlq_redrive_allow_policy(scope: ConnectorScope) -> dict:
    """Only the command queue and the tenant events queue may use the region's dead-letter queue."""
    return {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [scope.queue_arn(q) for q in DEAD_LETTER_SOURCES],
    }


def connector_key_policy(scope: ConnectorScope) -> dict:
    """The account administers the key (the function roles' IAM policies then grant its use); CloudWatch
    may use it to publish alarms to the encrypted topic; the tenant role only through this region's SQS."""
    return document(
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
    return document(
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

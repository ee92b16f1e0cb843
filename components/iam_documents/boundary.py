"""The default permissions boundary: the most any connector or vault role may ever do."""

from __future__ import annotations

from components import naming
from components.iam_documents._common import (
    EC2_INVENTORY_READ,
    ECS_TASKS_SERVICE,
    QUEUES,
    TAGGED,
    AccountScope,
    _batch_arns,
    _ec2,
    _ecs_cluster_arns,
    _regional,
    _tag_on_create,
    _write_tagged_snapshots,
    all_table_arns,
    deny_unless_tagged,
    document,
    function_arns,
    function_log_group_arns,
    key_arns,
    queue_arns,
    snapshot_arns,
    statement,
    vault_bucket_arns,
    vault_role_arns,
)

# IAM write access of every kind; the boundary denies all of it to the roles it caps.
IAM_CHANGES: tuple[str, ...] = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Put*",
    "iam:Remove*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)


def default_permissions_boundary(scope: AccountScope) -> dict:
    """The most any connector or vault role (and the tenant role) may ever do: the union of the services'
    needs on Elastio resources. It grants nothing by itself; it caps."""
    return document(
        statement(
            "FunctionLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            function_log_group_arns(scope),
        ),
        statement(
            "Queues",
            [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            queue_arns(scope, *QUEUES),
        ),
        statement(
            # Expiry and compaction delete items (recovery points, index entries), never tables.
            "Tables",
            [
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
            ],
            all_table_arns(scope),
        ),
        statement("InvokeServices", ["lambda:InvokeFunction"], function_arns(scope)),
        statement(
            "SubmitJobs",
            ["batch:SubmitJob", "batch:TagResource"],
            _batch_arns(scope, "job-queue")
            + _batch_arns(scope, "job-definition")
            + _regional(scope, "batch", "job/*"),
        ),
        statement(
            "TerminateJobs", ["batch:TerminateJob", "batch:CancelJob"], _regional(scope, "batch", "job/*")
        ),
        statement(
            "ReadJobsAndInventory",
            ["batch:DescribeJobs", "batch:ListJobs", "ecs:DescribeTaskDefinition", *EC2_INVENTORY_READ],
            "*",
        ),
        statement(
            "RunVaultServer",
            ["ecs:RunTask"],
            _regional(scope, "ecs", f"task-definition/{naming.NAME_ROOT}-*:*"),
            {"ArnLike": {"ecs:cluster": _ecs_cluster_arns(scope)}},
        ),
        statement(
            "StopVaultServer",
            ["ecs:StopTask", "ecs:DescribeTasks"],
            _regional(scope, "ecs", f"task/{naming.NAME_ROOT}-*/*"),
            {"ArnLike": {"ecs:cluster": _ecs_cluster_arns(scope)}},
        ),
        statement(
            "PassVaultRoles",
            ["iam:PassRole"],
            vault_role_arns(scope),
            {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
        ),
        statement(
            # Compaction rewrites packs and deletes the old ones: object deletion, never bucket deletion.
            "VaultObjects",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            vault_bucket_arns(scope, "*"),
        ),
        statement("ListVaultBuckets", ["s3:ListBucket"], vault_bucket_arns(scope)),
        statement(
            "UseTaggedKeys",
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            key_arns(scope),
            TAGGED,
        ),
        statement(
            "ReadTaggedSnapshotBlocks",
            ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"],
            snapshot_arns(scope),
            TAGGED,
        ),
        *_write_tagged_snapshots(scope),
        statement(
            "SnapshotVolumes",
            ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
            snapshot_arns(scope) + _ec2(scope, "volume") + _ec2(scope, "instance"),
        ),
        deny_unless_tagged(
            "NewSnapshotsTagged",
            ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
            snapshot_arns(scope),
            request=True,
        ),
        _tag_on_create(scope, ["CreateSnapshot", "CreateSnapshots"]),
        statement(
            # Only the temporary snapshots Elastio made.
            "DeleteTaggedSnapshots",
            ["ec2:DeleteSnapshot"],
            snapshot_arns(scope),
            TAGGED,
        ),
        statement("PublishAlerts", ["sns:Publish"], _regional(scope, "sns", f"{naming.NAME_ROOT}-*")),
        statement(
            "Telemetry",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringEquals": {"cloudwatch:namespace": "Elastio"}},
        ),
        statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        statement("PullImagesAuth", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            _regional(scope, "ecr", "repository/*"),
        ),
        statement("DenyIamChanges", IAM_CHANGES, "*", effect="Deny"),
    )

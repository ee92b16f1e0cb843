"""The default permissions boundary: the most any connector or vault role may ever do."""

from __future__ import annotations

from elastio_pulumi import naming
from elastio_pulumi.constants import JOB_VAULT_TAG_KEY
from elastio_pulumi.iam_documents.builder import (
    ANY_REGION,
    ECS_TASKS_SERVICE,
    QUEUES,
    TAGGED,
    AccountScope,
    account_keys_via_ebs,
    all_table_arns,
    batch_arns,
    document,
    ec2_arns,
    ecs_cluster_arns,
    function_arns,
    function_log_group_arns,
    in_account_s3,
    key_arns,
    mark_snapshots_readable,
    merge_conditions,
    own_deployment,
    own_tagged,
    queue_arns,
    regional_arns,
    snapshot_arns,
    statement,
    table_arns,
    tag_on_create,
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
    """The most any connector or vault role may ever do: the union of what the function roles
    (connector_documents.py) and the vault roles (vault_documents.py) grant, on Elastio
    resources, and nothing wider (tests/test_iam_boundary.py holds the two to each other). It grants nothing by
    itself; it caps. Nothing in it depends on the configured regions, so adding a region never has to change it
    (the installer may not: DenyChangingElastioPolicies)."""
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
            ],
            queue_arns(scope, *QUEUES),
        ),
        statement(
            # Expiry and compaction delete items (recovery points, the vault's lock), never tables. No bounded
            # role calls the batch APIs (the dedup index is held in S3), so they are not within the boundary.
            "Tables",
            [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:DescribeTable",
            ],
            all_table_arns(scope),
        ),
        statement(
            # Lambda reads the commands table's stream (the tenant outbox) as Job status's role
            # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Execution role permissions").
            "OutboxStream",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [f"{arn}/stream/*" for arn in table_arns(scope, naming.COMMANDS_TABLE, indexes=False)],
        ),
        statement("InvokeServices", ["lambda:InvokeFunction"], function_arns(scope)),
        statement(
            # SubmitJob with tags is also authorised as batch:TagResource.
            "SubmitJobs",
            ["batch:SubmitJob", "batch:TagResource"],
            batch_arns(scope, "job-queue")
            + batch_arns(scope, "job-definition")
            + regional_arns(scope, "batch", "job/*"),
        ),
        statement(
            # Job ARNs carry no queue: the vault and deployment tags the submitter puts on every job scope them.
            "TerminateVaultJobs",
            ["batch:TerminateJob"],
            regional_arns(scope, "batch", "job/*"),
            merge_conditions(
                {"Null": {f"aws:ResourceTag/{JOB_VAULT_TAG_KEY}": "false"}}, own_deployment(scope.name_prefix)
            ),
        ),
        statement(
            # Reads, telemetry and the registry login: none of these supports resource-level permissions.
            "NoResourceLevelPermissions",
            [
                "ec2:DescribeInstances",
                "ec2:DescribeVolumes",
                "ec2:DescribeSnapshots",
                "batch:DescribeJobQueues",
                "batch:DescribeComputeEnvironments",
                "batch:DescribeJobDefinitions",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "ecr:GetAuthorizationToken",
                "dynamodb:ListStreams",
            ],
            "*",
        ),
        statement(
            "RunVaultServer",
            ["ecs:RunTask"],
            regional_arns(scope, "ecs", f"task-definition/{scope.name_prefix}-*:*"),
            {"ArnLike": {"ecs:cluster": ecs_cluster_arns(scope)}},
        ),
        statement(
            # Task ARNs name their cluster (task/<cluster>/<id>), so the ARN alone keeps these to vault clusters.
            "VaultServerTasks",
            ["ecs:StopTask", "ecs:DescribeTasks", "ecs:DescribeClusters"],
            regional_arns(scope, "ecs", f"task/{scope.name_prefix}-*/*") + ecs_cluster_arns(scope),
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
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectRetention"],
            vault_bucket_arns(scope, "*"),
            in_account_s3(scope.account_id),
        ),
        statement(
            "VaultBuckets",
            ["s3:ListBucket", "s3:GetEncryptionConfiguration"],
            vault_bucket_arns(scope),
            in_account_s3(scope.account_id),
        ),
        # The deployment's own keys and restored snapshots, in one statement (IAM's 6,144-character quota: the
        # boundary is one policy). Exactly the two grants apart: each action applies only to its own resource
        # type (a KMS action never to a snapshot ARN, an EBS one never to a key ARN).
        statement(
            "OwnKeysAndSnapshots",
            [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:DescribeKey",
                "kms:GetKeyRotationStatus",
                "ebs:PutSnapshotBlock",
                "ebs:CompleteSnapshot",
            ],
            key_arns(scope) + snapshot_arns(scope),
            own_tagged(scope.name_prefix),
        ),
        *account_keys_via_ebs(scope),
        statement(
            "ReadTaggedSnapshotBlocks",
            ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"],
            snapshot_arns(scope),
            TAGGED,
        ),
        statement(
            # Restored snapshots (ebs:StartSnapshot) and a restore to an availability zone (CreateVolume, which
            # authorises the source snapshot too), tagged for this deployment in the request; one statement for
            # the quota, as above (StartSnapshot's only resource is a snapshot).
            "CreateOwnRestores",
            ["ebs:StartSnapshot", "ec2:CreateVolume"],
            ec2_arns(scope, "volume") + snapshot_arns(scope),
            own_tagged(scope.name_prefix, request=True),
        ),
        tag_on_create(scope, ["CreateVolume"], ec2_arns(scope, "volume")),
        mark_snapshots_readable(snapshot_arns(scope)),
        statement(
            "Alerts", ["sns:Publish", "sns:GetTopicAttributes"], regional_arns(scope, "sns", f"{scope.name_prefix}-*")
        ),
        statement(
            # The execution role pulls the configured images from whichever account's registry they name (a
            # central registry's repository policy admits this account); the actions only read images.
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            naming.arn("ecr", ANY_REGION, "*", "repository/*"),
        ),
        statement("DenyIamChanges", IAM_CHANGES, "*", effect="Deny"),
    )

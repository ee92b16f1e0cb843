"""The six customer-attachable managed policies for people (their frozen descriptions are in descriptions.py)."""

from __future__ import annotations

from collections.abc import Callable

from elastio_pulumi.constants import (
    LOCAL_BACKUP_TAG_KEY,
    MANAGED_POLICY_NAMES,
    RESOURCE_TAG_VALUE,
)
from elastio_pulumi.iam_documents.builder import (
    ASSETS_TABLE,
    COMMANDS_DLQ,
    COMMANDS_QUEUE,
    EC2_INVENTORY_READ,
    FAILED_INVOCATIONS_QUEUE,
    JOBS_TABLE,
    RECOVERY_POINTS_TABLE,
    REQUEST_TAGGED,
    TAGGED,
    VAULTS_TABLE,
    AccountScope,
    document,
    ecs_cluster_arns,
    function_arns,
    function_log_group_arns,
    in_account_s3,
    key_arns,
    keys_via_ebs,
    kms_via,
    kms_via_sqs,
    merge_conditions,
    not_another_deployments,
    own_tagged,
    queue_arns,
    regional_arns,
    snapshot_arns,
    statement,
    table_arns,
    tag_on_create,
    vault_bucket_arns,
    write_tagged_snapshots,
)


def _create_tagged_snapshots(scope: AccountScope) -> dict:
    return statement(
        "CreateTaggedSnapshots",
        ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
        snapshot_arns(scope),
        REQUEST_TAGGED,
    )


def _snapshot_opted_in_volumes(scope: AccountScope) -> list[dict]:
    """Only the customer's volumes opted in with LOCAL_BACKUP_TAG_KEY; CreateSnapshots (every volume of an
    instance) authorises each volume too, so an instance with one volume not opted in is refused."""
    return [
        statement(
            "SnapshotOptedInVolumes",
            ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
            regional_arns(scope, "ec2", "volume/*"),
            {"StringEquals": {f"aws:ResourceTag/{LOCAL_BACKUP_TAG_KEY}": RESOURCE_TAG_VALUE}},
        ),
        statement("SnapshotInstanceVolumes", ["ec2:CreateSnapshots"], regional_arns(scope, "ec2", "instance/*")),
    ]


def _send_commands(scope: AccountScope) -> list[dict]:
    """Every operation is a command on the queue; IAM cannot tell command types apart, so each policy grants
    sending, and differs in what it may read and which AWS APIs it may call directly."""
    return [
        statement(
            "SendCommands",
            ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            queue_arns(scope, COMMANDS_QUEUE),
        ),
        kms_via_sqs("UseConnectorKeyViaSqs", scope),
    ]


def _read_tables(scope: AccountScope, *tables: str) -> dict:
    return statement(
        "ReadElastioTables",
        ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
        table_arns(scope, *tables),
    )


def _inventory_read() -> dict:
    return statement("ReadInventory", EC2_INVENTORY_READ, "*")


def agentless_backup_and_restore(scope: AccountScope) -> dict:
    """For: starting backups of EC2 instances and EBS volumes and restores (backup.start, restore.start),
    with read access to inventory, recovery points and job progress."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE),
        _inventory_read(),
    )


def _dead_letters(scope: AccountScope) -> list[dict]:
    """Inspect failed commands and move them back to the command queue (redrive). The move task receives and
    deletes each message on the dead-letter queue as the caller, so redrive needs sqs:DeleteMessage there
    (SQS Developer Guide, "Configure queue permissions for dead-letter queue redrive")."""
    return [
        statement(
            "InspectAndRedriveFailedCommands",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:StartMessageMoveTask",
                "sqs:ListMessageMoveTasks",
            ],
            queue_arns(scope, COMMANDS_DLQ, FAILED_INVOCATIONS_QUEUE),
        ),
        _kms_via_sqs_decrypt("ReadDeadLettersViaSqs", scope),
    ]


def backup_admin(scope: AccountScope) -> dict:
    """For: running backups and managing them: expiring recovery points, reading every Elastio table, and
    inspecting and redriving commands that failed (the command and failed-invocation dead-letter queues)."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE, VAULTS_TABLE),
        *_dead_letters(scope),
        _inventory_read(),
    )


def full_admin(scope: AccountScope) -> dict:
    """For: administering everything Elastio: all commands (including vault server start and stop), every
    table, dead-letter queues, function logs, Batch jobs and ECS tasks, and the vaults' integrity reports;
    still no data deletion."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE, VAULTS_TABLE),
        *_dead_letters(scope),
        statement(
            "ReadFunctionLogs",
            ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            function_log_group_arns(scope),
        ),
        statement(
            "ReadFunctions",
            ["lambda:GetFunction", "lambda:GetFunctionConfiguration"],
            function_arns(scope),
        ),
        statement(
            "ReadJobsAndTasks",
            [
                "batch:DescribeJobs",
                "batch:ListJobs",
                "batch:DescribeJobQueues",
                "ecs:DescribeTaskDefinition",
                *EC2_INVENTORY_READ,
            ],
            "*",
        ),
        statement(
            "ReadVaultServerTasks",
            ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:DescribeClusters"],
            ecs_cluster_arns(scope)
            + regional_arns(scope, "ecs", f"task/{scope.name_prefix}-*/*")
            + regional_arns(scope, "ecs", f"container-instance/{scope.name_prefix}-*/*"),
        ),
        statement(
            "ListVaultReports",
            ["s3:ListBucket"],
            vault_bucket_arns(scope),
            {"StringLike": {"s3:prefix": ["reports/*"]}, **in_account_s3(scope.account_id)},
        ),
        statement(
            # The vault bucket policy refuses everything else in the bucket to everyone but the vault's roles.
            "ReadVaultReports",
            ["s3:GetObject"],
            vault_bucket_arns(scope, "reports/*"),
            in_account_s3(scope.account_id),
        ),
        statement(
            "DecryptReportsViaS3",
            ["kms:Decrypt"],
            key_arns(scope),
            merge_conditions(kms_via("s3", scope), own_tagged(scope.name_prefix)),
        ),
    )


def jobs_admin(scope: AccountScope) -> dict:
    """For: following and cancelling jobs (job.status, job.cancel) and reading the jobs table and Batch job
    details."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, JOBS_TABLE),
        statement("ReadBatchJobs", ["batch:DescribeJobs", "batch:ListJobs"], "*"),
    )


def local_backup(scope: AccountScope) -> dict:
    """For: backing up to a vault from this account: snapshotting volumes (tagged for Elastio), reading those
    snapshots through the EBS direct APIs, and sending backup.start."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, JOBS_TABLE),
        _inventory_read(),
        _create_tagged_snapshots(scope),
        *_snapshot_opted_in_volumes(scope),
        tag_on_create(scope, ["CreateSnapshot", "CreateSnapshots"]),
        statement(
            "ReadTaggedSnapshotBlocks",
            ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"],
            snapshot_arns(scope),
            TAGGED,
        ),
        # The snapshots of the customer's volumes are encrypted with the customer's keys (aws/ebs needs no grant:
        # its key policy admits the account's principals through EC2): only through EC2, in the regions, and
        # never another deployment's vault key.
        *keys_via_ebs(
            key_arns(scope),
            merge_conditions(
                kms_via("ec2", scope), not_another_deployments(scope.name_prefix)
            ),
        ),
    )


def mount_and_restore(scope: AccountScope) -> dict:
    """For: restoring and mounting recovery points: writing restored snapshots through the EBS direct APIs,
    creating volumes from them and attaching them, all on resources tagged elastio:resource."""
    own, own_request = own_tagged(scope.name_prefix), own_tagged(scope.name_prefix, request=True)
    return document(
        *_send_commands(scope),
        _read_tables(scope, RECOVERY_POINTS_TABLE, JOBS_TABLE),
        _inventory_read(),
        *write_tagged_snapshots(scope),
        statement(
            "CreateTaggedVolumes",
            ["ec2:CreateVolume"],
            regional_arns(scope, "ec2", "volume/*"),
            own_request,
        ),
        statement(
            "FromTaggedSnapshots",
            ["ec2:CreateVolume"],
            snapshot_arns(scope),
            own,
        ),
        tag_on_create(scope, ["CreateVolume"]),
        statement(
            "AttachTaggedVolumes",
            ["ec2:AttachVolume", "ec2:DetachVolume"],
            regional_arns(scope, "ec2", "volume/*"),
            own,
        ),
        # Restored snapshots are encrypted with the vault key: writing them and creating volumes from them uses it
        # through EC2 (vault keys carry the Elastio tag).
        *keys_via_ebs(key_arns(scope), merge_conditions(kms_via("ec2", scope), own)),
        statement(
            # The target instance is the customer's own; the volume statement above carries the tag scope.
            "AttachToInstances",
            ["ec2:AttachVolume", "ec2:DetachVolume"],
            regional_arns(scope, "ec2", "instance/*"),
        ),
    )


def _kms_via_sqs_decrypt(sid: str, scope: AccountScope) -> dict:
    return statement(
        sid,
        ["kms:Decrypt"],
        key_arns(scope),
        merge_conditions(kms_via("sqs", scope), own_tagged(scope.name_prefix)),
    )


MANAGED_POLICY_BUILDERS: dict[str, Callable[[AccountScope], dict]] = {
    "ElastioAgentlessBackupAndRestore": agentless_backup_and_restore,
    "ElastioBackupAdmin": backup_admin,
    "ElastioFullAdmin": full_admin,
    "ElastioJobsAdmin": jobs_admin,
    "ElastioLocalBackup": local_backup,
    "ElastioMountAndRestore": mount_and_restore,
}


def managed_policies(scope: AccountScope) -> dict[str, dict]:
    """The six managed policies, keyed by their base names (constants.MANAGED_POLICY_NAMES)."""
    return {name: MANAGED_POLICY_BUILDERS[name](scope) for name in MANAGED_POLICY_NAMES}

"""ElastioTenant: what the tenant's control plane may do in this account."""

from __future__ import annotations

from elastio_pulumi.iam_documents.builder import (
    COMMANDS_QUEUE,
    JOBS_TABLE,
    RECOVERY_POINTS_TABLE,
    TENANT_EVENTS_QUEUE,
    AccountScope,
    document,
    kms_via_sqs,
    queue_arns,
    statement,
    table_arns,
)


def tenant_access_policy(scope: AccountScope) -> dict:
    """ElastioTenant: send commands, read replies and job results; nothing else."""
    return document(
        statement(
            "SendCommands",
            ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            queue_arns(scope, COMMANDS_QUEUE),
        ),
        statement(
            "ReceiveTenantEvents",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueUrl",
                "sqs:GetQueueAttributes",
            ],
            queue_arns(scope, TENANT_EVENTS_QUEUE),
        ),
        statement(
            "ReadJobsAndRecoveryPoints",
            ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
            table_arns(scope, JOBS_TABLE, RECOVERY_POINTS_TABLE),
        ),
        kms_via_sqs("UseConnectorKeyViaSqs", scope),
    )

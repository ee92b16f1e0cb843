"""The seam between lambdas/ and the function roles: every AWS call a handler makes is allowed by its role, on
the resource it touches, and the role allows nothing the code does not call.

`CALLS` is the table read off the handlers (lambdas/README.md, "IAM the functions need"); the source scan
(tests/components/aws_calls.py) keeps it honest: a new boto3 call in lambdas/ that the table does not list,
or a listed call the code no longer makes, fails here before it fails in a deployed account.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from elastio_pulumi import connector_documents as docs
from elastio_pulumi import naming
from tests.components.aws_calls import ROOT, actions_in, actions_in_source, allows
from tests.components.test_connector_documents import SCOPE, allowed

LAMBDAS = ROOT / "src" / "elastio_pulumi" / "functions" / "lambdas"

LAMBDA_SERVICES = ("dynamodb", "sqs", "sns", "s3", "kms", "batch", "ecs", "lambda", "ec2")
# Listed actions no boto3 call in lambdas/ names: Powertools' DynamoDB idempotency layer (router) also deletes
# records in the commands table, ecs:RunTask passes the task definition's roles (iam:PassRole), and SubmitJob's
# tags are authorised as batch:TagResource on the new job.
NOT_IN_SOURCE = {"dynamodb:DeleteItem", "iam:PassRole", "batch:TagResource"}


def calls(scope: docs.ConnectorScope) -> dict[str, dict[str, list[str]]]:
    """function -> IAM action of each call its handler makes -> the resources it touches."""
    table = scope.table_arn
    vaults = scope.vaults
    some_job = scope.jobs_arn_pattern().replace("*", "0f1e2d3c-aaaa-bbbb-cccc-000011112222")
    events = {"sqs:SendMessage": [scope.queue_arn("tenant-events")]}
    outbox = table("commands")  # every service queues its events and alerts there (lambdas/shared/outbox.py)
    alerts = {"sns:Publish": [scope.topic_arn()]}
    definitions = [d for v in vaults for d in v.job_definition_arns]
    submit = {
        "batch:SubmitJob": [v.job_queue_arn for v in vaults] + definitions + [some_job],
        "batch:TagResource": [some_job],
    }
    return {
        naming.ROUTER: {
            **events,
            "lambda:InvokeFunction": [scope.function_arn(s) for s in naming.SERVICES],
            **{a: [table("commands")] for a in (docs.GET, docs.PUT, docs.UPDATE, docs.DELETE)},
        },
        "catalog": {
            **events,
            docs.GET: [table("vaults"), table("jobs")],
            docs.PUT: [table("recovery-points"), table("jobs"), outbox],
            docs.UPDATE: [table("recovery-points"), table("jobs")],
            docs.QUERY: [table("recovery-points"), f"{table('recovery-points')}/index/byVault"],
            **submit,
        },
        "background_jobs": {
            **events,
            docs.GET: [table("vaults"), table("recovery-points"), table("jobs")],
            docs.PUT: [table("jobs"), outbox],
            docs.UPDATE: [table("jobs")],
            **submit,
            "batch:TerminateJob": [some_job],
            # backup.start marks the snapshots the engine reads (lambdas/background_jobs/snapshots.py).
            "ec2:DescribeSnapshots": ["*"],
            "ec2:CreateTags": [f"arn:aws:ec2:{scope.region}::snapshot/snap-0123456789abcdef0"],
        },
        "job_status": {**events, **alerts, docs.GET: [table("jobs")], docs.UPDATE: [table("jobs")],
                       docs.PUT: [outbox]},
        "provisioner": {
            **events,
            **alerts,
            docs.GET: [table("vaults"), table("jobs")],
            docs.PUT: [table("jobs"), outbox],
            "ecs:RunTask": [v.server_task_definition_arn for v in vaults],
            "ecs:DescribeTasks": [f"{v.cluster_arn.replace(':cluster/', ':task/')}/abc123" for v in vaults],
            "ecs:StopTask": [f"{v.cluster_arn.replace(':cluster/', ':task/')}/abc123" for v in vaults],
            "iam:PassRole": [arn for v in vaults for arn in (v.task_role_arn, v.execution_role_arn)],
        },
        "integrity_checks": {
            **events,
            **alerts,
            docs.GET: [table("vaults")],
            docs.SCAN: [table("vaults")],
            docs.PUT: [outbox],
            "dynamodb:DescribeTable": [table(t) for t in naming.TABLES] + [v.index_table_arn for v in vaults],
            "sqs:GetQueueAttributes": [scope.queue_arn("tenant-events")],
            "sns:GetTopicAttributes": [scope.topic_arn()],
            "s3:GetEncryptionConfiguration": [v.bucket_arn for v in vaults],
            "s3:PutObject": [f"{v.bucket_arn}/reports/integrity/2025-01-01T00-00-00Z.json" for v in vaults],
            "kms:DescribeKey": [v.key_arn for v in vaults],
            "kms:GetKeyRotationStatus": [v.key_arn for v in vaults],
            "batch:DescribeJobQueues": ["*"],
            "batch:DescribeComputeEnvironments": ["*"],
            "batch:DescribeJobDefinitions": ["*"],
            "ecs:DescribeClusters": [v.cluster_arn for v in vaults],
        },
        "inventory": {
            **events,
            docs.PUT: [table("assets"), outbox],
            docs.UPDATE: [table("assets")],
            docs.SCAN: [table("assets")],
            "ec2:DescribeInstances": ["*"],
            "ec2:DescribeVolumes": ["*"],
            "ec2:DescribeSnapshots": ["*"],
        },
    }


# What Lambda and the AWS services do with the role besides the handler's own calls.
PLATFORM = {
    "logs:CreateLogStream", "logs:PutLogEvents",  # the function's log group
    "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey",  # SQS, SNS, DynamoDB on the caller's behalf
    "xray:PutTraceSegments", "xray:PutTelemetryRecords",  # active tracing
}
EVENT_SOURCE_POLLING = {
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"
}
# Job status is also the outbox sender: Lambda reads the commands table's stream as its role.
STREAM_POLLING = set(docs.OUTBOX_STREAM_READ) | set(docs.STREAM_LISTING)
# The on-failure destination of asynchronous invocations: Lambda sends as the function's role.
ON_FAILURE = {"sqs:SendMessage"}
# Writing the integrity report with SSE-KMS asks KMS for a data key as the caller.
REPORT_ENCRYPTION = {"kms:GenerateDataKey"}


def source_files(function: str) -> list[Path]:
    return sorted((LAMBDAS / function).glob("*.py"))


@pytest.mark.parametrize("function", naming.FUNCTIONS)
def test_every_call_of_a_function_is_allowed_on_the_resource_it_touches(function):
    policy = docs.function_role_policy(SCOPE, function)
    missing = [
        (action, resource)
        for action, resources in calls(SCOPE)[function].items()
        for resource in resources
        if not allows(policy, action, resource)
    ]
    assert missing == [], f"{function} role lacks these"


@pytest.mark.parametrize("function", naming.FUNCTIONS)
def test_a_function_role_allows_no_action_its_code_does_not_call(function):
    granted = {action for action, _ in allowed(docs.function_role_policy(SCOPE, function))}
    platform = PLATFORM | ON_FAILURE | (EVENT_SOURCE_POLLING if function == naming.ROUTER else set()) | (
        STREAM_POLLING if function == "job_status" else set())
    assert granted - set(calls(SCOPE)[function]) - platform == set()


@pytest.mark.parametrize("function", naming.FUNCTIONS)
def test_the_calls_table_lists_every_aws_call_in_the_function_package(function):
    in_code = actions_in(source_files(function), LAMBDA_SERVICES, ("lambdas",))
    assert in_code - set(calls(SCOPE)[function]) == set()


def test_every_aws_call_of_the_shared_code_is_listed_for_some_function():
    listed = set().union(*(set(c) for c in calls(SCOPE).values()))
    shared = actions_in(sorted((LAMBDAS / "shared").glob("*.py")), LAMBDA_SERVICES, ("lambdas",))
    assert shared - listed == set()


def test_the_calls_table_lists_nothing_the_code_no_longer_calls():
    listed = set().union(*(set(c) for c in calls(SCOPE).values())) - NOT_IN_SOURCE
    in_code = actions_in(sorted((LAMBDAS).rglob("*.py")), LAMBDA_SERVICES, ("lambdas",))
    assert listed - in_code == set()


def test_the_source_scan_finds_a_call_passed_on_as_a_method_and_a_paginator():
    source = "rows = paginate(table.scan)\npages = ec2.get_paginator('describe_volumes')\ntenant.publish(1)\n"
    source = "from lambdas.shared import tenant\n" + source
    found = actions_in_source(source, LAMBDA_SERVICES, ("lambdas",))
    assert found == {"dynamodb:Scan", "ec2:DescribeVolumes"}


def test_the_permission_check_reports_a_call_the_role_does_not_allow():
    bare = docs.ConnectorScope(
        region=SCOPE.region, account_id=SCOPE.account_id, key_arn=SCOPE.key_arn,
        tenant_role_arn=SCOPE.tenant_role_arn,
    )
    assert not allows(docs.function_role_policy(bare, "provisioner"), "ecs:RunTask", "*")


"""The ECS calls of the Provisioner, kept apart so they can be tested against AWS-shaped responses.

(moto 5.2 cannot run Fargate/awsvpc tasks, so these are tested with botocore's Stubber.)
"""

from __future__ import annotations

from typing import Any

from lambdas.shared.vaults import VaultRecord

# lastStatus values of a task that is running or on its way there.
ACTIVE_STATUSES = frozenset({"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"})


class ServerTaskError(RuntimeError):
    """ECS refused to start the server task; the message carries ECS's reasons."""


def run_server_task(ecs: Any, vault: VaultRecord, started_by: str) -> str:
    """Run the server task; `started_by` (the command id) is also the idempotency token.

    ECS RunTask's `clientToken` (up to 64 characters) makes a repeated request return the task the first
    one started instead of starting another, so a retried or duplicated `server.start` runs one task.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
    """
    response = ecs.run_task(
        clientToken=started_by[:64],
        cluster=vault.clusterArn,
        taskDefinition=vault.serverTaskDefinitionArn,
        launchType="FARGATE",
        count=1,
        startedBy=started_by[:36],  # ECS limit
        propagateTags="TASK_DEFINITION",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": list(vault.subnetIds),
            "securityGroups": [vault.securityGroupId],
            "assignPublicIp": "ENABLED" if vault.assignPublicIp else "DISABLED",
        }},
    )
    tasks = response.get("tasks", [])
    if not tasks:
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}: {f.get('detail', '')}".strip()
                            for f in response.get("failures", [])) or "no task and no reason returned"
        raise ServerTaskError(f"ECS did not start the ScaleZ server of vault {vault.vaultName!r}: {reasons}")
    return tasks[0]["taskArn"]


def task_is_active(ecs: Any, cluster: str, task_arn: str) -> bool:
    tasks = ecs.describe_tasks(cluster=cluster, tasks=[task_arn]).get("tasks", [])
    return bool(tasks) and tasks[0].get("lastStatus") in ACTIVE_STATUSES


def stop_server_task(ecs: Any, cluster: str, task_arn: str, reason: str) -> None:
    ecs.stop_task(cluster=cluster, task=task_arn, reason=reason[:255])

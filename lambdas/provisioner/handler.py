"""Provisioner: `server.start` / `server.stop` run and stop a vault's ScaleZ server ECS task.

The server's state is kept in the jobs table under `server-<vaultName>` (type `server`): it is a
long-running task of the vault, and the vaults table belongs to the program.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.provisioner import ecs_tasks
from lambdas.shared import aws, tenant
from lambdas.shared.envelopes import ServerStart, ServerStop, now_iso
from lambdas.shared.jobs import get_job, jobs_table
from lambdas.shared.service import run_command
from lambdas.shared.vaults import load_vault

logger = Logger(service="provisioner")


def server_record_id(vault_name: str) -> str:
    return f"server-{vault_name}"


def _record(vault_name: str, state: str, task_arn: str | None, correlation_id: str,
            reason: str | None = None) -> dict[str, Any]:
    item = {"jobId": server_record_id(vault_name), "type": "server", "vaultName": vault_name, "state": state,
            "updatedAt": now_iso(), "correlationId": correlation_id}
    if task_arn:
        item["taskArn"] = task_arn
    if reason:
        item["reason"] = reason
    jobs_table().put_item(Item=item)
    return item


def _announce(item: dict[str, Any], correlation_id: str) -> None:
    view = {key: item.get(key) for key in ("vaultName", "state", "taskArn", "reason") if item.get(key)}
    tenant.publish("server.state", view, correlation_id)


def start_server(command: ServerStart) -> dict[str, Any]:
    vault = load_vault(command.payload.vaultName)
    ecs = aws.client("ecs")
    correlation_id = str(command.id)
    current = get_job(server_record_id(vault.vaultName))
    if current and current.get("taskArn") and current.get("state") == "RUNNING" and \
            ecs_tasks.task_is_active(ecs, vault.clusterArn, current["taskArn"]):
        _announce(current, correlation_id)
        return {"taskArn": current["taskArn"], "started": False}
    try:
        task_arn = ecs_tasks.run_server_task(ecs, vault, started_by=correlation_id)
    except ecs_tasks.ServerTaskError as error:
        failed = _record(vault.vaultName, "FAILED", None, correlation_id, reason=str(error))
        _announce(failed, correlation_id)
        tenant.alert(f"Elastio ScaleZ server of vault {vault.vaultName} did not start", failed)
        return {"started": False, "reason": str(error)}
    item = _record(vault.vaultName, "RUNNING", task_arn, correlation_id)
    _announce(item, correlation_id)
    return {"taskArn": task_arn, "started": True}


def stop_server(command: ServerStop) -> dict[str, Any]:
    vault = load_vault(command.payload.vaultName)
    correlation_id = str(command.id)
    current = get_job(server_record_id(vault.vaultName))
    task_arn = current.get("taskArn") if current else None
    running = bool(task_arn) and current.get("state") == "RUNNING"
    if running:
        ecs_tasks.stop_server_task(aws.client("ecs"), vault.clusterArn, task_arn,
                                   reason=f"server.stop command {correlation_id}")
    item = _record(vault.vaultName, "STOPPED", task_arn, correlation_id)
    _announce(item, correlation_id)
    return {"taskArn": task_arn, "stopped": running}


HANDLERS = {"server.start": start_server, "server.stop": stop_server}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, HANDLERS, logger)

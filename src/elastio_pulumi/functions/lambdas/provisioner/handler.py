"""Provisioner: `server.start` / `server.stop` run and stop a vault's ScaleZ server ECS task.

The server's state is kept in the jobs table under `server-<vaultName>` (type `server`): it is a
long-running task of the vault, and the vaults table belongs to the program.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lambdas.provisioner import ecs_tasks
from lambdas.shared import aws, outbox, tenant
from lambdas.shared.config import settings
from lambdas.shared.dynamo import is_condition_failure
from lambdas.shared.envelopes import ServerStart, ServerStop, now_iso
from lambdas.shared.jobs import get_job, jobs_table
from lambdas.shared.service import run_command
from lambdas.shared.vaults import load_vault

logger = Logger(service="provisioner")


def server_record_id(vault_name: str) -> str:
    return f"server-{vault_name}"


class ServerBusy(RuntimeError):
    """Another server command of this vault is in flight; Lambda retries this one after it."""


# A command that has held the vault's server record this long without finishing has died (the function
# timeout is minutes); the next command may take over.
STALE_AFTER = timedelta(minutes=15)
FINISHED = ("RUNNING", "STOPPED", "FAILED")


def _take_turn(vault_name: str, command_id: str, state: str) -> dict[str, Any] | None:
    """Record this command's intent (`state`: STARTING/STOPPING) unless another command is in flight;
    None when this command has already finished (a retry or a duplicate that came second).

    Server commands of one vault are serialized by this conditional write: it succeeds only on the record
    as it was read (optimistic lock on updatedAt), or when this command holds it with the same intent.
    """
    record_id = server_record_id(vault_name)
    current = get_job(record_id)
    if current and current.get("commandId") == command_id and current.get("state") in FINISHED:
        return None
    if current and current.get("commandId") != command_id and current.get("state") not in FINISHED:
        started = datetime.fromisoformat(str(current["updatedAt"]).replace("Z", "+00:00"))
        if datetime.now(UTC) - started < STALE_AFTER:
            raise ServerBusy(f"server of vault {vault_name!r} is {current['state']} for command "
                             f"{current.get('commandId')}; retrying after it")
    item = {**(current or {}), "jobId": record_id, "type": "server", "vaultName": vault_name, "state": state,
            "commandId": command_id, "correlationId": command_id, "updatedAt": now_iso()}
    item.pop("reason", None)
    try:
        if current is None:
            jobs_table().put_item(Item=item, ConditionExpression="attribute_not_exists(jobId)")
        else:
            jobs_table().put_item(
                Item=item, ConditionExpression="updatedAt = :seen OR (commandId = :me AND #state = :intent)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":seen": current["updatedAt"], ":me": command_id, ":intent": state})
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        now = get_job(record_id) or {}
        if now.get("commandId") == command_id and now.get("state") in FINISHED:
            return None
        raise ServerBusy(f"server of vault {vault_name!r} changed meanwhile; retrying") from None
    return item


def _finish(item: dict[str, Any], state: str, *, task_arn: str | None = None, reason: str | None = None,
            alert_subject: str | None = None) -> dict[str, Any]:
    """Record the outcome and announce it, together; a repeat (same command, same outcome) changes nothing."""
    done = {**item, "state": state, "updatedAt": now_iso()}
    if task_arn:
        done["taskArn"] = task_arn
    if reason:
        done["reason"] = reason
    command_id = item["commandId"]
    view = {key: done.get(key) for key in ("vaultName", "state", "taskArn", "reason") if done.get(key)}
    messages = [outbox.event("server.state", view, command_id, command_id, state)]
    if alert_subject:
        messages.append(outbox.alert(alert_subject, done, command_id, state))
    try:
        outbox.commit([outbox.put(settings().jobs_table, done, "commandId = :me AND #state = :was",
                                  values={":me": command_id, ":was": item["state"]}, names={"#state": "state"})],
                      messages)
    except outbox.Stale:
        pass  # an earlier attempt of this command recorded and announced it
    return done


def start_server(command: ServerStart) -> dict[str, Any]:
    vault = load_vault(command.payload.vaultName)
    ecs = aws.client("ecs")
    current = get_job(server_record_id(vault.vaultName))
    if current and current.get("commandId") == command.id and current.get("state") in FINISHED:
        return {"taskArn": current.get("taskArn"), "started": False}  # a repeat: done and announced
    if current and current.get("commandId") != command.id and current.get("state") == "RUNNING" and \
            current.get("taskArn") and ecs_tasks.task_is_active(ecs, vault.clusterArn, current["taskArn"]):
        view = {key: current.get(key) for key in ("vaultName", "state", "taskArn") if current.get(key)}
        tenant.answer("server.state", view, command.id)
        return {"taskArn": current["taskArn"], "started": False}
    item = _take_turn(vault.vaultName, command.id, "STARTING")
    if item is None:
        return {"started": False}  # this command already ran (and announced) its start
    try:
        task_arn = ecs_tasks.run_server_task(ecs, vault, started_by=command.id)
    except ecs_tasks.ServerTaskError as error:
        _finish(item, "FAILED", reason=str(error),
                alert_subject=f"Elastio ScaleZ server of vault {vault.vaultName} did not start")
        return {"started": False, "reason": str(error)}
    _finish(item, "RUNNING", task_arn=task_arn)
    return {"taskArn": task_arn, "started": True}


def stop_server(command: ServerStop) -> dict[str, Any]:
    vault = load_vault(command.payload.vaultName)
    current = get_job(server_record_id(vault.vaultName))
    if current and current.get("commandId") == command.id and current.get("state") in FINISHED:
        return {"taskArn": current.get("taskArn"), "stopped": False}  # a repeat: done and announced
    item = _take_turn(vault.vaultName, command.id, "STOPPING")
    if item is None:
        return {"stopped": False}  # this command already stopped the server
    task_arn = item.get("taskArn")
    running = bool(task_arn) and (current or {}).get("state") in ("RUNNING", "STARTING", "STOPPING")
    if running:
        # StopTask on a stopped task succeeds, so a retry may repeat it.
        ecs_tasks.stop_server_task(aws.client("ecs"), vault.clusterArn, task_arn,
                                   reason=f"server.stop command {command.id}")
    _finish(item, "STOPPED", task_arn=task_arn)
    return {"taskArn": task_arn, "stopped": running}


HANDLERS = {"server.start": start_server, "server.stop": stop_server}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, HANDLERS, logger)

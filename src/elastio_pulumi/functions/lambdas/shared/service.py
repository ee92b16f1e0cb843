"""The common shape of a service function invoked by the router with a validated command."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from lambdas.shared import tenant
from lambdas.shared.envelopes import Command, CommandRejected, parse_command

CommandHandler = Callable[[Any], dict[str, Any]]


def is_command(event: Any) -> bool:
    return isinstance(event, dict) and "type" in event and "payload" in event and "detail-type" not in event


def run_command(
    event: dict[str, Any], handlers: Mapping[str, CommandHandler], logger: Logger
) -> dict[str, Any]:
    """Validate the envelope again (the function may be invoked directly), run its handler.

    A CommandRejected (bad envelope, unknown vault or job) goes to the tenant as `command.rejected` and
    the invocation succeeds: retrying would not help. Any other error propagates so Lambda retries the
    asynchronous invocation and finally records it on the failed-invocations queue.
    """
    command: Command | None = None
    try:
        command = parse_command(event)
        handle = handlers.get(command.type)
        if handle is None:
            raise CommandRejected(f"command type {command.type!r} is not handled by this service")
        logger.append_keys(commandId=command.id, commandType=command.type)
        return {"status": "done", **handle(command)}
    except CommandRejected as rejection:
        if command is not None:
            rejection.command_id = command.id
            rejection.command_type = command.type
        logger.warning("command rejected", extra={"reason": rejection.reason})
        tenant.reject(rejection)
        return {"status": "rejected", "reason": rejection.reason}

"""Hand a validated command to its service: an asynchronous Lambda invocation, recorded for idempotency."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from lambdas.shared import aws
from lambdas.shared.config import ConfigError, settings
from lambdas.shared.envelopes import MAX_CLOCK_SKEW, MAX_COMMAND_AGE, SERVICE_OF_COMMAND

# A command's record must outlive every redelivery of it: the router accepts a command until it is
# MAX_COMMAND_AGE old (queue + dead-letter retention, so a redrive works), and a record made when the
# command was first seen (at most MAX_CLOCK_SKEW before its issuedAt) lasts longer than that, so once
# the record expires every copy of the command is refused as too old instead of running twice.
IDEMPOTENCY_EXPIRY_SECONDS = int((MAX_COMMAND_AGE + MAX_CLOCK_SKEW).total_seconds()) + 24 * 3600


def function_for(command_type: str) -> str:
    service = SERVICE_OF_COMMAND[command_type]
    try:
        return settings().functions[service]
    except KeyError:
        raise ConfigError(f"ELASTIO_FUNCTIONS has no {service!r} entry, needed for {command_type!r} "
                          "commands; the CloudConnector component sets it") from None


def invoke_service(command: dict[str, Any]) -> dict[str, Any]:
    function_name = function_for(command["type"])
    response = aws.client("lambda").invoke(
        FunctionName=function_name, InvocationType="Event", Payload=json.dumps(command).encode()
    )
    if response.get("StatusCode") != 202:
        raise RuntimeError(f"Lambda did not accept {command['type']} for {function_name}: "
                           f"status {response.get('StatusCode')}")
    return {"commandId": command["id"], "function": function_name}


@cache
def idempotency_config() -> IdempotencyConfig:
    # The command id is the key: a redelivered command (same id) returns the saved result and invokes
    # nothing; a concurrent duplicate fails with "in progress" and is retried by SQS.
    # The validation hash catches an id reused for another command, which would otherwise be dropped.
    return IdempotencyConfig(event_key_jmespath="id", payload_validation_jmespath="[type, payload]",
                             expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
                             raise_on_no_idempotency_key=True)


@cache
def dispatch_once() -> Callable[..., dict[str, Any]]:
    """invoke_service wrapped by Powertools idempotency on the commands table (built once per container)."""
    persistence = DynamoDBPersistenceLayer(table_name=settings().commands_table,
                                           boto3_client=aws.client("dynamodb"))
    return idempotent_function(
        invoke_service,
        data_keyword_argument="command",
        persistence_store=persistence,
        config=idempotency_config(),
        key_prefix="command",
    )


def reset() -> None:
    idempotency_config.cache_clear()
    dispatch_once.cache_clear()

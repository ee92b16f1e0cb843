"""Command router: SQS batch from the command queue → validated command → its service function.

Malformed or unknown commands are answered with `command.rejected` and count as processed; any other
failure marks only that message failed (partial batch response), so SQS redelivers it and, after the
queue's maxReceiveCount, moves it to the command DLQ.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from lambdas.router import dispatch
from lambdas.shared import tenant
from lambdas.shared.envelopes import CommandRejected, command_to_json, parse_command

logger = Logger(service="router")
# Report every failed message, even when all failed, rather than raising: same retries, clearer logs.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def route_record(record: SQSRecord) -> dict[str, Any]:
    try:
        command = parse_command(record.body)
    except CommandRejected as rejection:
        logger.warning("command rejected", extra={"messageId": record.message_id, "reason": rejection.reason})
        # Keyed by the SQS message id too: a redelivered bad message is rejected once.
        tenant.reject(rejection, key=f"{rejection.command_id}/{record.message_id}")
        return {"status": "rejected"}
    try:
        result = dispatch.dispatch_once()(command=command_to_json(command))
    except IdempotencyValidationError:
        tenant.reject(CommandRejected(
            f"command id {command.id} was already used for a different command; "
            "send each command with a new id",
            command_id=command.id, command_type=command.type), key=f"{command.id}/reused")
        return {"status": "rejected"}
    logger.info("command dispatched", extra={"commandId": str(command.id), "type": command.type, **result})
    return {"status": "dispatched", **result}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dispatch.idempotency_config().register_lambda_context(context)
    return process_partial_response(event=event, record_handler=route_record, processor=processor,
                                    context=context)

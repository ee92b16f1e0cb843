"""Messages back to the tenant (tenant events queue) and to the operators (alerts topic)."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.envelopes import CommandRejected, make_event
from lambdas.shared.jsonsafe import to_plain


def publish(event_type: str, payload: dict[str, Any], correlation_id: str | None) -> dict[str, Any]:
    event = make_event(event_type, to_plain(payload), correlation_id)
    aws.client("sqs").send_message(
        QueueUrl=settings().tenant_events_queue_url,
        MessageBody=json.dumps(event),
        MessageAttributes={"type": {"DataType": "String", "StringValue": event_type}},
    )
    return event


def reject(rejection: CommandRejected, correlation_id: str | None = None) -> dict[str, Any]:
    payload = {"commandType": rejection.command_type, "reason": rejection.reason, "errors": rejection.errors}
    return publish("command.rejected", payload, correlation_id or rejection.command_id)


def alert(subject: str, details: dict[str, Any]) -> None:
    aws.client("sns").publish(
        TopicArn=settings().alerts_topic_arn,
        Subject=subject[:100],  # SNS limit for email subjects
        Message=json.dumps(to_plain(details), indent=2),
    )

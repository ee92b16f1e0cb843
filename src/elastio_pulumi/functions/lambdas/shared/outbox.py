"""The outbox: tenant events and operator alerts are written to the commands table in the same
DynamoDB transaction as the state change they announce, and sent from there by the table's stream.

Why: a function that commits state and then sends loses the message when the send fails, because the
retry finds the state already committed ("stale") and skips the send. With the outbox there is nothing
to skip: the message exists once the state does, and DynamoDB Streams hands every new outbox item to
the sender (Job status, `deliver`) until it is sent or the record ages out (24 hours).

Each message is its own item (one stream record, one send), so a failed send is retried alone and an
already sent one is never sent again. Its id is derived from what it announces (the job and state, the
command, the EventBridge event), so a retried or duplicated transition writes the same id: the
conditional put fails and the transition is recognised as already done. The tenant may still dedupe on
`id`: Lambda's stream checkpoint is itself at-least-once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from elastio_contract.messages import EVENT_TYPES
from elastio_contract.tables import OUTBOX_KEY_PREFIX
from lambdas.shared import aws
from lambdas.shared.config import settings
from lambdas.shared.envelopes import fit_event, make_event
from lambdas.shared.jsonsafe import to_plain

# Outbox items share the commands table (and its TTL attribute) with the router's idempotency records;
# this prefix and the `kind` attribute keep them apart (the event source mapping filters on `kind`).
ITEM_PREFIX = OUTBOX_KEY_PREFIX
KINDS = ("event", "alert")
# Kept after sending for as long as any redelivery can repeat the transition that wrote them (the stream
# keeps records 24 hours; Lambda retries asynchronous invocations for up to 6 hours).
RETENTION_SECONDS = 7 * 24 * 3600
# Namespace of the deterministic message ids (uuid5): any fixed UUID works, it must never change.
_NAMESPACE = uuid.UUID("5b0c8f36-6f5c-4b8e-9a3c-2f0d7e1a9c41")
_SERIALIZE = TypeSerializer().serialize
_DESERIALIZE = TypeDeserializer().deserialize


def message_id(*parts: str) -> str:
    """The stable id of the message announcing `parts` (e.g. job id and state): same fact, same id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


@dataclass(frozen=True)
class Message:
    """One tenant event or operator alert, ready to be written to the outbox."""

    id: str
    kind: str
    body: str  # the SQS message body (event) or the SNS message (alert)
    subject: str = ""  # alerts only
    event_type: str = ""  # events only (SQS message attribute `type`)

    def item(self, now: float | None = None) -> dict[str, Any]:
        expiration = int((now or time.time()) + RETENTION_SECONDS)
        item = {"id": ITEM_PREFIX + self.id, "kind": self.kind, "body": self.body, "expiration": expiration}
        if self.subject:
            item["subject"] = self.subject
        if self.event_type:
            item["eventType"] = self.event_type
        return item


def event(event_type: str, payload: dict[str, Any], correlation_id: str | None, *key: str) -> Message:
    """A tenant event whose id derives from `key` (what it announces)."""
    if event_type not in EVENT_TYPES:  # the tenant parses these types: a new one is added to the contract first
        raise ValueError(f"event type {event_type!r} is not in elastio_contract.messages.EVENT_TYPES")
    event_id = message_id(event_type, *key)
    body = fit_event(make_event(event_type, to_plain(payload), correlation_id, event_id=event_id))
    return Message(event_id, "event", json.dumps(body), event_type=event_type)


def alert(subject: str, details: dict[str, Any], *key: str) -> Message:
    return Message(message_id("alert", *key), "alert", json.dumps(to_plain(details), indent=2),
                   subject=subject[:100])  # SNS limit for email subjects


class Stale(Exception):
    """The transaction's conditions failed: the transition was already made or is no longer allowed."""

    def __init__(self, reasons: Sequence[str]):
        super().__init__(", ".join(reasons))
        self.reasons = list(reasons)


def put(table: str, item: Mapping[str, Any], condition: str | None = None,
        values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A transaction Put (document values; serialised here)."""
    return {"Put": _with_condition({"TableName": table, "Item": _serialize_map(item)}, condition, values, names)}


def update(table: str, key: Mapping[str, Any], expression: str, condition: str | None = None,
           values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    body = {"TableName": table, "Key": _serialize_map(key), "UpdateExpression": expression}
    return {"Update": _with_condition(body, condition, values, names)}


def _with_condition(body: dict[str, Any], condition: str | None, values: Mapping[str, Any] | None,
                    names: Mapping[str, str] | None) -> dict[str, Any]:
    if condition:
        body["ConditionExpression"] = condition
    if values:
        body["ExpressionAttributeValues"] = _serialize_map(values)
    if names:
        body["ExpressionAttributeNames"] = dict(names)
    return body


def _serialize_map(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZE(value) for key, value in values.items()}


def commit(writes: Iterable[dict[str, Any]], messages: Iterable[Message]) -> None:
    """Write the state changes and queue the messages, all or nothing; Stale if a condition failed.

    A message already in the outbox (its fact was announced before) fails its condition too, so
    repeating a committed transition is Stale and changes nothing.
    """
    table = settings().commands_table
    items = [*writes, *(put(table, m.item(), "attribute_not_exists(id)") for m in messages)]
    if not items:
        return
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
        # Only failed conditions mean "already done / not allowed"; conflicts and throttling are retried.
        if reasons and all(code in ("None", "ConditionalCheckFailed") for code in reasons):
            raise Stale(reasons) from None
        raise


def send(*messages: Message) -> None:
    """Queue messages that announce no state change (answers, rejections): still one send per id."""
    try:
        commit([], messages)
    except Stale:
        pass  # queued by an earlier attempt: the stream sends it


# ---- the sender (Job status runs it for the commands table's stream) -----------------------------------
def is_stream_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and records[0].get("eventSource") == "aws:dynamodb"


def _message_of(record: dict[str, Any]) -> dict[str, Any] | None:
    if record.get("eventName") != "INSERT":
        return None  # TTL deletions and Powertools' updates of idempotency records
    image = {k: _DESERIALIZE(v) for k, v in record.get("dynamodb", {}).get("NewImage", {}).items()}
    if not str(image.get("id", "")).startswith(ITEM_PREFIX) or image.get("kind") not in KINDS:
        return None
    return image


def deliver(stream_event: dict[str, Any]) -> dict[str, Any]:
    """Send each new outbox item once, in order; stop at the first failure and report it.

    Lambda's stream event source mapping (ReportBatchItemFailures) checkpoints before the reported record
    and redelivers from there, so earlier messages are not sent again and later ones are not lost.
    """
    records = stream_event["Records"]
    for record in records:
        message = _message_of(record)
        if message is None:
            continue
        try:
            _send(message)
        except (ClientError, BotoCoreError):  # throttled, 5xx, network: this record and the rest wait
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}


def _send(message: dict[str, Any]) -> None:
    if message["kind"] == "event":
        aws.client("sqs").send_message(
            QueueUrl=settings().tenant_events_queue_url, MessageBody=message["body"],
            MessageAttributes={"type": {"DataType": "String", "StringValue": message.get("eventType", "")}})
    else:
        aws.client("sns").publish(TopicArn=settings().alerts_topic_arn, Subject=message["subject"],
                                  Message=message["body"])

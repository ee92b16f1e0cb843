"""What Lambda's SQS event source mapping does with a queue: receive a batch, invoke, delete what succeeded.

Only the polling is done here; the queue, its receive counts and the redrive to the DLQ are moto's SQS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.lambdas.world import REGION, aws_client, queue_attribute


def poll_once(queue_url: str, handler: Callable[[dict, Any], dict], context: Any) -> dict[str, Any] | None:
    """One receive → invoke → delete round; None when the queue had nothing visible."""
    sqs = aws_client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                   AttributeNames=["All"]).get("Messages", [])
    if not messages:
        return None
    queue_arn = queue_attribute(queue_url, "QueueArn")
    event = {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION,
    } for m in messages]}
    try:
        response = handler(event, context)
    except Exception:  # the whole invocation failed: Lambda leaves every message for redelivery
        return {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return response


def send(queue_url: str, body: str) -> str:
    return aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]


def queue_depth(queue_url: str) -> int:
    return sum(int(queue_attribute(queue_url, name))
               for name in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"))

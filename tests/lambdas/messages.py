"""Messages as AWS delivers them to the functions: command envelopes, SQS batches, EventBridge events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.lambdas.world import REGION


def command(command_type: str, payload: dict[str, Any], command_id: str | None = None) -> dict[str, Any]:
    return {"id": command_id or str(uuid.uuid4()), "type": command_type, "version": 1,
            "issuedAt": datetime.now(UTC).isoformat(), "payload": payload}


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it."""
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": f"handle-{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "tenant",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:elastio-commands", "awsRegion": REGION,
    } for i, body in enumerate(bodies)]}


def batch_state_change(job_name: str, batch_job_id: str, status: str, parameters: dict[str, str],
                       reason: str | None = None) -> dict[str, Any]:
    """An EventBridge "Batch Job State Change" event."""
    detail: dict[str, Any] = {"jobName": job_name, "jobId": batch_job_id, "status": status,
                              "jobQueue": f"arn:aws:batch:{REGION}:123456789012:job-queue/primary-jobs",
                              "parameters": parameters, "attempts": [], "dependsOn": [], "tags": {}}
    if reason:
        detail["statusReason"] = reason
    return eventbridge("aws.batch", "Batch Job State Change", detail, [])


def eventbridge(source: str, detail_type: str, detail: dict[str, Any], resources: list[str],
                time: str | None = None) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION, "resources": resources, "detail": detail}


def sqs_body(value: dict[str, Any]) -> str:
    return json.dumps(value)

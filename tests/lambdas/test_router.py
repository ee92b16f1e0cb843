from __future__ import annotations

import json
from contextlib import contextmanager

from botocore.stub import Stubber

from elastio_contract import tables
from lambdas.router.handler import handler
from tests.lambdas.messages import command, sqs_event
from tests.lambdas.poller import poll_once, queue_depth, send
from tests.lambdas.world import FUNCTION_KEYS, VAULT, aws_client, create_connector_table, table_name

BACKUP = command("backup.start",
                 {"vaultName": VAULT, "assetId": "vol-1", "snapshotId": "snap-0123456789abcdef0"})


def test_valid_command_is_invoked_asynchronously_on_its_service(world, context, invocations):
    response = handler(sqs_event(json.dumps(BACKUP)), context)
    assert response == {"batchItemFailures": []}
    (invocation,) = invocations
    assert (invocation["function"], invocation["type"]) == (FUNCTION_KEYS["backgroundJobs"], "Event")
    assert {k: invocation["payload"][k] for k in ("id", "type", "payload")} == {
        k: BACKUP[k] for k in ("id", "type", "payload")}


def test_each_command_type_goes_to_its_service(world, context, invocations):
    commands = [command("server.start", {"vaultName": VAULT}), command("job.status", {"jobId": "j1"}),
                command("inventory.refresh", {}), command("integrity.run", {}),
                command("recovery-points.expire", {"vaultName": VAULT})]
    handler(sqs_event(*map(json.dumps, commands)), context)
    assert [i["function"] for i in invocations] == [FUNCTION_KEYS[k] for k in (
        "provisioner", "jobStatus", "inventory", "integrityChecks", "catalog")]


def test_redelivered_command_is_dispatched_once(world, context, invocations):
    handler(sqs_event(json.dumps(BACKUP)), context)
    response = handler(sqs_event(json.dumps(BACKUP)), context)
    assert response == {"batchItemFailures": []}
    assert len(invocations) == 1


def test_reused_command_id_with_other_content_is_rejected(world, context, invocations):
    handler(sqs_event(json.dumps(BACKUP)), context)
    reused = {**BACKUP, "payload": {**BACKUP["payload"], "assetId": "vol-2"}}
    response = handler(sqs_event(json.dumps(reused)), context)
    (event,) = world.tenant_events()
    assert response == {"batchItemFailures": []} and len(invocations) == 1
    assert event["type"] == "command.rejected" and "already used" in event["payload"]["reason"]


def test_malformed_json_is_rejected_to_tenant_without_failing_the_batch(world, context, invocations):
    response = handler(sqs_event("{not json", json.dumps(BACKUP)), context)
    (event,) = world.tenant_events()
    assert response == {"batchItemFailures": []}
    assert event["type"] == "command.rejected" and "not JSON" in event["payload"]["reason"]
    assert len(invocations) == 1


def test_unknown_command_type_is_rejected_naming_the_type(world, context, invocations):
    unknown = command("vault.delete", {})
    handler(sqs_event(json.dumps(unknown)), context)
    (event,) = world.tenant_events()
    assert event["correlationId"] == unknown["id"]
    assert "'vault.delete'" in event["payload"]["reason"] and invocations == []


def test_invalid_field_is_rejected_naming_the_field(world, context, invocations):
    bad = command("backup.start", {"vaultName": VAULT, "assetId": "vol-1", "snapshotId": "vol-1"})
    handler(sqs_event(json.dumps(bad)), context)
    (event,) = world.tenant_events()
    assert [e["field"] for e in event["payload"]["errors"]] == ["payload.snapshotId"]
    assert invocations == []


@contextmanager
def lambda_refusing_invocations(times: int):
    """Lambda answering Invoke with ResourceNotFound (moto's Docker-less Lambda accepts every invoke)."""
    with Stubber(aws_client("lambda")) as stub:
        for _ in range(times):
            stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found", 404)
        yield stub


def test_failed_dispatch_reports_only_that_message(world, context, invocations):
    event = sqs_event(json.dumps(command("server.start", {"vaultName": VAULT})), json.dumps(BACKUP))
    with Stubber(aws_client("lambda")) as stub:
        stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found", 404)
        stub.add_response("invoke", {"StatusCode": 202, "Payload": b""})
        response = handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_failed_dispatch_does_not_block_its_retry(world, context, invocations):
    with lambda_refusing_invocations(1):
        handler(sqs_event(json.dumps(BACKUP)), context)
    assert handler(sqs_event(json.dumps(BACKUP)), context) == {"batchItemFailures": []}
    handler(sqs_event(json.dumps(BACKUP)), context)  # redelivered after success: invokes nothing
    assert len(invocations) == 2  # the refused attempt and the retry


def test_poison_message_ends_in_command_dlq(world, context):
    send(world.command_queue_url, json.dumps(BACKUP))
    rounds = 0
    with lambda_refusing_invocations(3):
        while poll_once(world.command_queue_url, handler, context) is not None:
            rounds += 1
    assert rounds == 3  # the queue's maxReceiveCount
    assert queue_depth(world.command_queue_url) == 0
    (dead,) = aws_client("sqs").receive_message(QueueUrl=world.command_dlq_url)["Messages"]
    assert json.loads(dead["Body"]) == BACKUP


def test_commands_table_outage_keeps_command_for_redelivery(world, context, invocations):
    ddb = aws_client("dynamodb")
    ddb.delete_table(TableName=table_name(tables.COMMANDS))
    send(world.command_queue_url, json.dumps(BACKUP))
    failed = poll_once(world.command_queue_url, handler, context)
    assert len(failed["batchItemFailures"]) == 1 and invocations == []
    create_connector_table(tables.COMMANDS, world.vault["kmsKeyArn"])  # the table is back
    assert poll_once(world.command_queue_url, handler, context) == {"batchItemFailures": []}
    assert [i["payload"]["id"] for i in invocations] == [BACKUP["id"]]
    assert queue_depth(world.command_queue_url) == 0


def test_rejection_that_cannot_reach_tenant_waits_in_the_outbox(world, context):
    sqs = aws_client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=world.tenant_queue_url, AttributeNames=["KmsMasterKeyId"])
    sqs.delete_queue(QueueUrl=world.tenant_queue_url)
    event = sqs_event("{not json", json.dumps(BACKUP))
    assert handler(event, context) == {"batchItemFailures": []}  # rejected: SQS must not redeliver it
    world.outbox_stream.deliver_all()  # the stream retries while the queue is gone
    assert len(world.outbox_stream.records) == 1
    sqs.create_queue(QueueName=world.tenant_queue_url.rsplit("/", 1)[-1], Attributes=attributes["Attributes"])
    (rejected,) = world.tenant_events()
    assert rejected["type"] == "command.rejected" and "not JSON" in rejected["payload"]["reason"]

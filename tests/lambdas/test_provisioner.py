"""Provisioner against moto (tables, queues) with ECS answered by botocore's Stubber.

moto 5.2 cannot run Fargate/awsvpc tasks, so ECS responses are shaped like AWS's own.
"""

from __future__ import annotations

from contextlib import contextmanager

from botocore.stub import ANY, Stubber

from lambdas.provisioner.handler import handler, server_record_id
from lambdas.shared.jobs import get_job
from tests.lambdas.messages import command
from tests.lambdas.world import VAULT, aws_client

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/primary-scalez/0123456789abcdef0123456789abcdef"


@contextmanager
def ecs():
    with Stubber(aws_client("ecs")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def run_task_answer(status: str = "PROVISIONING") -> dict:
    return {"tasks": [{"taskArn": TASK_ARN, "lastStatus": status, "desiredStatus": "RUNNING",
                       "launchType": "FARGATE"}], "failures": []}


def describe_answer(status: str) -> dict:
    task = {"taskArn": TASK_ARN, "lastStatus": status, "desiredStatus": "RUNNING"}
    return {"tasks": [task], "failures": []}


def test_start_runs_server_task_in_vault_network_without_public_ip(world, context):
    start = command("server.start", {"vaultName": VAULT})
    with ecs() as stub:
        stub.add_response("run_task", run_task_answer(), {
            "cluster": world.vault["clusterArn"], "taskDefinition": world.vault["serverTaskDefinitionArn"],
            "launchType": "FARGATE", "count": 1, "startedBy": start["id"], "clientToken": start["id"],
            "propagateTags": "TASK_DEFINITION",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": world.vault["subnetIds"], "securityGroups": [world.vault["securityGroupId"]],
                "assignPublicIp": "DISABLED"}}})
        result = handler(start, context)
    assert result["taskArn"] == TASK_ARN


def test_start_records_and_announces_running_server(world, context):
    with ecs() as stub:
        stub.add_response("run_task", run_task_answer(), {"cluster": ANY, "taskDefinition": ANY,
                          "launchType": ANY, "count": ANY, "startedBy": ANY, "clientToken": ANY, "propagateTags": ANY,
                          "networkConfiguration": ANY})
        handler(command("server.start", {"vaultName": VAULT}), context)
    record = get_job(server_record_id(VAULT))
    (event,) = world.tenant_events()
    assert (record["state"], record["taskArn"]) == ("RUNNING", TASK_ARN)
    assert (event["type"], event["payload"]["state"]) == ("server.state", "RUNNING")


def test_start_when_server_already_running_starts_nothing(world, context):
    with ecs() as stub:
        stub.add_response("run_task", run_task_answer())
        handler(command("server.start", {"vaultName": VAULT}), context)
        stub.add_response("describe_tasks", describe_answer("RUNNING"))
        result = handler(command("server.start", {"vaultName": VAULT}), context)
    assert result == {"status": "done", "taskArn": TASK_ARN, "started": False}


def test_start_after_server_task_died_runs_a_new_one(world, context):
    with ecs() as stub:
        stub.add_response("run_task", run_task_answer())
        handler(command("server.start", {"vaultName": VAULT}), context)
        stub.add_response("describe_tasks", describe_answer("STOPPED"))
        stub.add_response("run_task", run_task_answer())
        result = handler(command("server.start", {"vaultName": VAULT}), context)
    assert result["started"] is True


def test_start_refused_by_ecs_is_reported_and_alerted(world, context):
    with ecs() as stub:
        stub.add_response("run_task", {"tasks": [], "failures": [
            {"arn": world.vault["clusterArn"], "reason": "RESOURCE:ENI", "detail": "no free ENI in subnet"}]})
        result = handler(command("server.start", {"vaultName": VAULT}), context)
    (event,) = world.tenant_events()
    (alert,) = world.alerts()
    assert result["started"] is False and "RESOURCE:ENI" in result["reason"]
    assert event["payload"]["state"] == "FAILED" and "no free ENI" in alert["reason"]


def test_stop_stops_the_recorded_task(world, context):
    with ecs() as stub:
        stub.add_response("run_task", run_task_answer())
        handler(command("server.start", {"vaultName": VAULT}), context)
        stub.add_response("stop_task", {"task": {"taskArn": TASK_ARN, "lastStatus": "RUNNING",
                                                 "desiredStatus": "STOPPED"}},
                          {"cluster": world.vault["clusterArn"], "task": TASK_ARN, "reason": ANY})
        result = handler(command("server.stop", {"vaultName": VAULT}), context)
    assert result["stopped"] is True
    assert get_job(server_record_id(VAULT))["state"] == "STOPPED"


def test_stop_without_running_server_calls_no_ecs(world, context):
    with ecs():
        result = handler(command("server.stop", {"vaultName": VAULT}), context)
    assert result["stopped"] is False
    assert world.tenant_events()[0]["payload"]["state"] == "STOPPED"


def test_start_for_unknown_vault_is_rejected(world, context):
    with ecs():
        result = handler(command("server.start", {"vaultName": "ghost"}), context)
    assert result["status"] == "rejected"

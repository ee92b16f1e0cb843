from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from moto import mock_aws

# Before the handlers are imported: their Powertools loggers read the level once.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from lambdas.router import dispatch  # noqa: E402
from lambdas.shared import aws as shared_aws  # noqa: E402
from tests.lambdas.world import REGION, World, aws_client, build_world, create_snapshot  # noqa: E402


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context` (the attributes Powertools reads)."""

    function_name: str = "elastio-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:elastio-test"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/elastio-test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                        # moto's EC2 loads ~1300 sample AMIs per account: half the build time, unused here.
                        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"batch": {"use_docker": False}, "lambda": {"use_docker": False}}):
        built = build_world()
        for name, value in built.env.items():
            monkeypatch.setenv(name, value)
        shared_aws.reset()
        dispatch.reset()
        yield built
        built.outbox_stream.detach(aws_client("dynamodb"))
        shared_aws.reset()
        dispatch.reset()


@pytest.fixture
def snapshot_id(world: World) -> str:
    """A customer's completed, untagged snapshot in the region: what a backup.start names."""
    return create_snapshot()


@pytest.fixture
def invocations(world: World) -> list[dict]:
    """The asynchronous invocations the functions make (moto's Lambda accepts them but runs nothing)."""
    seen: list[dict] = []

    def record(params: dict, **_: object) -> None:
        seen.append({"function": params["FunctionName"], "type": params.get("InvocationType"),
                     "payload": json.loads(params["Payload"])})

    events = aws_client("lambda").meta.events
    events.register("provide-client-params.lambda.Invoke", record, unique_id="test-invocations")
    yield seen
    events.unregister("provide-client-params.lambda.Invoke", unique_id="test-invocations")

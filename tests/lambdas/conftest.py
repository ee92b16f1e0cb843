from __future__ import annotations

from dataclasses import dataclass

import pytest
from moto import mock_aws

from lambdas.router import dispatch
from lambdas.shared import aws as shared_aws
from tests.lambdas.world import REGION, World, build_world


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
                        "POWERTOOLS_LOG_LEVEL": "WARNING"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"batch": {"use_docker": False}, "lambda": {"use_docker": False}}):
        built = build_world()
        for name, value in built.env.items():
            monkeypatch.setenv(name, value)
        shared_aws.reset()
        dispatch.reset()
        yield built
        shared_aws.reset()
        dispatch.reset()

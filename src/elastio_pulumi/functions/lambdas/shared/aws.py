"""AWS clients created once per container (reused across invocations, as Lambda recommends)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from lambdas.shared import config

# Standard retry mode backs off on throttling; the SQS/Lambda retries above us handle longer outages.
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_BOTO_CONFIG)


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_BOTO_CONFIG).Table(name)


def reset() -> None:
    """Forget the cached settings (tests change the environment between cases; clients stay valid)."""
    config.settings.cache_clear()

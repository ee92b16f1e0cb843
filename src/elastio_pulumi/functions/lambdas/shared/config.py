"""The functions' environment (CONTRACT.md, "Environment of the functions"), read and checked in one place."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from elastio_contract import environment as env
from elastio_contract import tables
from elastio_contract.messages import ROUTED_SERVICES


class ConfigError(RuntimeError):
    """The environment is missing or has a bad value; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    vaults_table: str
    recovery_points_table: str
    jobs_table: str
    assets_table: str
    commands_table: str
    tenant_events_queue_url: str
    alerts_topic_arn: str
    functions: Mapping[str, str]
    deployment: str  # elastio:deployment of the Batch jobs submitted (elastio_contract.tags)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set; the CloudConnector component sets it")
    return value


def parse_functions(raw: str) -> dict[str, str]:
    """ELASTIO_FUNCTIONS: JSON object from service key to function name (only the router needs it)."""
    if not raw.strip():
        return {}
    try:
        functions = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"ELASTIO_FUNCTIONS is not valid JSON ({error.msg}); expected an object like "
                          '{"catalog": "<function name>", ...}') from None
    if not isinstance(functions, dict) or not all(isinstance(v, str) and v for v in functions.values()):
        raise ConfigError("ELASTIO_FUNCTIONS must be a JSON object of service key to function name, "
                          f"got {raw[:80]!r}")
    unknown = sorted(set(functions) - set(ROUTED_SERVICES))
    if unknown:
        raise ConfigError(f"ELASTIO_FUNCTIONS has unknown keys {unknown}; "
                          f"expected keys among {list(ROUTED_SERVICES)}")
    return functions


def load_settings(environ: Mapping[str, str]) -> Settings:
    return Settings(
        vaults_table=_required(environ, env.TABLE_VARIABLES[tables.VAULTS]),
        recovery_points_table=_required(environ, env.TABLE_VARIABLES[tables.RECOVERY_POINTS]),
        jobs_table=_required(environ, env.TABLE_VARIABLES[tables.JOBS]),
        assets_table=_required(environ, env.TABLE_VARIABLES[tables.ASSETS]),
        commands_table=_required(environ, env.TABLE_VARIABLES[tables.COMMANDS]),
        tenant_events_queue_url=_required(environ, env.TENANT_EVENTS_QUEUE_URL),
        alerts_topic_arn=_required(environ, env.ALERTS_TOPIC_ARN),
        functions=parse_functions(environ.get(env.FUNCTIONS, "")),
        deployment=_required(environ, env.DEPLOYMENT),
    )


@cache
def settings() -> Settings:
    """Read once per container: the environment of a Lambda function does not change while it runs."""
    return load_settings(os.environ)

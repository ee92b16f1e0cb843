"""Envelopes, settings and packaging rules shared by every function (plain Python, no AWS)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from elastio_contract import environment as env_names
from elastio_pulumi import packaging
from lambdas.shared.config import ConfigError, load_settings, parse_functions
from lambdas.shared.envelopes import SERVICE_OF_COMMAND, CommandRejected, make_event, parse_command
from tests.lambdas.messages import command

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **{variable: table[0] for table, variable in env_names.TABLE_VARIABLES.items()},
    env_names.TENANT_EVENTS_QUEUE_URL: "q",
    env_names.ALERTS_TOPIC_ARN: "t",
    env_names.DEPLOYMENT: "elastio",
}


def test_every_command_type_has_a_service():
    assert set(SERVICE_OF_COMMAND.values()) == {"catalog", "provisioner", "backgroundJobs", "jobStatus",
                                                "integrityChecks", "inventory"}


def test_valid_envelope_parses_to_its_model():
    parsed = parse_command(command("server.start", {"vaultName": "primary"}))
    assert type(parsed).__name__ == "ServerStart" and parsed.payload.vaultName == "primary"


def test_unknown_payload_field_is_refused_by_name():
    with pytest.raises(CommandRejected) as caught:
        parse_command(command("server.start", {"vaultName": "primary", "vaultname": "typo"}))
    assert [e["field"] for e in caught.value.errors] == ["payload.vaultname"]


def test_unsupported_envelope_version_is_refused():
    envelope = {**command("inventory.refresh", {}), "version": 2}
    with pytest.raises(CommandRejected, match="version"):
        parse_command(envelope)


def test_envelope_that_is_not_an_object_is_refused():
    with pytest.raises(CommandRejected, match="JSON object, got list"):
        parse_command("[1, 2]")


def test_event_envelope_has_contract_fields():
    fields = set(make_event("job.progress", {}, "c-1"))
    assert fields == {"id", "correlationId", "type", "emittedAt", "payload"}


def test_missing_environment_variable_is_named():
    with pytest.raises(ConfigError, match=f"{env_names.JOBS_TABLE} is not set"):
        load_settings({k: v for k, v in ENV.items() if k != env_names.JOBS_TABLE})


def test_functions_map_that_is_not_json_is_explained():
    with pytest.raises(ConfigError, match=f"{env_names.FUNCTIONS} is not valid JSON"):
        parse_functions("{catalog: x}")


def test_functions_map_with_unknown_service_is_refused():
    with pytest.raises(ConfigError, match=r"unknown keys \['catalogue'\]"):
        parse_functions('{"catalogue": "f"}')


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "lambdas").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_functions_import_only_the_runtime_the_layer_and_themselves():
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "aws_lambda_powertools", "pydantic",
                                              "lambdas"}
    assert _imported_top_level_modules() - allowed == set()


def test_layer_pins_match_the_locked_requirements():
    """The layer deploys exactly the versions the tests run against, dependencies included."""
    layer = packaging.read_lock(packaging.LAYER_LOCK.read_text(), "src/elastio_pulumi/functions/lambda-layer.txt")
    locked = (ROOT / "requirements/runtime.txt").read_text() + (ROOT / "requirements/dev.txt").read_text()
    tested = {packaging.normalize(name): version for name, version in re.findall(r"^([\w.-]+)==(\S+) ", locked, re.M)}
    assert {pin.name: tested.get(pin.name) for pin in layer} == {pin.name: pin.version for pin in layer}

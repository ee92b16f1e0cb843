"""Reads a stack's configuration the way the Pulumi CLI does: Pulumi.yaml defaults, then Pulumi.<stack>.yaml.

Values are handed to the program as the CLI hands them: strings, with objects and arrays as JSON. Encrypted
(`secure:`) values cannot be decrypted offline: they become a redacted placeholder and are reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REDACTED = "[secret redacted offline]"
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class StackFileError(Exception):
    """A missing or unreadable project or stack file; `str()` is the message to print."""


@dataclass
class StackConfig:
    project: str
    stack: str
    values: dict[str, str] = field(default_factory=dict)  # "namespace:key" -> value as the CLI passes it
    secret_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise StackFileError(f"{path.name}: not found in {path.parent}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise StackFileError(f"{path.name}: expected a mapping at the top level")
    return data


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _as_cli_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def available_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(project_dir: Path, stack: str, stack_values: dict[str, Any] | None = None) -> StackConfig:
    """The stack's config; `stack_values` (the `config:` mapping of a stack file) replaces the file's."""
    if not _STACK_NAME.fullmatch(stack):
        raise StackFileError(
            f"stack {stack!r}: not a stack name; Pulumi stack names use letters, digits, '-', '_' and '.'"
        )
    project_file = _load_yaml(project_dir / "Pulumi.yaml")
    project = str(project_file.get("name", "project"))
    if stack_values is None:
        stack_path = project_dir / f"Pulumi.{stack}.yaml"
        if not stack_path.is_file():
            stacks = ", ".join(available_stacks(project_dir)) or "none"
            raise StackFileError(
                f"stack {stack!r}: no file Pulumi.{stack}.yaml in {project_dir} (stacks here: {stacks})"
            )
        stack_values = _load_yaml(stack_path).get("config") or {}
    result = StackConfig(project=project, stack=stack)

    for key, declaration in (project_file.get("config") or {}).items():
        if isinstance(declaration, dict) and "default" in declaration:
            result.values[_qualify(project, key)] = _as_cli_string(declaration["default"])
        elif not isinstance(declaration, dict):
            result.values[_qualify(project, key)] = _as_cli_string(declaration)

    for key, value in stack_values.items():
        qualified = _qualify(project, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            result.values[qualified] = REDACTED
            result.secret_keys.append(qualified)
            result.notes.append(f"{qualified} is encrypted in Pulumi.{stack}.yaml; offline it is {REDACTED!r}")
        else:
            result.values[qualified] = _as_cli_string(value)
    # Keys declared `secret: true` in Pulumi.yaml are secrets even when a test or sample gives them in plain text.
    for key, declaration in (project_file.get("config") or {}).items():
        qualified = _qualify(project, key)
        if isinstance(declaration, dict) and declaration.get("secret") and qualified not in result.secret_keys:
            if result.values.get(qualified):
                result.secret_keys.append(qualified)
    return result

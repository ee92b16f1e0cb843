"""Policy pack configuration, in the shape `pulumi preview --policy-pack-config <file>` reads:

    {"all": "advisory",                                   # optional: level for every rule
     "lambda-supported-runtime": {"enforcementLevel": "mandatory", "allowedRuntimes": ["python3.12"]},
     "no-nat-gateway": "mandatory"}                       # a level alone

`resolve` checks it against the rules' schemas and gives each rule its level and properties (schema
defaults filled in, as the CLI does), so the offline check and a real run read the same settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Policy

ALL = "all"
LEVEL_KEY = "enforcementLevel"
PACK_DEFAULT_LEVEL = EnforcementLevel.MANDATORY
_LEVELS = {level.value: level for level in EnforcementLevel}
_JSON_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
}


class PolicyConfigError(ValueError):
    """A configuration the pack cannot use; str() is one line naming the key, the value and the fix."""


@dataclass(frozen=True)
class RuleSettings:
    level: EnforcementLevel
    properties: dict[str, Any]


def resolve(policies: Iterable[Policy], config: Mapping[str, Any] | None) -> dict[str, RuleSettings]:
    policies = list(policies)
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise PolicyConfigError(
            f"policy config must be a JSON object of rule names, got {_json_kind(config)}: "
            'e.g. {"no-nat-gateway": "advisory"}'
        )
    config = dict(config)
    names = {policy.name for policy in policies}
    unknown = sorted(key for key in config if key != ALL and key not in names)
    if unknown:
        raise PolicyConfigError(
            f"policy config: unknown rule {unknown[0]!r}; the rules are: {', '.join(sorted(names))}"
        )
    default_level = _level(config[ALL], ALL) if ALL in config else None
    return {policy.name: _settings(policy, config.get(policy.name), default_level) for policy in policies}


def _settings(policy: Policy, entry: Any, default_level: EnforcementLevel | None) -> RuleSettings:
    level = default_level or policy.enforcement_level or PACK_DEFAULT_LEVEL
    properties: dict[str, Any] = {}
    if isinstance(entry, str):
        level = _level(entry, policy.name)
    elif isinstance(entry, dict):
        if LEVEL_KEY in entry:
            level = _level(entry[LEVEL_KEY], f"{policy.name}.{LEVEL_KEY}")
        properties = {key: value for key, value in entry.items() if key != LEVEL_KEY}
    elif entry is not None:
        raise PolicyConfigError(
            f"policy config {policy.name}: {entry!r} is neither a level nor an object of settings"
        )
    return RuleSettings(level, _checked_properties(policy, properties))


def _level(value: Any, where: str) -> EnforcementLevel:
    if isinstance(value, str) and value in _LEVELS:
        return _LEVELS[value]
    raise PolicyConfigError(
        f"policy config {where}: {value!r} is not an enforcement level; use one of {', '.join(_LEVELS)}"
    )


def _checked_properties(policy: Policy, properties: dict[str, Any]) -> dict[str, Any]:
    schema = policy.config_schema.properties if policy.config_schema is not None else {}
    for key, value in properties.items():
        if key not in schema:
            allowed = ", ".join(sorted(schema)) or "none (only enforcementLevel)"
            raise PolicyConfigError(
                f"policy config {policy.name}.{key}: unknown setting; settings: {allowed}"
            )
        _check_type(f"{policy.name}.{key}", value, schema[key])
    defaults = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    return {**defaults, **properties}


def _check_type(where: str, value: Any, spec: Mapping[str, Any]) -> None:
    expected = spec.get("type")
    python_type = _JSON_TYPES.get(expected) if isinstance(expected, str) else None
    if python_type is None:
        return
    is_bool_as_number = expected in ("integer", "number") and isinstance(value, bool)
    wrong = not isinstance(value, python_type) or is_bool_as_number
    if wrong:
        raise PolicyConfigError(f"policy config {where}: {value!r} is not a{_an(expected)} {expected}")
    items = spec.get("items")
    if expected == "array" and isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check_type(f"{where}[{index}]", item, items)


def _json_kind(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def _an(word: str) -> str:
    return "n" if word[:1] in "aeiou" else ""

"""Reading resource properties the way a rule needs them: plain, type-tolerant, honest about unknowns.

The engine hands rules its properties wrapped in a proxy that raises `UnknownValueError` on any read of a
value that is not known during a preview, even `key in props`. Rules first unwrap the proxy (`plain`) and
then read with `dig`, which raises the same `UnknownValueError` only when the value a rule actually
decides on is unknown. The engine reports that as an advisory "can't be known during preview" diagnostic,
and the rule runs for real at `pulumi up`, when every input is known.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError, _is_unknown


def plain(value: Any) -> Any:
    """Unwraps the engine's proxies into plain dicts and lists, keeping unknown sentinels as they are."""
    if isinstance(value, Mapping):
        target = _proxy_target(value)
        return {key: plain(target[key]) for key in target}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        target = _proxy_target(value)
        return [plain(item) for item in target]
    return value


def _proxy_target(value: Any) -> Any:
    # pulumi_policy's proxies hand out their raw target under this key (the SDK's own serializer uses it).
    if type(value).__name__ in ("_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"):
        return value["__target"]
    return value


def is_unknown(value: Any) -> bool:
    return _is_unknown(value)


def dig(value: Any, *path: str | int) -> Any:
    """The value at `path` in plain data, or None where the path does not exist or has the wrong shape.

    Raises UnknownValueError when the value found (or a container on the way) is unknown.
    """
    current = value
    walked: list[str] = []
    for step in path:
        if is_unknown(current):
            raise UnknownValueError(current, walked)
        walked.append(str(step))
        if isinstance(step, int):
            in_range = isinstance(current, list) and -len(current) <= step < len(current)
            current = current[step] if in_range else None
        else:
            current = current.get(step) if isinstance(current, dict) else None
        if current is None:
            return None
    if is_unknown(current):
        raise UnknownValueError(current, walked)
    return current


def is_set(value: Any) -> bool:
    """True when an input carries a value: unknown counts (something computed will be there), "" does not."""
    return value is not None and value != "" and value != [] and value != {}


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list:
    """IAM-style "one or many": a single value becomes a one-item list, None an empty one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


class InvalidJson(ValueError):
    pass


def parse_json_object(value: Any, what: str) -> dict | None:
    """A JSON document given as a dict or a JSON string, as a dict; None when absent.

    Raises InvalidJson (with a message naming `what`) when it is present but not a JSON object.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as error:
            raise InvalidJson(f"{what} is not valid JSON ({error.msg} at position {error.pos})") from None
        if isinstance(parsed, dict):
            return parsed
        raise InvalidJson(f"{what} is JSON but not an object: {_preview(value)}")
    raise InvalidJson(f"{what} must be a JSON object or string, got {type(value).__name__}")


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Checks planned resource inputs against the pulumi-aws Python SDK's own input types.

The mock runtime accepts any inputs, but the SDK translates only the keys it knows: a nested dict key the SDK
does not recognise reaches the engine unchanged (snake_case or misspelt) and the provider rejects it on a real
`pulumi up`. The SDK's `*Args` input types (their `@pulumi.getter(name=...)` metadata) are the provider schema
as Python sees it, so walking the recorded inputs against them finds what the provider would reject: unknown
keys, the wrong kind of value, and a value outside an enum the SDK declares.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
import json
import re
import typing
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi._types as pulumi_types
import pulumi_aws  # noqa: F401 - importing it registers the resource modules read below
from pulumi.runtime import rpc

UNKNOWN = "[unknown]"  # how plan/ records a value the mock runtime could not know


@functools.cache
def args_class(type_token: str) -> type:
    """The SDK's `*Args` input type of a resource type token (`aws:lambda/function:Function`)."""
    if type_token == "pulumi:providers:aws":
        return _props_class(pulumi_aws.Provider)
    package, module, class_token = type_token.split(":")
    resource_module = rpc.get_resource_module(package, module, "")
    if resource_module is None:
        raise LookupError(f"{type_token}: pulumi-aws has no resource module {module!r}")
    class_name = resource_module.mod_info["classes"].get(type_token)
    if class_name is None:
        raise LookupError(f"{type_token}: pulumi-aws module {module!r} has no class {class_token!r}")
    resource_class = getattr(importlib.import_module(resource_module.mod_info["fqn"]), class_name)
    return _props_class(resource_class)


def _props_class(resource_class: type) -> type:
    """The input type the resource's `_internal_init` fills: usually `<Class>Args`, but `<Class>InitArgs`
    where a nested input type already has that name (`aws.s3.BucketVersioningArgs` is Bucket's `versioning`)."""
    source = inspect.getsource(resource_class._internal_init)  # noqa: SLF001 - the SDK's own wiring
    match = re.search(r"__props__ = (\w+)\.__new__", source)
    if match is None:
        raise LookupError(f"{resource_class.__name__}: cannot find the input type its _internal_init fills")
    return getattr(importlib.import_module(resource_class.__module__), match.group(1))


def input_problems(type_token: str, inputs: Mapping[str, Any]) -> list[str]:
    """Every input of one resource the SDK would not pass to the provider as meant, as `path: problem` lines."""
    if type_token.startswith("pulumi:providers:"):
        inputs = {key: _provider_value(value) for key, value in inputs.items()}
    return _check_object(args_class(type_token), inputs, "")


def _provider_value(value: Any) -> Any:
    """Provider inputs travel as JSON text ("false", '{"tags": ...}'); plain strings stay as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@functools.cache
def _properties(input_type: type) -> dict[str, Any]:
    return pulumi_types.input_type_types(input_type)


def _check_object(input_type: type, value: Mapping[str, Any], path: str) -> list[str]:
    properties = _properties(input_type)
    problems = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in properties:
            problems.append(f"{where}: not an input of {input_type.__name__} (known: {', '.join(sorted(properties))})")
            continue
        problems.extend(_check_value(properties[key], item, where))
    return problems


def _check_value(declared: Any, value: Any, path: str) -> list[str]:
    if value is None or value == UNKNOWN:
        return []
    declared = _plain_type(declared)
    origin = typing.get_origin(declared)
    if pulumi_types.is_input_type(declared):
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object ({declared.__name__}), got {value!r}"]
        return _check_object(declared, value, path)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        # Free-form maps (tags, environment variables, dimensions): any key, values of the declared type.
        if not isinstance(value, Mapping):
            return [f"{path}: expected a map, got {value!r}"]
        item_type = typing.get_args(declared)[1]
        return [p for key, item in value.items() for p in _check_value(item_type, item, f"{path}.{key}")]
    if isinstance(origin, type) and issubclass(origin, Sequence):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        item_type = typing.get_args(declared)[0]
        return [p for index, item in enumerate(value) for p in _check_value(item_type, item, f"{path}[{index}]")]
    return _check_scalar(declared, value, path)


def _check_scalar(declared: Any, value: Any, path: str) -> list[str]:
    alternatives = typing.get_args(declared) if typing.get_origin(declared) is typing.Union else (declared,)
    enums = [t for t in alternatives if isinstance(t, type) and issubclass(t, enum.Enum)]
    plain = [t for t in alternatives if t not in enums]
    if isinstance(value, Mapping) and any(_is_asset(t) for t in plain):
        return []  # plan/ records assets and archives as {"FileArchive": path}
    if not any(_is_kind(t, value) for t in plain + enums):
        expected = " or ".join(getattr(t, "__name__", str(t)) for t in plain + enums)
        return [f"{path}: expected {expected}, got {value!r}"]
    if enums and isinstance(value, str):
        allowed = {member.value for e in enums for member in e}
        if value not in allowed:
            return [f"{path}: {value!r} is not one of the SDK's values ({', '.join(sorted(allowed))})"]
    return []


def _plain_type(declared: Any) -> Any:
    """`Input[T]`, `Optional[T]` and `Union[T, Awaitable[T], Output[T]]` as T (or a Union of the T's)."""
    if typing.get_origin(declared) is not typing.Union:
        return declared
    kept = []
    for alternative in typing.get_args(declared):
        origin = typing.get_origin(alternative)
        if alternative is type(None) or origin is pulumi.Output or origin is Awaitable:
            continue
        if isinstance(alternative, type) and typing.is_typeddict(alternative):
            continue  # the `*ArgsDict` spelling of the same input type
        kept.append(alternative)
    if len(kept) == 1:
        return kept[0]
    return typing.Union[tuple(kept)]  # noqa: UP007 - built from a runtime tuple


def _is_asset(declared: Any) -> bool:
    return isinstance(declared, type) and issubclass(declared, (pulumi.Asset, pulumi.Archive))


def _is_kind(declared: Any, value: Any) -> bool:
    if declared is Any:
        return True
    if isinstance(declared, type) and issubclass(declared, enum.Enum):
        return isinstance(value, str)
    if declared is bool:
        return isinstance(value, bool)
    if declared in (int, float):
        # The engine carries every number as a float; an int input must still be whole.
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (declared is float or value == int(value))
        )
    if declared is str:
        return isinstance(value, str)
    return False

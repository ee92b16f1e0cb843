"""Building rules: a type-filtered check function becomes a pulumi_policy policy object.

A resource check is `check(subject) -> Iterable[str]` (one message per violation); a stack check is
`check(graph) -> Iterable[(urn, message)]`. Both read plain data (see values.py) and never see the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .values import plain

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY
_JSON_TYPE_OF = {bool: "boolean", str: "string", list: "array", tuple: "array"}


def setting_schema(name: str, default: bool | str | tuple[str, ...], description: str) -> PolicyConfigSchema:
    """The config schema of a rule with one setting; its JSON type follows the default's Python type."""
    spec: dict[str, Any] = {"type": _JSON_TYPE_OF[type(default)], "description": description}
    if isinstance(default, tuple | list):
        spec["items"] = {"type": "string"}
        default = list(default)
    spec["default"] = default
    return PolicyConfigSchema(properties={name: spec})


@dataclass(frozen=True)
class Subject:
    """What a resource check sees: the resource's plain inputs, its rule config and its provider's inputs."""

    resource_type: str
    name: str
    props: dict
    config: Mapping[str, Any] = field(default_factory=dict)
    provider_props: dict = field(default_factory=dict)


def resource_rule(
    name: str,
    description: str,
    types: Iterable[str],
    check: Callable[[Subject], Iterable[str]],
    level: EnforcementLevel = MANDATORY,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        provider_props = plain(args.provider.props) if args.provider is not None else {}
        subject = Subject(
            args.resource_type,
            args.name,
            plain(args.props),
            args.get_config() or {},
            provider_props if isinstance(provider_props, dict) else {},
        )
        for message in check(subject):
            report_violation(message, None)

    validate.__name__ = check.__name__
    return ResourceValidationPolicy(
        name, description, validate=validate, enforcement_level=level, config_schema=config_schema
    )


class Graph:
    """The stack's resources as plain data, with the links stack rules follow (property dependencies)."""

    def __init__(self, resources: Iterable[PolicyResource], config: Mapping[str, Any] | None = None):
        self.resources = list(resources)
        self.config = config or {}
        self._props: dict[str, dict] = {}  # unwrapped on first use: most rules read a few types only

    def props(self, resource: PolicyResource) -> dict:
        if resource.urn not in self._props:
            props = plain(resource.props)
            self._props[resource.urn] = props if isinstance(props, dict) else {}
        return self._props[resource.urn]

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [resource for resource in self.resources if resource.resource_type in types]

    def linked_from(
        self, target: PolicyResource, types: Iterable[str], input_name: str
    ) -> list[PolicyResource]:
        """Resources of `types` whose input `input_name` depends on `target` (e.g. a bucket's versioning)."""
        wanted = frozenset(types)
        return [
            resource
            for resource in self.resources
            if resource.resource_type in wanted
            and any(dependency.urn == target.urn for dependency in depends_on(resource, input_name))
        ]


def depends_on(resource: PolicyResource, input_name: str) -> list[PolicyResource]:
    dependencies = resource.property_dependencies or {}
    return list(dependencies.get(input_name) or [])


class DeferredUnknowns:
    """Lets a stack check judge every resource it can, and only then report what it could not know."""

    def __init__(self) -> None:
        self.first: UnknownValueError | None = None

    def run(self, findings: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
        try:
            yield from findings
        except UnknownValueError as unknown:
            self.first = self.first or unknown

    def raise_if_any(self) -> None:
        if self.first is not None:
            raise self.first


def stack_rule(
    name: str,
    description: str,
    check: Callable[[Graph], Iterable[tuple[str, str]]],
    level: EnforcementLevel = MANDATORY,
    config_schema: PolicyConfigSchema | None = None,
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for urn, message in check(Graph(args.resources, args.get_config())):
            report_violation(message, urn)

    validate.__name__ = check.__name__
    return StackValidationPolicy(
        name, description, validate=validate, enforcement_level=level, config_schema=config_schema
    )

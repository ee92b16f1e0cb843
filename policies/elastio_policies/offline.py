"""Runs every rule on planned graph records, with the argument objects the policy engine builds.

`evaluate(records)` mirrors pulumi_policy's analyzer (`Analyze` per resource, then `AnalyzeStack`):
the same deserialisation and unknown-checking proxy of the inputs, `ResourceValidationArgs` per resource
and rule, `PolicyResource`s with parent and property dependencies resolved to objects for stack rules,
per-rule config and enforcement level (disabled rules skipped, remediate reported as mandatory), and an
unknown value turned into the engine's advisory "can't run policy ... during preview" verdict.
Records are the dicts of docs/CONTRACT.md (urn, type, name, parent, inputs, protect, property_dependencies);
nothing here knows how they were made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from .config import RuleSettings, resolve
from .registry import ALL_POLICIES, PACK_NAME

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY.value, EnforcementLevel.ADVISORY.value
PACK_VERSION = "0.1.0"
_PROVIDER_TYPE_PREFIX = "pulumi:providers:"
# How the offline plan writes values it does not have: not yet computed, or secret (redacted). A rule can
# judge neither, so both become the engine's own unknown marker and give the engine's advisory verdict.
UNKNOWN_MARKER, SECRET_MARKER = "[unknown]", "[secret]"


class GraphRecordError(ValueError):
    """A record the check cannot read; str() names the record and the field."""


@dataclass(frozen=True)
class Verdict:
    policy: str
    level: str  # "mandatory" or "advisory"
    urn: str  # "" when a stack rule blames the stack as a whole
    name: str
    type: str
    message: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def evaluate(
    records: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any] | None = None,
    policies: Iterable[Policy] | None = None,
) -> list[Verdict]:
    """Every violation of every enabled rule on `records`, resource rules first, in record order.

    Raises `config.PolicyConfigError` for an unusable config and `GraphRecordError` for a malformed record.
    """
    policies = list(ALL_POLICIES if policies is None else policies)
    settings = resolve(policies, config)
    records = [_checked(index, record) for index, record in enumerate(records)]
    by_urn = {record["urn"]: record for record in records}
    enabled = [policy for policy in policies if settings[policy.name].level != EnforcementLevel.DISABLED]

    verdicts: list[Verdict] = []
    secret_paths: set[tuple[str, ...]] = set()  # input paths that held a redacted secret (paths, no values)
    resource_policies = [policy for policy in enabled if isinstance(policy, ResourceValidationPolicy)]
    for record in records:
        props = _engine_props(record, secret_paths)
        options = _options(record)
        provider = _provider(record, by_urn)
        for policy in resource_policies:
            rule = settings[policy.name]
            args = ResourceValidationArgs(
                record["type"], props, record["urn"], record["name"], options, provider,
                dict(rule.properties), {},
            )
            verdicts += _run(policy, rule, args, by_urn, record["urn"], secret_paths)

    stack_policies = [policy for policy in enabled if isinstance(policy, StackValidationPolicy)]
    if stack_policies:
        resources = policy_resources(records)
        for policy in stack_policies:
            rule = settings[policy.name]
            args = StackValidationArgs(resources, dict(rule.properties), {})
            verdicts += _run(policy, rule, args, by_urn, "", secret_paths)
    return verdicts


def policy_resources(records: list[Mapping[str, Any]]) -> list[PolicyResource]:
    """The stack as the engine gives it to stack rules: parents and property dependencies as objects."""
    by_urn: dict[str, Any] = {record["urn"]: record for record in records}
    resources = {
        record["urn"]: PolicyResource(
            record["type"], _engine_props(record), record["urn"], record["name"], _options(record),
            _provider(record, by_urn), None, [], {},
        )
        for record in records
    }
    for record in records:
        resource = resources[record["urn"]]
        parent = record.get("parent")
        resource.parent = resources.get(parent) if isinstance(parent, str) else None
        dependency_urns: list[str] = list(record.get("dependencies") or [])
        for input_name, urns in (record.get("property_dependencies") or {}).items():
            urns = [urn for urn in urns or [] if isinstance(urn, str)]
            dependency_urns += urns
            # As the engine does: a dependency outside the stack's resources is dropped, the input kept.
            resource.property_dependencies[input_name] = [resources[urn] for urn in urns if urn in resources]
        seen = set()
        for urn in dependency_urns:
            if urn in resources and urn not in seen:
                seen.add(urn)
                resource.dependencies.append(resources[urn])
    return list(resources.values())


def has_mandatory(verdicts: Iterable[Verdict]) -> bool:
    return any(verdict.level == MANDATORY for verdict in verdicts)


def _run(
    policy: Policy, rule: RuleSettings, args, by_urn, default_urn: str, secret_paths: set
) -> list[Verdict]:
    # The engine reports a remediate-level rule that still finds a violation as mandatory.
    level = MANDATORY if rule.level == EnforcementLevel.REMEDIATE else rule.level.value
    found: list[Verdict] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(_verdict(policy, level, urn or default_urn, message or "", by_urn))

    try:
        policy.validate(args, report_violation)
    except UnknownValueError as unknown:
        message = (f"can't run policy '{policy.name}' from policy pack '{PACK_NAME}@v{PACK_VERSION}' "
                   f"during preview: {unknown.message}")
        if tuple(unknown.props) in secret_paths:
            message += " (a secret the offline plan redacts; a real `pulumi preview` checks it)"
        found.append(_verdict(policy, ADVISORY, default_urn, message, by_urn))
    except _NotApplicableError:
        pass
    except Exception as error:  # noqa: BLE001 - a rule bug must show as a verdict, not a traceback
        message = f"the rule failed ({type(error).__name__}: {error}); this is a bug in the policy pack"
        found.append(_verdict(policy, MANDATORY, default_urn, message, by_urn))
    return found


def _verdict(policy: Policy, level: str, urn: str, message: str, by_urn) -> Verdict:
    record = by_urn.get(urn) or {}
    return Verdict(policy.name, level, urn, record.get("name", ""), record.get("type", ""), message,
                   policy.description)


def _checked(index: int, record: Any) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise GraphRecordError(f"graph record #{index}: expected an object, got {type(record).__name__}")
    for field in ("urn", "type", "name"):
        if not isinstance(record.get(field), str) or not record.get(field):
            raise GraphRecordError(f"graph record #{index}: field {field!r} must be a non-empty string")
    inputs = record.get("inputs")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise GraphRecordError(f"graph record {record['urn']}: 'inputs' must be an object")
    dependencies = record.get("property_dependencies")
    if dependencies is not None and not isinstance(dependencies, Mapping):
        raise GraphRecordError(f"graph record {record['urn']}: 'property_dependencies' must be an object")
    return record


def _engine_props(record: Mapping[str, Any], secret_paths: set | None = None) -> Mapping[str, Any]:
    inputs = _unmarked(dict(record.get("inputs") or {}), secrets=secret_paths)
    try:
        deserialized = deserialize_properties(inputs)
    except AssertionError:
        deserialized = inputs  # an asset or secret shape the SDK does not know; rules see it raw
    return unknown_checking_proxy(deserialized)


def _unmarked(value: Any, path: tuple[str, ...] = (), secrets: set | None = None) -> Any:
    """`value` with the plan's markers as the engine's unknown; adds the paths of secrets to `secrets`."""
    if isinstance(value, dict):
        return {key: _unmarked(item, (*path, str(key)), secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_unmarked(item, (*path, str(index)), secrets) for index, item in enumerate(value)]
    if value == SECRET_MARKER and secrets is not None:
        secrets.add(path)
    if value in (UNKNOWN_MARKER, SECRET_MARKER):
        return UNKNOWN_STRING_VALUE
    return value


def _options(record: Mapping[str, Any]) -> PolicyResourceOptions:
    parent = record.get("parent")
    return PolicyResourceOptions(
        protect=bool(record.get("protect")),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent if isinstance(parent, str) and parent else None,
    )


def _provider(record: Mapping[str, Any], by_urn: Mapping[str, Any]) -> PolicyProviderResource | None:
    """The resource's provider when the record names one (`provider`: "<provider URN>::<id>" or a URN)."""
    reference = record.get("provider")
    if not isinstance(reference, str) or not reference:
        return None
    urn = reference.rsplit("::", 1)[0] if reference not in by_urn else reference
    provider = by_urn.get(urn)
    if provider is None or not str(provider.get("type", "")).startswith(_PROVIDER_TYPE_PREFIX):
        return None
    props = _engine_props(provider)
    return PolicyProviderResource(provider["type"], props, provider["urn"], provider["name"])

"""IAM: no wildcard principal without conditions, ExternalId on the tenant's trust, no `Action: "*"`,
no `iam:PassRole` on every role. Applied to every policy document a resource carries (documents.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..documents import (
    POLICY_DOCUMENT_INPUTS,
    TRUST,
    Statement,
    allows_action,
    condition_values,
    documents_in,
    has_conditions,
    is_all_actions,
    is_wildcard_principal,
    statements,
)
from ..rule import Subject, resource_rule, setting_schema
from ..values import dig, is_set

ROLE_TYPE = "aws:iam/role:Role"
# The tenant role is <IAM prefix><Root>Tenant<IAM suffix>, where Root is the deployment's elastio:namePrefix
# capitalised (ElastioTenant by default, ElastiostagingTenant for a second deployment beside it): "Tenant" finds it
# whatever the prefix. The program's other roles never contain it (function and vault roles: Router-..., Vault-...).
DEFAULT_TENANT_ROLE_MARKER = "Tenant"


def _judge_documents(
    subject: Subject,
    judge: Callable[[Statement], str | None],
    kinds: Iterable[str] | None = None,
) -> Iterator[str]:
    """One message per offending statement, then the first unknown document (see values.py)."""
    unknown = None
    for found in documents_in(subject.resource_type, subject.props):
        if kinds is not None and found.kind not in kinds:
            continue
        if found.unknown is not None:
            unknown = unknown or found.unknown
        elif found.error:
            yield f"{found.where}: {found.error}"
        else:
            for statement in statements(found.document or {}):
                problem = judge(statement)
                if problem:
                    yield f"{found.where} {statement.label}: {problem}"
    if unknown is not None:
        raise unknown


def check_no_wildcard_principal(subject: Subject) -> Iterator[str]:
    def judge(statement: Statement) -> str | None:
        if statement.allows and is_wildcard_principal(statement) and not has_conditions(statement):
            return "allows any principal ('*') without a Condition: name the principal or add a condition"
        return None

    yield from _judge_documents(subject, judge)


def check_no_action_star(subject: Subject) -> Iterator[str]:
    def judge(statement: Statement) -> str | None:
        if statement.allows and any(is_all_actions(action) for action in statement.actions):
            return "allows Action '*': list the actions the principal needs"
        return None

    yield from _judge_documents(subject, judge)


def check_no_pass_role_on_star(subject: Subject) -> Iterator[str]:
    def judge(statement: Statement) -> str | None:
        if allows_action(statement, "iam:PassRole") and "*" in statement.resources:
            return "allows iam:PassRole on Resource '*': name the roles that may be passed"
        return None

    yield from _judge_documents(subject, judge)


def is_tenant_role(subject: Subject) -> bool:
    marker = subject.config.get("tenantRoleMarker")
    marker = marker if isinstance(marker, str) and marker else DEFAULT_TENANT_ROLE_MARKER
    name = dig(subject.props, "name") or dig(subject.props, "namePrefix")
    return isinstance(name, str) and marker in name


def _external_id_problem(statement: Statement) -> str | None:
    if not (allows_action(statement, "sts:AssumeRole") and statement.allows):
        return None
    values = condition_values(statement, "StringEquals", "sts:ExternalId")
    if not values:
        return "lets the tenant assume the role without a StringEquals condition on sts:ExternalId"
    if not all(is_set(value) and value != "*" for value in values):
        return "has an empty or wildcard sts:ExternalId"
    return None


def check_tenant_trust_external_id(subject: Subject) -> Iterator[str]:
    if not is_tenant_role(subject):
        return
    yield from _judge_documents(subject, _external_id_problem, kinds=[TRUST])



DOCUMENT_TYPES = list(POLICY_DOCUMENT_INPUTS)

POLICIES = [
    resource_rule(
        "iam-no-wildcard-principal",
        "Trust and resource policies never allow any principal ('*') without a condition.",
        DOCUMENT_TYPES,
        check_no_wildcard_principal,
    ),
    resource_rule(
        "iam-tenant-trust-external-id",
        "The ElastioTenant role's trust requires the tenant's sts:ExternalId (confused-deputy protection).",
        [ROLE_TYPE],
        check_tenant_trust_external_id,
        config_schema=setting_schema(
            "tenantRoleMarker",
            DEFAULT_TENANT_ROLE_MARKER,
            "Text in the tenant role's name (the IAM prefix, the deployment's root and the IAM suffix go around it).",
        ),
    ),
    resource_rule(
        "iam-no-action-star",
        "No policy allows every action (Action '*').",
        DOCUMENT_TYPES,
        check_no_action_star,
    ),
    resource_rule(
        "iam-no-pass-role-star",
        "No policy allows iam:PassRole on every role (Resource '*'): passing a role is privilege escalation.",
        DOCUMENT_TYPES,
        check_no_pass_role_on_star,
    ),
]

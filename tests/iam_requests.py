"""A small same-account IAM request evaluator for the focused tests of the IAM fixes (issue 11).

It follows AWS's policy evaluation logic for a request inside one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any policy wins; otherwise the request needs an Allow from the identity policies or from
the resource policy, and, when the role has a permissions boundary, an Allow from the boundary too. A resource
policy that names the role's ARN is still capped by the boundary (only a grant to a role *session* ARN is
not, and nothing here grants to sessions). KMS is the exception to "identity or resource": a key policy must
allow the request itself, or delegate to IAM by naming the account root, before identity policies count
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).

Condition operators are the ones the documents use. A condition key absent from the request matches nothing,
except for negated operators, `...IfExists`, `ForAllValues` and `Null` (reference_policies_condition-single-vs-
multi-valued-context-keys.html): that is how an Allow on an unsupported key never matches and a Deny on one
never fires. The evaluator engineer's tables (tests/iam/...) are the full check; these tests name one fix each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it: who, which action, on which resource, with which condition keys."""

    principal: str  # the role ARN (aws:PrincipalArn), or a service principal such as ec2.amazonaws.com
    action: str
    resource: str
    context: Mapping[str, str | bool | Sequence[str]] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.principal.split(":")[4] if self.principal.startswith("arn:") else ""

    def keys(self) -> dict[str, list[str]]:
        keys: dict[str, list[str]] = {"aws:securetransport": ["true"]}
        if self.principal.startswith("arn:"):
            keys["aws:principalarn"] = [self.principal]
            keys["aws:principalaccount"] = [self.account]
        for key, value in self.context.items():
            values = [value] if isinstance(value, (str, bool)) else list(value)
            keys[key.lower()] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        return keys


def _as_list(value) -> list:
    return [value] if isinstance(value, (str, bool)) else list(value)


def _compare(operator: str, actual: str, expected: str) -> bool:
    if operator == "StringEquals":
        return actual == expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "ArnLike", "ArnEquals"):  # ArnEquals takes wildcards as ArnLike does
        return fnmatchcase(actual, expected)
    if operator == "Bool":
        return actual.lower() == str(expected).lower()
    raise NotImplementedError(f"condition operator {operator} is not modelled")


def _condition_holds(operator: str, key: str, expected, keys: dict[str, list[str]]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    expected = [str(e).lower() if isinstance(e, bool) else str(e) for e in _as_list(expected)]
    values = keys.get(key.lower())
    if operator == "Null":
        return (values is None) == (expected[0] == "true")
    if values is None:
        return if_exists or qualifier == "ForAllValues" or operator in _NEGATED
    base = _NEGATED.get(operator, operator)

    def matches(value: str) -> bool:
        return any(_compare(base, value, e) for e in expected)

    held = all(map(matches, values)) if qualifier == "ForAllValues" else any(map(matches, values))
    return not held if operator in _NEGATED else held


def _principal_named(statement: dict, request: Request) -> str | None:
    """'direct' when a resource-policy statement names the requester, 'root' when it names its account
    (delegation to IAM), else None."""
    principal = statement.get("Principal")
    if principal == "*":
        return "direct"
    names = [p for kind in ("AWS", "Service") for p in _as_list(principal.get(kind, []))]
    if "*" in names or request.principal in names:
        return "direct"
    if f"arn:aws:iam::{request.account}:root" in names or request.account in names:
        return "root"
    return None


def _applies(statement: dict, request: Request) -> bool:
    actions = _as_list(statement.get("Action", statement.get("NotAction")))
    hit = any(fnmatchcase(request.action.lower(), a.lower()) for a in actions)
    if ("Action" in statement) != hit:
        return False
    resources = _as_list(statement.get("Resource", statement.get("NotResource", "*")))
    hit = any(fnmatchcase(request.resource, r) for r in resources)
    if ("NotResource" in statement) == hit:
        return False
    keys = request.keys()
    return all(
        _condition_holds(operator, key, expected, keys)
        for operator, entries in statement.get("Condition", {}).items()
        for key, expected in entries.items()
    )


def _statements(document: dict | None, effect: str) -> list[dict]:
    return [s for s in (document or {}).get("Statement", []) if s["Effect"] == effect]


def _allows(document: dict | None, request: Request) -> bool:
    return any(_applies(s, request) for s in _statements(document, "Allow"))


def _resource_grant(document: dict | None, request: Request) -> set[str]:
    return {
        _principal_named(s, request) or ""
        for s in _statements(document, "Allow")
        if _applies(s, request)
    } - {""}


def _denies(document: dict | None, request: Request, *, resource_policy: bool) -> bool:
    return any(
        _applies(s, request) and (not resource_policy or _principal_named(s, request))
        for s in _statements(document, "Deny")
    )


def is_allowed(
    request: Request,
    identity: Sequence[dict] = (),
    *,
    boundary: dict | None = None,
    resource_policy: dict | None = None,
    key_policy: dict | None = None,
) -> bool:
    """Whether AWS allows `request` by a principal of the resource's own account."""
    if any(_denies(d, request, resource_policy=False) for d in (*identity, boundary)):
        return False
    if any(_denies(d, request, resource_policy=True) for d in (resource_policy, key_policy)):
        return False
    identity_allows = any(_allows(d, request) for d in identity)
    if key_policy is not None:
        grant = _resource_grant(key_policy, request)
        allowed = "direct" in grant or ("root" in grant and identity_allows)
    else:
        allowed = identity_allows or "direct" in _resource_grant(resource_policy, request)
    return allowed and (boundary is None or _allows(boundary, request))

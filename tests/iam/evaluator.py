"""A small IAM policy evaluator for requests made inside one account, as AWS documents the evaluation.

Why our own and not principalmapper's `local_check_authorization_full` (1.1.5, the latest): it needs a
principalmapper Graph/Node per principal, and it is wrong in two cases our documents hit:
- a same-account resource policy naming a role ARN makes it return Allowed without looking at the role's
  permissions boundary; AWS applies the boundary to such grants and lets only grants to a role *session*
  ARN pass an implicit deny of the boundary;
- StringNotLike on a key absent from the request returns False; AWS returns True for every negated
  operator on an absent key (and so fires a Deny written with it).
What this module implements, with the AWS page each rule comes from (tests/iam/test_iam_evaluator.py checks each):

1. Deny wins. Any matching Deny in an identity policy, the permissions boundary or the resource policy is
   final ("How AWS enforcement code logic evaluates requests", https://docs.aws.amazon.com/IAM/latest/
   UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html).
2. Identity policies grant; the boundary only caps: an action is allowed by identity only if an identity
   policy AND the boundary allow it (https://docs.aws.amazon.com/IAM/latest/UserGuide/
   access_policies_boundaries.html).
3. Same-account resource policies: a grant to the role's session ARN is enough on its own; a grant to the
   role ARN is still limited by an implicit deny of the boundary; a grant to the account (root) only
   delegates to identity policies (same two pages, "Resource-based policies"). `"Principal": "*"` is taken
   as a grant to the role (the boundary still applies): the docs do not say, and this is the stricter reading
   for the positive table.
4. KMS keys: the key policy must allow the request, either to the principal or to the account (then IAM
   policies decide); without it an identity policy grants nothing ("Key policies in AWS KMS",
   https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
5. A Deny with NotPrincipal always applies to a principal that has a permissions boundary
   (access_policies_boundaries.html, "Important"); otherwise it spares only the session ARN it lists.
6. Conditions (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_
   operators.html and ..._condition-single-vs-multi-valued-context-keys.html): operators AND together, keys
   within an operator AND, values of one key OR; key names are case-insensitive; a key absent from the
   request makes a positive operator false and a negated one (StringNotEquals, ArnNotLike, ...) true;
   `...IfExists` is true on an absent key; `Null` tests presence; `ForAllValues` is true for an absent or
   empty key, `ForAnyValue` false. A multivalued key under a plain operator is an error here (AWS's
   result then depends on the operator; our documents never need it).
7. Action names match case-insensitively with * and ?; resource ARNs case-sensitively, * and ? never
   crossing the colons between the first five ARN fields (https://docs.aws.amazon.com/IAM/latest/
   UserGuide/reference_policies_elements_resource.html).

Session policies, SCPs/RCPs and cross-account requests are out of scope: nothing in this stack uses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

ContextValue = str | tuple[str, ...]

NEGATED_OPERATORS = frozenset(
    {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals"}
)


@dataclass(frozen=True)
class Principal:
    """A role, as a session of it calls AWS: its identity policies (inline and attached) and its boundary."""

    role_arn: str
    policies: tuple[dict, ...]
    boundary: dict | None = None
    session_name: str = "session"

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def session_arn(self) -> str:
        name = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{self.account}:assumed-role/{name}/{self.session_name}"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def decide(principal: Principal, request: Request, resource_policy: dict | None = None) -> Decision:
    """Whether AWS allows `request` by a session of `principal`, given the resource's policy if it has one."""
    if is_kms_key(request.resource) and resource_policy is None:
        raise ValueError(f"{request.resource}: a KMS key always has a key policy; pass it")
    context = _context(principal, request)
    identity = _matching(principal.policies, request, context)
    boundary = _matching((principal.boundary,), request, context) if principal.boundary else []
    granted_by_resource = _resource_grants(resource_policy, principal, request, context)

    for where, found in (("identity policy", identity), ("permissions boundary", boundary)):
        if deny := next((s for s in found if s["Effect"] == "Deny"), None):
            return Decision(False, f"explicit deny in the {where} ({deny.get('Sid', '?')})")
    if deny := next((s for kind, s in granted_by_resource if s["Effect"] == "Deny"), None):
        return Decision(False, f"explicit deny in the resource policy ({deny.get('Sid', '?')})")

    identity_allows = any(s["Effect"] == "Allow" for s in identity)
    boundary_allows = principal.boundary is None or any(s["Effect"] == "Allow" for s in boundary)
    kinds = {kind for kind, s in granted_by_resource if s["Effect"] == "Allow"}

    if "session" in kinds:
        return Decision(True, "the resource policy grants the role session")
    if "role" in kinds:
        if boundary_allows:
            return Decision(True, "the resource policy grants the role and the boundary allows it")
        return Decision(False, "the resource policy grants the role, but the boundary does not allow it")
    if is_kms_key(request.resource) and "account" not in kinds:
        return Decision(False, "the key policy allows neither the principal nor the account")
    if not identity_allows:
        return Decision(False, "no identity policy allows it")
    if not boundary_allows:
        return Decision(False, "the permissions boundary does not allow it")
    return Decision(True, "an identity policy and the boundary allow it")


# --- matching -------------------------------------------------------------------------------------------


def _context(principal: Principal, request: Request) -> dict[str, tuple[str, ...]]:
    """The request's condition keys (lower-cased names, tuple values), with the global keys of the caller."""
    base: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.role_arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:SecureTransport": "true",
    }
    merged = {k.lower(): v for k, v in base.items()} | {k.lower(): v for k, v in request.context.items()}
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in merged.items()}


def _matching(policies: Iterable[dict | None], request: Request, context) -> list[dict]:
    return [s for policy in policies if policy for s in _statements(policy) if _statement_applies(s, request, context)]


def _statements(policy: dict) -> list[dict]:
    found = policy["Statement"]
    return [found] if isinstance(found, dict) else list(found)


def _statement_applies(statement: dict, request: Request, context) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _as_list(statement["Action"])):
            return False
    elif any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(resource_matches(p, request.resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(resource_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
            return False
    return conditions_hold(statement.get("Condition", {}), context)


def _resource_grants(policy: dict | None, principal: Principal, request: Request, context):
    """(how the statement names the caller, statement) for each resource-policy statement that applies."""
    if not policy:
        return []
    found = []
    for statement in _statements(policy):
        if "NotPrincipal" in statement:
            spared = _principal_kind(statement["NotPrincipal"], principal) == "session"
            if statement["Effect"] == "Deny" and principal.boundary is not None:
                spared = False  # access_policies_boundaries.html: NotPrincipal + Deny always denies them
            kind = None if spared else "role"
        else:
            kind = _principal_kind(statement.get("Principal"), principal)
        if kind and _statement_applies(statement, request, context):
            found.append((kind, statement))
    return found


def _principal_kind(element, principal: Principal) -> str | None:
    """'session', 'role' or 'account': how a Principal element names the caller (None: it does not)."""
    if element == "*":
        return "role"  # anyone: treated like a grant to the role, so the boundary still applies
    if not isinstance(element, dict) or "AWS" not in element:
        return None  # service or federated principals only
    names = set(_as_list(element["AWS"]))
    if principal.session_arn in names:
        return "session"
    if principal.role_arn in names or "*" in names:
        return "role"
    if {f"arn:aws:iam::{principal.account}:root", principal.account} & names:
        return "account"
    return None


def default_key_policy(account: str) -> dict:
    """The key policy KMS gives a key created without one: the account administers it, IAM policies decide
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnableIAMUserPermissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def is_kms_key(resource: str) -> bool:
    return resource.startswith("arn:aws:kms:") and ":key/" in resource


# --- actions and resources ---------------------------------------------------------------------------


@cache
def _glob(pattern: str, *, ignore_case: bool = False, stop_at_colon: bool = False) -> re.Pattern:
    star = "[^:]*" if stop_at_colon else ".*"
    any_one = "[^:]" if stop_at_colon else "."
    body = "".join(star if c == "*" else any_one if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@cache
def action_matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern, ignore_case=True).match(action))


@cache
def resource_matches(pattern: str, arn: str) -> bool:
    """ARN glob: wildcards stay within each of the first five fields; the resource part may hold colons."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != len(actual):
        return False
    last = len(wanted) - 1
    return all(_glob(w, stop_at_colon=i < last).match(a) for i, (w, a) in enumerate(zip(wanted, actual, strict=True)))


# --- conditions ----------------------------------------------------------------------------------------


def conditions_hold(condition: Mapping[str, Mapping[str, object]], context) -> bool:
    context = {k.lower(): ((v,) if isinstance(v, str) else tuple(v)) for k, v in context.items()}
    return all(
        _operator_holds(operator, key.lower(), [str(v) for v in _as_list(values)], context)
        for operator, keys in condition.items()
        for key, values in keys.items()
    )


def _operator_holds(operator: str, key: str, wanted: list[str], context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"unknown set operator {qualifier!r}")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    present = key in context and context[key] != ()
    if name == "Null":
        return any((w.lower() == "true") == (not present) for w in wanted)
    if not present:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or name in NEGATED_OPERATORS
    values = context[key]
    if qualifier == "ForAllValues":
        return all(_compare(name, v, wanted) for v in values)
    if qualifier == "ForAnyValue":
        return any(_compare(name, v, wanted) for v in values)
    if len(values) != 1:
        raise ValueError(f"{key} has several values; a plain {operator} on it needs ForAllValues/ForAnyValue")
    return _compare(name, values[0], wanted)


def _compare(operator: str, value: str, wanted: list[str]) -> bool:
    negated = operator in NEGATED_OPERATORS
    positive = operator.replace("Not", "", 1) if negated else operator
    if positive == "StringEquals":
        hit = value in wanted
    elif positive == "StringEqualsIgnoreCase":
        hit = value.lower() in {w.lower() for w in wanted}
    elif positive == "StringLike":
        hit = any(_glob(w).match(value) for w in wanted)
    elif positive in ("ArnEquals", "ArnLike"):
        hit = any(resource_matches(w, value) for w in wanted)
    elif positive == "Bool":
        hit = value.lower() in {w.lower() for w in wanted}
    elif positive in (
        "NumericEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ):
        compare = {
            "NumericEquals": float.__eq__,
            "NumericLessThan": float.__lt__,
            "NumericLessThanEquals": float.__le__,
            "NumericGreaterThan": float.__gt__,
            "NumericGreaterThanEquals": float.__ge__,
        }[positive]
        hit = any(compare(float(value), float(w)) for w in wanted)
    else:
        raise ValueError(f"condition operator {operator!r} is not implemented")
    return not hit if negated else hit


def _as_list(value) -> list:
    return [value] if isinstance(value, str | dict) else list(value)

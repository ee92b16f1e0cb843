"""The focused IAM tests' way of asking "would AWS allow this request?", answered by the suite's one IAM
evaluator (tests/iam/evaluator.py, which documents the AWS rules it follows and has its own tests).

`Request` names its principal (a role or user ARN of the account), so one-off tests can pass the documents
inline; the tables in tests/iam/ read the documents from the planned graph instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tests.iam import evaluator


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it: who, which action, on which resource, with which condition keys."""

    principal: str  # the caller's role (or user) ARN: aws:PrincipalArn
    action: str
    resource: str
    context: Mapping[str, str | bool | Sequence[str]] = field(default_factory=dict)


def _context_value(value: str | bool | Sequence[str]) -> str | tuple[str, ...]:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else tuple(str(v) for v in value)


def is_allowed(
    request: Request,
    identity: Sequence[dict] = (),
    *,
    boundary: dict | None = None,
    resource_policy: dict | None = None,
    key_policy: dict | None = None,
) -> bool:
    """Whether AWS allows `request` by a principal of the resource's own account."""
    principal = evaluator.Principal(request.principal, tuple(identity), boundary)
    context = {key: _context_value(value) for key, value in request.context.items()}
    policy = key_policy or resource_policy
    if policy is None and evaluator.is_kms_key(request.resource):
        # No key policy given: the key's default one, which leaves the decision to IAM policies.
        policy = evaluator.default_key_policy(principal.account)
    return evaluator.decide(principal, evaluator.Request(request.action, request.resource, context), policy).allowed

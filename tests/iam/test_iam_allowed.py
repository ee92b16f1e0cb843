"""Positive table: every call the code makes, and every call AWS makes with its credentials, is allowed for
the role that makes it, through its boundary and the resource's own policy (tests/iam/allowed_requests.py)."""

from __future__ import annotations

from functools import cache

from tests.iam.allowed_requests import allowed_rows, witness
from tests.iam.evaluator import Principal
from tests.iam.stack import StackIam


@cache
def rows(stack: StackIam):
    return allowed_rows(stack)


def test_every_request_of_the_code_and_of_aws_on_its_behalf_is_allowed(stack):
    denied = [
        f"{row} -> {decision.reason}"
        for row in rows(stack)
        if not (decision := stack.decide(row.principal, row.request))
    ]
    assert denied == [], "\n".join(denied)


def test_the_table_covers_every_role_that_runs_code(stack):
    callers = {row.principal.role_arn for row in rows(stack)}
    bounded = {arn for arn, role in stack.roles.items() if role.boundary is not None and not stack.is_account_role(arn)}
    assert bounded - callers == set()


def test_no_grant_of_a_bounded_role_is_dead(stack):
    """Every Allow statement of a bounded role must let some request through its boundary and the resource's
    policy: a grant the boundary blocks is a call that fails in production."""
    dead = []
    for arn, role in stack.roles.items():
        if role.boundary is None:
            continue
        for policy in role.policies:
            for statement in policy["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                alone = Principal(arn, ({"Version": "2012-10-17", "Statement": [statement]},), role.boundary)
                for request in witness(stack, statement):
                    decision = stack.decide(alone, request)
                    if not decision:
                        dead.append(
                            f"{arn} {statement.get('Sid', '?')}: {request.action} on {request.resource} -> "
                            f"{decision.reason}"
                        )
    assert dead == [], "\n".join(dead)

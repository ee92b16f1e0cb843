"""Negative table: the escalation and data-loss paths of tests/iam/denied_requests.py are denied, with the
default boundary and with a customer's (assumed to allow everything, so no guarantee rests on it)."""

from __future__ import annotations

from tests.iam.allowed_requests import outside_keys
from tests.iam.denied_requests import decide_row, denied_rows


def test_every_escalation_and_data_loss_path_is_denied(stack):
    stack.outside_keys.update(outside_keys(stack))
    allowed = [
        f"{row} -> {decision.reason}"
        for row, policy in denied_rows(stack)
        if (decision := decide_row(stack, row, policy))
    ]
    assert allowed == [], "\n".join(allowed)

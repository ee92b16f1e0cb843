"""Messages back to the tenant (tenant events queue) and to the operators (alerts topic), via the outbox.

Messages that announce a state change are committed with it (`outbox.commit`); answers and rejections,
which change nothing, are queued alone (`answer`, `reject`). Either way the commands table's stream sends
them, once per message id (lambdas/shared/outbox.py).
"""

from __future__ import annotations

from typing import Any

from lambdas.shared import outbox
from lambdas.shared.envelopes import CommandRejected


def answer(event_type: str, payload: dict[str, Any], command_id: str) -> None:
    """The one answer to a command (a retried command answers with the same event id)."""
    outbox.send(outbox.event(event_type, payload, command_id, command_id))


def rejection_message(rejection: CommandRejected, key: str) -> outbox.Message:
    payload = {"commandType": rejection.command_type, "reason": rejection.reason, "errors": rejection.errors}
    return outbox.event("command.rejected", payload, rejection.command_id, key)


def reject(rejection: CommandRejected, key: str | None = None) -> None:
    """`command.rejected`; `key` identifies the delivery when the command has no usable id (SQS message id)."""
    outbox.send(rejection_message(rejection, key or rejection.command_id or ""))

"""Registering a finished recovery point with the Catalog function (`recovery-point.register`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from tests.engine.vendor.engine_75dc482.jobs import utc_now_iso

Register = Callable[[dict], None]


# Register commands of one recovery point share one command id, so the Catalog's idempotency sees a retry
# (or a rerun of the job) as the same command.
REGISTER_NAMESPACE = uuid.UUID("6f1d2a0c-3b9e-5c4f-9a7d-2e8b1c0d4f60")


class CatalogError(RuntimeError):
    """The Catalog call failed; the point may or may not be registered (it may have failed after storing it)."""


class CatalogRejected(CatalogError):
    """The Catalog answered that it refused the point: it is certainly not registered."""


def register_command_id(payload: dict) -> str:
    return str(uuid.uuid5(REGISTER_NAMESPACE, f"{payload.get('vaultName')}/{payload['recoveryPointId']}"))


def command_envelope(payload: dict) -> dict:
    return {
        "id": register_command_id(payload),
        "type": "recovery-point.register",
        "version": 1,
        "issuedAt": utc_now_iso(),
        "payload": payload,
    }


def lambda_register(lambda_client, function_name: str) -> Register:
    """A `register` callable that invokes the Catalog synchronously and fails loudly if it refused."""

    def register(payload: dict) -> None:
        response = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(command_envelope(payload)).encode(),
        )
        body = response["Payload"].read()
        detail = body.decode(errors="replace")[:500]
        if not response.get("FunctionError"):
            try:
                answer = json.loads(body or b"{}")
            except ValueError:
                answer = {}
            if not (isinstance(answer, dict) and answer.get("status") == "rejected"):
                return
            raise CatalogRejected(
                f"Catalog function {function_name} refused to register recovery point "
                f"{payload['recoveryPointId']}: rejected: {answer.get('reason')}"
            )
        raise CatalogError(
            f"Catalog function {function_name} failed to register recovery point "
            f"{payload['recoveryPointId']}: {detail}"
        )

    return register

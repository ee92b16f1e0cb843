"""Registering a finished recovery point with the Catalog function (`recovery-point.register`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from engine.jobs import utc_now_iso

Register = Callable[[dict], None]


class CatalogError(RuntimeError):
    pass


def command_envelope(payload: dict) -> dict:
    return {
        "id": str(uuid.uuid4()),
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
            detail = f"rejected: {answer.get('reason')}"
        raise CatalogError(
            f"Catalog function {function_name} failed to register recovery point "
            f"{payload['recoveryPointId']}: {detail}"
        )

    return register

import io
import json

import pytest
from botocore.stub import ANY, Stubber

from engine.catalog import CatalogError, command_envelope, lambda_register

PAYLOAD = {"vaultName": "vault-a", "recoveryPointId": "rp-1", "assetId": "vol-1"}


def test_the_register_command_uses_the_contract_envelope():
    envelope = command_envelope(PAYLOAD)

    assert envelope["type"] == "recovery-point.register" and envelope["version"] == 1
    assert envelope["payload"] == PAYLOAD
    assert set(envelope) == {"id", "type", "version", "issuedAt", "payload"}


def invoke_stubbed(aws, response):
    client = aws.client("lambda")
    sent = []
    client.meta.events.register(
        "before-parameter-build.lambda.Invoke", lambda params, **_: sent.append(params)
    )
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            response,
            {"FunctionName": "elastio-catalog", "InvocationType": "RequestResponse", "Payload": ANY},
        )
        lambda_register(client, "elastio-catalog")(PAYLOAD)
    return json.loads(sent[0]["Payload"])


def test_register_invokes_the_catalog_synchronously_with_the_payload(aws):
    sent = invoke_stubbed(aws, {"StatusCode": 200, "Payload": io.BytesIO(b'{"ok": true}')})

    assert sent["type"] == "recovery-point.register" and sent["payload"] == PAYLOAD


def test_a_catalog_function_error_fails_the_backup_naming_the_recovery_point(aws):
    response = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": io.BytesIO(b'{"errorMessage": "boom"}'),
    }

    with pytest.raises(CatalogError, match="elastio-catalog failed to register recovery point rp-1: .*boom"):
        invoke_stubbed(aws, response)


def test_a_catalog_rejection_fails_the_backup_with_its_reason(aws):
    answer = b'{"status": "rejected", "reason": "vault vault-a is not deployed"}'

    with pytest.raises(CatalogError, match="rejected: vault vault-a is not deployed"):
        invoke_stubbed(aws, {"StatusCode": 200, "Payload": io.BytesIO(answer)})

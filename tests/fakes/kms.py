"""An in-memory KMS client for benchmarks whose S3 and DynamoDB are in-memory fakes too (moto's KMS needs its
mock). It keeps what the engine relies on: a data key decrypts only under the key that made it and with the
same encryption context (https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html).
Tests use moto's KMS.
"""

from __future__ import annotations

import os

from botocore.exceptions import ClientError


class FakeKms:
    def __init__(self):
        self._data_keys: dict[bytes, tuple[str, dict[str, str], bytes]] = {}

    def generate_data_key(self, KeyId, NumberOfBytes, EncryptionContext=None):  # noqa: N803 (boto3 names)
        plaintext, blob = os.urandom(NumberOfBytes), os.urandom(64)
        self._data_keys[blob] = (KeyId, dict(EncryptionContext or {}), plaintext)
        return {"KeyId": KeyId, "Plaintext": plaintext, "CiphertextBlob": blob}

    def decrypt(self, CiphertextBlob, KeyId=None, EncryptionContext=None):  # noqa: N803
        key, context, plaintext = self._data_keys.get(bytes(CiphertextBlob), (None, None, b""))
        if key is None or (KeyId and KeyId != key) or context != dict(EncryptionContext or {}):
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": ""}}, "Decrypt")
        return {"KeyId": key, "Plaintext": plaintext}

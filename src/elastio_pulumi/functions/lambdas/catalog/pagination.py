"""Page tokens of `recovery-points.list` (docs/CONTRACT.md, "Listing recovery points"); pure.

A token is base64url (no padding) of the JSON `{"v": 1, "scope": "<vaultName>/<assetId>", "after": <key>}`,
where `after` is the DynamoDB key of the last point on the previous page. It is opaque to the tenant;
the scope stops a token from one listing being used to page another.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lambdas.shared.envelopes import MAX_EVENT_BYTES, CommandRejected

TOKEN_VERSION = 1
# Points per page are also bounded by bytes, so the `recovery-points.listed` event fits in one SQS message
# (the envelope and the token take the rest).
PAGE_BYTES = MAX_EVENT_BYTES - 8 * 1024


def size_of(point: dict[str, Any]) -> int:
    return len(json.dumps(point, default=str).encode()) + 2  # separator


def encode_token(after: dict[str, Any], scope: str) -> str:
    raw = json.dumps({"v": TOKEN_VERSION, "scope": scope, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, scope: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not (isinstance(value, dict) and value.get("v") == TOKEN_VERSION and isinstance(value.get("after"), dict)
            and all(isinstance(v, str) for v in value["after"].values())):
        raise CommandRejected("payload.nextToken is not a token from recovery-points.listed; "
                              "send the nextToken of the previous page unchanged")
    if value.get("scope") != scope:
        raise CommandRejected("payload.nextToken belongs to a listing of another vault or asset; "
                              "send the same vaultName and assetId as for the first page")
    return value["after"]

"""The vault's own configuration object (`config/vault.json`): its chunk-id scheme and its secret.

Written once, by the first job that finds it missing, with a conditional PUT (`If-None-Match: *`, S3
conditional writes): two first jobs racing agree on the winner's object. It holds a 256-bit secret from the
operating system's CSPRNG and is stored, like every object of the vault, with SSE-KMS under the vault's key,
so only a principal that may decrypt with that key (the vault's task role, through S3) can read it. A
symmetric KMS key cannot compute MACs itself, and changing its key spec would replace the key; KMS
GenerateDataKey would be the other source of the secret, but the task role may use the vault key only
through S3 and DynamoDB (`kms:ViaService`), and SSE-KMS already encrypts the object under that key.

From the secret come, by keyed BLAKE2b with distinct personalisations, the key of chunk ids (so whoever reads
the index or a manifest cannot test whether known content is in the vault) and the key of manifest MACs
(so an edited manifest is refused). A vault that already held packs when this object was first written keeps
plain BLAKE2b-256 chunk ids (`chunkIds: "blake2b-256"`), or it could no longer dedup against what it stores.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from functools import cached_property

from botocore.exceptions import ClientError

from tests.engine.vendor.engine_75dc482.packs import PACK_PREFIX, MissingObjectError, VaultBucket

CONFIG_KEY = "config/vault.json"
KEYED = "keyed-blake2b-256"
PLAIN = "blake2b-256"  # vaults that held packs before this object existed


class VaultConfigError(ValueError):
    pass


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(b"", digest_size=32, key=secret, person=purpose).digest()


@dataclass(frozen=True)
class VaultConfig:
    chunk_ids: str
    secret: bytes

    @cached_property
    def chunk_key(self) -> bytes | None:
        """The key of chunk ids; None for plain BLAKE2b-256."""
        return _derive(self.secret, b"elastio-chunk") if self.chunk_ids == KEYED else None

    @cached_property
    def manifest_key(self) -> bytes:
        return _derive(self.secret, b"elastio-manifest")

    def to_json(self) -> bytes:
        return json.dumps(
            {"version": 1, "chunkIds": self.chunk_ids, "secret": base64.b64encode(self.secret).decode()}
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes, source: str) -> VaultConfig:
        try:
            document = json.loads(raw)
            config = cls(document["chunkIds"], base64.b64decode(document["secret"], validate=True))
        except (ValueError, KeyError, TypeError) as error:
            raise VaultConfigError(f"{source}: not a readable vault configuration ({error})") from error
        if config.chunk_ids not in (KEYED, PLAIN) or len(config.secret) != 32:
            raise VaultConfigError(f"{source}: unknown chunk-id scheme {config.chunk_ids!r} or a bad secret")
        return config


def load_or_create(bucket: VaultBucket) -> VaultConfig:
    source = f"s3://{bucket.bucket}/{CONFIG_KEY}"
    try:
        return VaultConfig.from_json(bucket.get(CONFIG_KEY), source)
    except MissingObjectError:
        pass
    scheme = PLAIN if bucket.holds_any(PACK_PREFIX) else KEYED
    candidate = VaultConfig(scheme, secrets.token_bytes(32))
    try:
        bucket.put_if_absent(CONFIG_KEY, candidate.to_json(), "application/json")
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise
        return VaultConfig.from_json(bucket.get(CONFIG_KEY), source)  # another job wrote it first
    return candidate

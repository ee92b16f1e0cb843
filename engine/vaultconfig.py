"""The vault's own configuration object (`config/vault.json`): its chunk-id scheme and its secret.

The secret is a 256-bit KMS data key of the vault key (GenerateDataKey), made by the vault's first job and
stored only as the CiphertextBlob KMS returns; every later job asks KMS to Decrypt it. A symmetric KMS key
cannot compute MACs itself, and changing its key spec would replace the key, so the key wraps a secret the
engine keys BLAKE2b with. Both calls carry an encryption context naming the vault's bucket and the purpose
(`secret_context`): KMS binds the ciphertext to it (a copy in another vault's bucket does not decrypt), and
the task role may use the vault key directly only with that context (src/elastio_pulumi/vault_documents.py: the
identity policy and the key policy each require `kms:EncryptionContext:<key>`; every other use of the key
goes through S3 or DynamoDB, `kms:ViaService`).

Written once, by the first job that finds it missing, with a conditional PUT (`If-None-Match: *`, S3
conditional writes, https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): of two
first jobs racing, one PUT succeeds and the other fails (412 PreconditionFailed, or 409
ConditionalRequestConflict while the first is in flight); the loser discards its own data key, reads the
winner's object and decrypts that, so the vault has one secret.

From the secret come, by keyed BLAKE2b with distinct personalisations, the key of chunk ids (so whoever reads
the index or a manifest cannot test whether known content is in the vault) and the key of manifest MACs
(so an edited manifest is refused). A vault that already held packs when this object was first written keeps
plain BLAKE2b-256 chunk ids (`chunkIds: "blake2b-256"`), or it could no longer dedup against what it stores.

Forms (docs/CONTRACT.md, "Vault bucket layout"): version 2 holds `secret.ciphertextBlob` (form
`kms-data-key`); version 1, written by engines before this one, holds the secret itself (form `plain`,
protected only by the object's SSE-KMS). Version 1 objects are read as they are: their chunk ids and MAC key
must not change.

`manifestFormat` says which manifests the vault's jobs write: 3 (binary, streamed, incremental; engine/manifest.py)
or 2, JSON; a configuration without it (written before) means 2. Every engine since the S3 index reads both.

Upgrade markers (engine/upgrade.py), each set once by a conditional replacement of this object (`If-Match` on the
ETag read, so two jobs never undo each other's change and every other field stays as it was):
`oldEnginesFenced: true`, the vault's lock item refuses engines from before the S3 index (engine/lock.py); the
same replacement switches `manifestFormat` to 3, because only those engines could not see version-3 manifests
(engine/README.md, "Upgrading a vault"). `indexMigrated: true`, the index blobs name every pack written before
the S3 index (a `rebuild-index` ran). A later manual `manifestFormat` is kept: the switch happens once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from functools import cached_property

from botocore.exceptions import ClientError

from elastio_contract import kms as kms_contract
from engine.gcstate import GC_PREFIX
from engine.index import INDEX_PREFIX
from engine.manifest import MAGIC, MANIFEST_VERSION
from engine.packs import PACK_PREFIX, MissingObjectError, VaultBucket

CONFIG_KEY = "config/vault.json"
KEYED = "keyed-blake2b-256"
PLAIN = "blake2b-256"  # vaults that held packs before this object existed
SECRET_BYTES = 32
KMS_DATA_KEY = "kms-data-key"  # version 2: the CiphertextBlob of a GenerateDataKey under the vault key
PLAIN_SECRET = "plain"  # version 1: the secret itself, under the object's SSE-KMS only
SECRET_PURPOSE = kms_contract.SECRET_PURPOSE
KEY_VARIABLE = "ELASTIO_VAULT_KMS_KEY_ARN"  # engine/config.py reads it; named in errors


class VaultConfigError(ValueError):
    pass


# The encryption context of the vault secret (elastio_contract.kms): the IAM conditions on the task role's
# direct use of the key name the same pairs.
secret_context = kms_contract.secret_context


class VaultKey:
    """The vault's KMS key as the engine uses it directly: to make the vault secret and to decrypt it."""

    def __init__(self, kms, key_arn: str):
        self._kms = kms
        self.key_arn = key_arn

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        """(plaintext, CiphertextBlob) of a fresh 256-bit data key."""
        answer = self._kms.generate_data_key(
            KeyId=self.key_arn, NumberOfBytes=SECRET_BYTES, EncryptionContext=context
        )
        return answer["Plaintext"], answer["CiphertextBlob"]

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        # KeyId: KMS refuses a ciphertext of any other key instead of using whichever key it names.
        return self._kms.decrypt(KeyId=self.key_arn, CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(b"", digest_size=32, key=secret, person=purpose).digest()


MANIFEST_FORMATS = (2, 3)
FENCED_MARKER = "oldEnginesFenced"
MIGRATED_MARKER = "indexMigrated"
NEW_VAULT_MANIFEST_FORMAT = 3


@dataclass(frozen=True)
class VaultConfig:
    chunk_ids: str
    secret: bytes
    secret_form: str = KMS_DATA_KEY
    manifest_format: int = 2  # what a configuration without `manifestFormat` means
    old_engines_fenced: bool = False  # `oldEnginesFenced`
    index_migrated: bool = False  # `indexMigrated`

    @cached_property
    def chunk_key(self) -> bytes | None:
        """The key of chunk ids; None for plain BLAKE2b-256."""
        return _derive(self.secret, b"elastio-chunk") if self.chunk_ids == KEYED else None

    @cached_property
    def manifest_key(self) -> bytes:
        return _derive(self.secret, b"elastio-manifest")


def config_document(
    chunk_ids: str, blob: bytes, context: dict[str, str], manifest_format: int = NEW_VAULT_MANIFEST_FORMAT
) -> bytes:
    """Version 2. The context is recorded for whoever decrypts the secret by hand (a break-glass restore);
    the engine decrypts with the context of the bucket it runs in, never with the recorded one."""
    secret = {"form": KMS_DATA_KEY, "ciphertextBlob": base64.b64encode(blob).decode(), "encryptionContext": context}
    document = {"version": 2, "chunkIds": chunk_ids, "secret": secret, "manifestFormat": manifest_format}
    return json.dumps(document).encode()


def _refusal(source: str, error: ClientError, context: dict[str, str]) -> VaultConfigError:
    code = error.response.get("Error", {}).get("Code", "")
    operation = error.operation_name
    if code == "AccessDeniedException":
        return VaultConfigError(
            f"{source}: KMS {operation} on the vault key was refused: the vault's task role needs "
            f"kms:{operation} on the vault key with encryption context {context} (its identity policy and the "
            "key policy grant it since the vault secret came from KMS); run `pulumi up` with this version"
        )
    if code in ("DisabledException", "KMSInvalidStateException"):
        # Key states (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html): a disabled key, or one
        # pending deletion, refuses every use; once deleted, every recovery point of the vault is lost for good.
        return VaultConfigError(
            f"{source}: KMS {operation} refused the vault key ({code}): it is disabled or pending deletion. Once "
            "it is deleted no recovery point of this vault can ever be read: if it is pending deletion, run "
            "`aws kms cancel-key-deletion --key-id <vault key>` now, then `aws kms enable-key --key-id <vault key>`"
        )
    if code not in ("InvalidCiphertextException", "IncorrectKeyException"):
        return VaultConfigError(
            f"{source}: KMS {operation} on the vault key failed ({code}: "
            f"{error.response.get('Error', {}).get('Message', '')}); nothing was written. Run the job again"
        )
    return VaultConfigError(
        f"{source}: the vault secret does not decrypt under the vault key with encryption context {context} "
        f"({code}): the object was edited or copied from another vault; restore its previous version"
    )


def _parse(raw: bytes, source: str, key: VaultKey | None, context: dict[str, str]) -> VaultConfig:
    try:
        document = json.loads(raw)
        chunk_ids, version, secret = document["chunkIds"], document.get("version", 1), document["secret"]
        manifest_format = int(document.get("manifestFormat", 2))
        markers = {
            "old_engines_fenced": document.get(FENCED_MARKER) is True,
            "index_migrated": document.get(MIGRATED_MARKER) is True,
        }
        if version == 1:
            config = VaultConfig(
                chunk_ids, base64.b64decode(secret, validate=True), PLAIN_SECRET, manifest_format, **markers
            )
        elif version == 2 and secret["form"] == KMS_DATA_KEY:
            blob = base64.b64decode(secret["ciphertextBlob"], validate=True)
            config = None
        else:
            raise ValueError(f"unknown version {version!r} or secret form")
    except (ValueError, KeyError, TypeError) as error:
        raise VaultConfigError(f"{source}: not a readable vault configuration ({error})") from error
    if config is None:
        if key is None:
            raise VaultConfigError(
                f"{KEY_VARIABLE} is not set; {source} holds the vault secret encrypted under the vault key, "
                "which the engine decrypts with KMS. The vault's job definitions set it; export it for a manual run"
            )
        try:
            config = VaultConfig(chunk_ids, key.decrypt(blob, context), KMS_DATA_KEY, manifest_format, **markers)
        except ClientError as error:
            raise _refusal(source, error, context) from error
    if config.chunk_ids not in (KEYED, PLAIN) or len(config.secret) != SECRET_BYTES:
        raise VaultConfigError(f"{source}: unknown chunk-id scheme {config.chunk_ids!r} or a bad secret")
    if config.manifest_format not in MANIFEST_FORMATS:
        raise VaultConfigError(
            f"{source}: manifestFormat {config.manifest_format} is not one of {MANIFEST_FORMATS}; a newer engine "
            "wrote it: run that engine's image"
        )
    return config


# Written only by engines that made this object first: a vault holding them had a configuration and lost it.
CONFIGURED_VAULT_PREFIXES = (INDEX_PREFIX, GC_PREFIX)
MANIFEST_PREFIX = "manifests/"  # and signed manifests (`_signed_manifests`); unsigned ones predate this object


def _signed_manifests(bucket: VaultBucket) -> bool:
    """Whether the vault's first manifest is one only a configured vault writes (version 3, or version-2 JSON with
    its MAC): the index blobs may be lost (rebuild-index makes them again) and a young vault has no GC state,
    but its manifests stay. One LIST and one ranged GET."""
    first = next(iter(bucket.list(MANIFEST_PREFIX)), None)
    if first is None:
        return False
    try:
        head = bucket.get(first.key, (0, min(first.size, 64)))
    except MissingObjectError:
        return False
    return head.startswith(MAGIC) or head.replace(b" ", b"").startswith(b'{"version":' + str(MANIFEST_VERSION).encode())


def _refuse_to_replace_a_lost_configuration(bucket: VaultBucket, source: str) -> None:
    """A new secret (or the unkeyed scheme) would orphan every recovery point signed with the lost one."""
    for prefix in (*CONFIGURED_VAULT_PREFIXES, MANIFEST_PREFIX):
        if bucket.holds_any(prefix) and (prefix != MANIFEST_PREFIX or _signed_manifests(bucket)):
            raise VaultConfigError(
                f"{source} is missing, but the vault holds {prefix} objects that only a configured vault writes: "
                "its secret keys every chunk id and manifest MAC, so a new one would orphan every recovery point. "
                "Restore the object's previous version (aws s3api list-object-versions --bucket "
                f"{bucket.bucket} --prefix {CONFIG_KEY}, then copy that version back); the bucket keeps "
                "noncurrent versions for one day"
            )


def load_or_create(bucket: VaultBucket, key: VaultKey | None, attempts: int = 5) -> VaultConfig:
    source = f"s3://{bucket.bucket}/{CONFIG_KEY}"
    context = secret_context(bucket.bucket)
    candidate: tuple[str, bytes, bytes] | None = None
    for attempt in range(attempts):
        try:
            return _parse(bucket.get(CONFIG_KEY), source, key, context)
        except MissingObjectError:
            pass
        if key is None:
            raise VaultConfigError(
                f"{KEY_VARIABLE} is not set; the vault's first job makes the vault secret with KMS "
                f"GenerateDataKey on the vault key (nothing was written to {source}). The vault's job "
                "definitions set it; export it for a manual run"
            )
        if candidate is None:
            _refuse_to_replace_a_lost_configuration(bucket, source)
            scheme = PLAIN if bucket.holds_any(PACK_PREFIX) else KEYED
            try:
                candidate = (scheme, *key.new_data_key(context))
            except ClientError as error:
                raise _refusal(source, error, context) from error
        scheme, secret, blob = candidate
        try:
            bucket.put_if_absent(CONFIG_KEY, config_document(scheme, blob, context), "application/json")
            return VaultConfig(scheme, secret, KMS_DATA_KEY, NEW_VAULT_MANIFEST_FORMAT)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalRequestConflict":  # 409: another first job's PUT is in flight; S3 says retry
                time.sleep(0.2 * 2**attempt)
            elif code != "PreconditionFailed":  # 412: another first job wrote it: its secret is the vault's
                raise
    raise VaultConfigError(
        f"{source}: neither written nor readable after {attempts} attempts while other jobs wrote it; "
        "run the job again"
    )


def update_document(bucket: VaultBucket, change, attempts: int = 5) -> dict:
    """Replace `config/vault.json` with `change(document)` (a new dict, or None when nothing is to change), on the
    condition that nobody replaced it since we read it (S3 conditional writes: `If-Match` with the ETag read; 412
    PreconditionFailed, or 409 ConditionalRequestConflict while another write is in flight, and we read again).
    Returns the document as stored."""
    source = f"s3://{bucket.bucket}/{CONFIG_KEY}"
    for attempt in range(attempts):
        raw, etag = bucket.get_with_etag(CONFIG_KEY)
        document = json.loads(raw)
        changed = change(dict(document))
        if changed is None:
            return document
        try:
            bucket.put(CONFIG_KEY, json.dumps(changed).encode(), "application/json", IfMatch=etag)
            return changed
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            time.sleep(0.2 * 2**attempt)
    raise VaultConfigError(f"{source}: replaced by other jobs each of {attempts} times this one tried; run it again")

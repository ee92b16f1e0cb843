"""The vault's secret (the keys of chunk ids and manifest MACs): a KMS data key of the vault key, made once by
the vault's first job and stored only encrypted, bound by its encryption context to the vault and the purpose.
"""

import base64
import json
import secrets

import botocore.awsrequest
import pytest
from botocore.exceptions import ClientError
from engine_world import volume_bytes
from test_engine_backup_restore import backup_file

from elastio_contract import environment as env_names
from engine.cli import main
from engine.index import ChunkIndex
from engine.packs import VaultBucket
from engine.restore import FileSink, run_restore
from engine.vault import Vault
from engine.vaultconfig import CONFIG_KEY, VaultConfigError, VaultKey, secret_context


def stored(vault) -> bytes:
    return vault.bucket.get(CONFIG_KEY)


def another_job(aws, vault, s3=None, kms=None) -> Vault:
    """The same vault as a later (or concurrent) job sees it: its own clients, nothing cached."""
    bucket = VaultBucket(s3 or aws.client("s3"), vault.bucket.bucket)
    return Vault(
        vault.name,
        bucket,
        ChunkIndex(bucket, aws.client("dynamodb"), vault.index.table_name),
        VaultKey(kms or aws.client("kms"), vault.key.key_arn),
    )


def kms_calls(client) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []

    def record(params, model, **_):
        calls.append((model.name, params.get("EncryptionContext")))

    client.meta.events.register("provide-client-params.kms.*", record)
    return calls


def test_the_configuration_object_never_holds_the_secret(vault):
    secret = vault.config.secret  # the vault's first job writes the configuration
    raw = stored(vault)

    for form in (secret, base64.b64encode(secret), secret.hex().encode()):
        assert form not in raw


def test_the_stored_secret_is_a_kms_data_key_bound_to_this_vault_and_its_purpose(aws, vault):
    secret = vault.config.secret
    blob = base64.b64decode(json.loads(stored(vault))["secret"]["ciphertextBlob"])
    kms = aws.client("kms")

    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=secret_context(vault.bucket.bucket))[
        "Plaintext"
    ] == secret
    for context in ({}, secret_context("elastio-vault-b-data")):
        with pytest.raises(ClientError, match="InvalidCiphertext"):
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)


def test_a_later_job_decrypts_the_stored_secret_and_generates_none(aws, vault):
    first = vault.config.secret
    kms = aws.client("kms")
    calls = kms_calls(kms)

    later = another_job(aws, vault, kms=kms)

    assert later.config.secret == first
    assert [name for name, _ in calls] == ["Decrypt"]


def test_two_first_jobs_racing_end_with_one_secret(aws, vault):
    s3 = aws.client("s3")
    racing = []

    def the_other_first_job_writes_meanwhile(params, **_):
        if params.get("Key") == CONFIG_KEY and not racing:
            racing.append(vault.config.secret)  # both found no configuration; this one's PUT lands first

    s3.meta.events.register("provide-client-params.s3.PutObject", the_other_first_job_writes_meanwhile)
    loser = another_job(aws, vault, s3=s3)

    assert loser.config.secret == racing[0] == vault.config.secret
    versions = aws.client("s3").list_object_versions(Bucket=vault.bucket.bucket, Prefix=CONFIG_KEY)["Versions"]
    assert len(versions) == 1  # the losing job's data key was never stored
    blob = base64.b64decode(json.loads(stored(vault))["secret"]["ciphertextBlob"])
    plaintext = aws.client("kms").decrypt(
        CiphertextBlob=blob, EncryptionContext=secret_context(vault.bucket.bucket)
    )["Plaintext"]
    assert plaintext == racing[0]


def configure_as_the_previous_engine(vault, secret: bytes, chunk_ids="keyed-blake2b-256") -> None:
    """What engine/vaultconfig.py wrote before the secret came from KMS: the secret itself, under SSE-KMS."""
    document = {"version": 1, "chunkIds": chunk_ids, "secret": base64.b64encode(secret).decode()}
    vault.bucket.put_if_absent(CONFIG_KEY, json.dumps(document).encode(), "application/json")


def test_a_vault_configured_by_the_previous_engine_keeps_its_secret_and_scheme(aws, vault):
    secret = secrets.token_bytes(32)
    configure_as_the_previous_engine(vault, secret)
    before = stored(vault)
    kms = aws.client("kms")
    calls = kms_calls(kms)

    config = another_job(aws, vault, kms=kms).config

    assert (config.secret, config.chunk_ids, config.secret_form) == (secret, "keyed-blake2b-256", "plain")
    assert calls == [] and stored(vault) == before  # read as it is: same ids, same MAC key


def test_recovery_points_of_a_previous_engine_vault_restore_in_a_later_job(aws, vault, job, registered, tmp_path):
    configure_as_the_previous_engine(vault, secrets.token_bytes(32))
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(256 * 1024))
    result = backup_file(vault, image, job, registered)

    later = another_job(aws, vault)
    restored = tmp_path / "restored.img"
    run_restore(later, later.read_manifest(result.manifest_key), FileSink(restored), job)

    assert restored.read_bytes() == image.read_bytes()


def test_a_configuration_copied_from_another_vault_is_refused(aws, vault):
    vault.config  # noqa: B018 (vault-a's first job)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="elastio-vault-b-data")
    s3.put_object(Bucket="elastio-vault-b-data", Key=CONFIG_KEY, Body=stored(vault))
    # Even under the same key, the context names vault-a's bucket: the copy does not decrypt for vault-b.
    copy = Vault(
        "vault-b",
        VaultBucket(s3, "elastio-vault-b-data"),
        vault.index,
        VaultKey(aws.client("kms"), vault.key.key_arn),
    )

    with pytest.raises(VaultConfigError, match=r"s3://elastio-vault-b-data/config/vault.json.*does not decrypt"):
        copy.config  # noqa: B018


def test_a_first_job_without_the_vault_key_names_the_variable_and_stores_nothing(
    aws, environ, vault, tmp_path, capsys
):
    del environ[env_names.VAULT_KMS_KEY_ARN]
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(64 * 1024))

    code = main(
        ["backup", "--job-id", "j", "--asset-id", "vol-1", "--snapshot-id", "snap-1", "--image-file", str(image)],
        environ,
        aws,
    )

    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"{env_names.VAULT_KMS_KEY_ARN} is not set" in err
    assert not vault.bucket.exists(CONFIG_KEY)


def test_a_first_job_the_key_refuses_says_which_grant_is_missing_and_stores_nothing(aws, vault):
    kms = aws.client("kms")

    def refuse(**_):  # what KMS answers a role without the grant (before this version's `pulumi up`)
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform kms:GenerateDataKey"}}
        return botocore.awsrequest.AWSResponse("https://kms", 400, {}, None), error

    kms.meta.events.register("before-call.kms.GenerateDataKey", refuse)
    job = another_job(aws, vault, kms=kms)

    with pytest.raises(VaultConfigError, match=r"kms:GenerateDataKey on the vault key with encryption context"):
        job.config  # noqa: B018
    assert not vault.bucket.exists(CONFIG_KEY)


class KeyStates:
    """moto's KMS decrypts with a disabled key or one pending deletion; AWS refuses (Key states of AWS KMS keys,
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html: Decrypt and GenerateDataKey fail with
    DisabledException when Disabled, KMSInvalidStateException when PendingDeletion)."""

    def __init__(self, kms):
        self._kms = kms

    def _check(self, key_id: str, operation: str) -> None:
        state = self._kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        code = {"Disabled": "DisabledException", "PendingDeletion": "KMSInvalidStateException"}.get(state)
        if code:
            raise ClientError({"Error": {"Code": code, "Message": f"{key_id} is {state}"}}, operation)

    def decrypt(self, **params):
        self._check(params["KeyId"], "Decrypt")
        return self._kms.decrypt(**params)

    def generate_data_key(self, **params):
        self._check(params["KeyId"], "GenerateDataKey")
        return self._kms.generate_data_key(**params)


def test_a_vault_key_pending_deletion_is_named_with_the_way_back_not_blamed_on_the_configuration(aws, vault):
    """A vault key scheduled for deletion (a cleanup script, a mistaken `pulumi destroy` of another stack) makes
    every job fail; the error said the configuration object was edited or copied and to restore its previous
    version, while the days until the key, and with it every recovery point, is gone ran out."""
    vault.config  # noqa: B018  (the first job makes the secret)
    kms = aws.client("kms")
    key_id = kms.describe_key(KeyId=vault.key.key_arn)["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    with pytest.raises(VaultConfigError) as refused:
        another_job(aws, vault, kms=KeyStates(kms)).config  # noqa: B018
    assert "pending deletion" in str(refused.value) and "cancel-key-deletion" in str(refused.value)
    assert "edited" not in str(refused.value)

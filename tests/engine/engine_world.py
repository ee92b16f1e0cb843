"""Shared helpers for the engine tests: moto-backed vaults, the Catalog seam, generated volumes."""

import dataclasses
import json
import random

from engine.backup import EngineSettings
from engine.chunking import ChunkerSettings
from engine.index import ChunkIndex
from engine.packs import VaultBucket
from engine.vault import Vault
from engine.vaultconfig import CONFIG_KEY, VaultKey

REGION = "us-east-1"
JOBS_TABLE = "elastio-jobs"
# Small chunks, segments and packs keep volumes of a few hundred KiB meaningful and the suite fast.
SMALL = EngineSettings(
    chunker=ChunkerSettings(min_size=1024, avg_size=4096, max_size=16384),
    segment_bytes=64 * 1024,
    pack_bytes=128 * 1024,
    lookup_window_bytes=64 * 1024,  # a lookup per segment: interruptions land between stored segments
)


def create_vault(session, name: str, object_lock_days: int | None = None) -> Vault:
    s3 = session.client("s3")
    db = session.client("dynamodb")
    bucket = f"elastio-{name}-data"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=bool(object_lock_days))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if object_lock_days:
        rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": object_lock_days}}
        s3.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
        )
    table = f"elastio-{name}-index"
    db.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "chunkHash", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "chunkHash", "AttributeType": "S"}],
    )
    kms = session.client("kms")
    key = kms.create_key(Description=f"{name} vault key")["KeyMetadata"]["Arn"]  # a symmetric key, as deployed
    vault_bucket = VaultBucket(s3, bucket)
    return Vault(name, vault_bucket, ChunkIndex(vault_bucket, db, table), VaultKey(kms, key))


def set_manifest_format(vault: Vault, manifest_format: int) -> Vault:
    """Rewrite `config/vault.json`'s `manifestFormat` (same secret), as an operator moving a vault after its upgrade
    would (`oldEnginesFenced` set: the engine's one automatic switch, engine/upgrade.py, is behind it)."""
    config = vault.config  # written by the vault's first use when missing
    document = json.loads(vault.bucket.get(CONFIG_KEY))
    document.update(manifestFormat=manifest_format, oldEnginesFenced=True)
    vault.bucket.put(CONFIG_KEY, json.dumps(document).encode(), "application/json")
    vault.__dict__["config"] = dataclasses.replace(config, manifest_format=manifest_format, old_engines_fenced=True)
    return vault


def writes_json_manifests(vault: Vault) -> Vault:
    """The vault as configured before version-3 manifests: its jobs write version-2 JSON manifests."""
    return set_manifest_format(vault, 2)


class Registered(list):
    """The Catalog seam in tests: records each `recovery-point.register` payload."""

    def __call__(self, payload: dict) -> None:
        self.append(payload)


def volume_bytes(size: int, seed: int = 1) -> bytearray:
    """Compressible text-like data with a zero run, like a small filesystem image."""
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghij klmnop") for _ in range(rng.randint(3, 12))) for _ in range(400)]
    data = bytearray()
    while len(data) < size:
        data += rng.choice(words) + rng.randbytes(rng.randint(0, 6))
    data = data[:size]
    run = min(64 * 1024, size // 4)
    data[size // 2 : size // 2 + run] = bytes(run)
    return data


RECOVERY_POINTS_TABLE = "elastio-recovery-points"


def create_recovery_points_table(session) -> None:
    """The Catalog's recovery-points table with its `byVault` index (docs/CONTRACT.md)."""
    session.client("dynamodb").create_table(
        TableName=RECOVERY_POINTS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "assetId", "KeyType": "HASH"},
            {"AttributeName": "recoveryPointId", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("assetId", "recoveryPointId", "vaultName", "createdAt")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byVault",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": "vaultName", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
            }
        ],
    )


class CatalogTable:
    """The Catalog seam backed by the recovery-points table: `register` stores the point as the Catalog does."""

    def __init__(self, session):
        self._db = session.client("dynamodb")

    def __call__(self, payload: dict) -> None:
        self._db.put_item(
            TableName=RECOVERY_POINTS_TABLE,
            Item={
                "assetId": {"S": payload["assetId"]},
                "recoveryPointId": {"S": payload["recoveryPointId"]},
                "vaultName": {"S": payload["vaultName"]},
                "createdAt": {"S": payload["createdAt"]},
                "manifestKey": {"S": payload["manifestKey"]},
                "status": {"S": "available"},
            },
        )

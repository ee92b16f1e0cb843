"""The vault secret's KMS encryption context: the engine makes and decrypts the secret with it
(engine/vaultconfig.py), and the task role may use the vault key directly only with it (the IAM conditions of
elastio_pulumi.vault_documents name these pairs)."""

from __future__ import annotations

SECRET_CONTEXT_BUCKET = "elastio-vault-bucket"
SECRET_CONTEXT_PURPOSE = "elastio-purpose"
SECRET_PURPOSE = "vault-secret"


def secret_context(bucket: str) -> dict[str, str]:
    """Which vault (its bucket, unique across accounts) and what for."""
    return {SECRET_CONTEXT_BUCKET: bucket, SECRET_CONTEXT_PURPOSE: SECRET_PURPOSE}

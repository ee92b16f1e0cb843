"""The engine's environment (set by the vault's Batch job definitions, see docs/CONTRACT.md), checked once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from elastio_contract import environment as env
from engine.backup import EngineSettings
from engine.chunking import ChunkerSettings


class EngineConfigError(ValueError):
    pass


def _required(environ: Mapping[str, str], name: str, purpose: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise EngineConfigError(
            f"{name} is not set; it names {purpose}. The vault's Batch job definition sets it: "
            f"run the engine through that job definition, or export {name} for a manual run"
        )
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise EngineConfigError(
            f"{name}={raw!r} is not a positive whole number of bytes; unset it to use {default}"
        )
    return value


@dataclass(frozen=True)
class EngineEnvironment:
    vault_name: str
    bucket: str
    index_table: str
    kms_key_arn: str | None
    jobs_table: str | None
    recovery_points_table: str | None
    catalog_function: str | None
    settings: EngineSettings
    # elastio:deployment of what a restore creates (elastio_contract.tags); None under a job definition from
    # before the variable, which only the default deployment has (its grants accept requests without the tag).
    deployment: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EngineEnvironment:
        defaults = EngineSettings()
        level_raw = environ.get(env.ENGINE_ZSTD_LEVEL, "").strip()
        if level_raw and not (level_raw.isdigit() and 1 <= int(level_raw) <= 19):
            raise EngineConfigError(f"{env.ENGINE_ZSTD_LEVEL}={level_raw!r} must be 1..19; unset it for 1")
        try:
            settings = EngineSettings(
                chunker=ChunkerSettings(zstd_level=int(level_raw or defaults.chunker.zstd_level)),
                segment_bytes=_positive_int(environ, env.ENGINE_SEGMENT_BYTES, defaults.segment_bytes),
                pack_bytes=_positive_int(environ, env.ENGINE_PACK_BYTES, defaults.pack_bytes),
            )
        except ValueError as error:
            raise EngineConfigError(f"engine tuning variables: {error}") from error
        return cls(
            vault_name=_required(environ, env.VAULT_NAME, "the vault this job works in"),
            bucket=_required(environ, env.VAULT_BUCKET, "the vault's S3 bucket"),
            index_table=_required(environ, env.INDEX_TABLE, "the vault's table (compaction lock, GC generation)"),
            kms_key_arn=environ.get(env.VAULT_KMS_KEY_ARN) or None,
            jobs_table=environ.get(env.JOBS_TABLE) or None,
            recovery_points_table=environ.get(env.RECOVERY_POINTS_TABLE) or None,
            catalog_function=environ.get(env.CATALOG_FUNCTION) or None,
            settings=settings,
            deployment=environ.get(env.DEPLOYMENT, "").strip() or None,
        )

    def require_catalog(self) -> str:
        if not self.catalog_function:
            raise EngineConfigError(
                "ELASTIO_CATALOG_FUNCTION is not set; a backup registers its recovery point with the Catalog "
                "function it names. The vault's backup job definition sets it"
            )
        return self.catalog_function

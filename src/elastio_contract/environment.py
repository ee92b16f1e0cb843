"""Environment variable names: set by the components (Lambda environment, Batch job definitions, the ScaleZ
server's task definition), read by the functions (lambdas/shared/config.py) and the engine (engine/config.py)."""

from __future__ import annotations

from elastio_contract import tables

# --- the connector functions ---------------------------------------------------------------------------
# One variable per connector table, holding its physical name.
TABLE_VARIABLES: dict[str, str] = {
    tables.VAULTS: "ELASTIO_TABLE_VAULTS",
    tables.RECOVERY_POINTS: "ELASTIO_TABLE_RECOVERY_POINTS",
    tables.JOBS: "ELASTIO_TABLE_JOBS",
    tables.ASSETS: "ELASTIO_TABLE_ASSETS",
    tables.COMMANDS: "ELASTIO_TABLE_COMMANDS",
}
TENANT_EVENTS_QUEUE_URL = "ELASTIO_TENANT_EVENTS_QUEUE_URL"
ALERTS_TOPIC_ARN = "ELASTIO_ALERTS_TOPIC_ARN"
# The deployment's name prefix (elastio:namePrefix): the value of the elastio:deployment tag (tags.py) the
# functions put on the Batch jobs they submit and the engine on the snapshots and volumes it restores.
DEPLOYMENT = "ELASTIO_DEPLOYMENT"
# The router only: a JSON object of routed service key (messages.ROUTED_SERVICES) to function name.
FUNCTIONS = "ELASTIO_FUNCTIONS"

# --- the vault engine and the ScaleZ server --------------------------------------------------------------
VAULT_NAME = "ELASTIO_VAULT_NAME"
VAULT_BUCKET = "ELASTIO_VAULT_BUCKET"
VAULT_KMS_KEY_ARN = "ELASTIO_VAULT_KMS_KEY_ARN"
INDEX_TABLE = "ELASTIO_INDEX_TABLE"
JOBS_TABLE = TABLE_VARIABLES[tables.JOBS]
RECOVERY_POINTS_TABLE = TABLE_VARIABLES[tables.RECOVERY_POINTS]
CATALOG_FUNCTION = "ELASTIO_CATALOG_FUNCTION"
# Tuning, unset in the job definitions (the engine's defaults apply); for manual runs and benchmarks.
ENGINE_ZSTD_LEVEL = "ELASTIO_ENGINE_ZSTD_LEVEL"
ENGINE_SEGMENT_BYTES = "ELASTIO_ENGINE_SEGMENT_BYTES"
ENGINE_PACK_BYTES = "ELASTIO_ENGINE_PACK_BYTES"
ENGINE_DEBUG = "ELASTIO_ENGINE_DEBUG"
ENGINE_WORK_DIR = "ELASTIO_ENGINE_WORK_DIR"  # where a job keeps its local copy of the index

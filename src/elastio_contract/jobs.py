"""The vault's Batch jobs: their types and the parameters the submitter (lambdas/shared/jobs.py) passes and
the job definitions substitute into the engine's command line (`python -m engine <type> --job-id ...`)."""

from __future__ import annotations

import re

BACKUP, RESTORE, SCAN, COMPACT = "backup", "restore", "scan", "compact"
JOB_TYPES: tuple[str, ...] = (BACKUP, RESTORE, SCAN, COMPACT)

# Every job gets these two.
COMMON_PARAMETERS: tuple[str, ...] = ("jobId", "vaultName")
# Batch parameters per job type beyond COMMON_PARAMETERS. The value is the default Batch substitutes when
# the submitter leaves a parameter out: every parameter the submitter may omit needs one, or Batch cannot
# fill its `Ref::` in the command. None marks a parameter always submitted.
PARAMETERS: dict[str, dict[str, str | None]] = {
    BACKUP: {"assetId": None, "snapshotId": None, "parentRecoveryPointId": ""},
    RESTORE: {"assetId": None, "recoveryPointId": None, "target": None},
    SCAN: {"assetId": None, "recoveryPointId": None},
    COMPACT: {},
}


def option(parameter: str) -> str:
    """The engine's command-line option for a parameter: `recoveryPointId` -> `--recovery-point-id`."""
    return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", parameter).lower()


def command(job_type: str) -> list[str]:
    """`python -m engine <type> --job-id Ref::jobId --vault-name Ref::vaultName ...` (Batch substitutes)."""
    words = ["python", "-m", "engine", job_type]
    for name in (*COMMON_PARAMETERS, *PARAMETERS[job_type]):
        words += [option(name), f"Ref::{name}"]
    return words


def parameter_defaults(job_type: str) -> dict[str, str]:
    return {name: default for name, default in PARAMETERS[job_type].items() if default is not None}

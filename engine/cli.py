"""`elastio-engine` / `python -m engine`: the vault's Batch job entry point, one subcommand per job type.

Batch passes job parameters as `Ref::` substitutions (docs/CONTRACT.md); empty optional parameters are
treated as absent. Errors print one line naming what is wrong and how to fix it; exit codes: 0 done,
1 failed, 2 usage, 3 the scan found missing or corrupt chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from engine.backup import BackupRequest, LeaseLapsed, run_backup
from engine.catalog import CatalogError, lambda_register
from engine.compact import CompactionBusy, CompactionSettings, LockLost
from engine.config import EngineConfigError, EngineEnvironment
from engine.ebs import EbsDataError, EbsDirect
from engine.expiry import RecoveryPointsTable, expire_and_compact
from engine.index import ChunkIndex
from engine.jobs import JobRecord
from engine.lock import OldEngineCompacting
from engine.manifest import ManifestError
from engine.measure import MeasureError, measure_path
from engine.opcount import OperationCounter
from engine.packs import PackFormatError, VaultBucket
from engine.rebuild import rebuild_index
from engine.restore import EbsSnapshotSink, FileSink, RestoreError, restore_tags, run_restore
from engine.scan import run_scan
from engine.sources import EbsSnapshotSource, ImageFileSource, SourceError
from engine.vault import RecoveryPointNotFound, Vault
from engine.vaultconfig import VaultConfigError, VaultKey

EXIT_FAILED, EXIT_CORRUPT, EXIT_NOT_CLAIMED = 1, 3, 4
# The engine calls S3 and EBS from several threads (16 EBS reads, uploads at once);
# botocore keeps 10 connections per client by default and would reconnect for the rest.
POOL = Config(max_pool_connections=32)
# EBS direct APIs: "Your client application should always retry failed requests that receive a retryable
# error" (InternalServerException, ThrottlingException, RequestThrottledException; "Error retries for EBS
# direct APIs", https://docs.aws.amazon.com/ebs/latest/userguide/error-retries.html). A backup of a large
# volume makes millions of calls over hours, 32 at a time: adaptive mode slows the client down when EBS
# throttles it, and ten attempts (botocore's standard mode makes three) outlast a burst of throttling.
EBS_POOL = POOL.merge(Config(retries={"mode": "adaptive", "max_attempts": 10}))
KNOWN_ERRORS = (
    EngineConfigError,
    SourceError,
    RecoveryPointNotFound,
    ManifestError,
    RestoreError,
    CatalogError,
    MeasureError,
    EbsDataError,
    CompactionBusy,
    LockLost,
    OldEngineCompacting,
    LeaseLapsed,
    PackFormatError,
    VaultConfigError,
)


def _optional(value: str | None) -> str | None:
    return value.strip() or None if value else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elastio-engine", description="Elastio vault engine (Batch job entry point)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def job_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--job-id", required=True, help="the job record in the jobs table")
        command.add_argument("--vault-name", help="must match ELASTIO_VAULT_NAME when given")
        return command

    backup = job_command("backup", "back up an EBS snapshot (or --image-file) into the vault")
    backup.add_argument("--snapshot-id", help="the EBS snapshot to read through the EBS direct APIs")
    backup.add_argument(
        "--image-file", type=Path, help="read the snapshot's data from this raw image instead"
    )
    backup.add_argument("--asset-id", required=True, help="the volume the snapshot was taken from")
    backup.add_argument(
        "--recovery-point-id", help="default: rp-<job id>, so a retried job resumes the same one"
    )
    backup.add_argument(
        "--parent-recovery-point-id", help="previous recovery point of the asset (incremental)"
    )
    backup.add_argument("--retention-days", type=int)

    restore = job_command("restore", "rebuild a volume from a recovery point")
    restore.add_argument("--recovery-point-id", required=True)
    restore.add_argument("--asset-id")
    restore.add_argument(
        "--target",
        default="",
        help="'snapshot' or empty (a new EBS snapshot), an availability zone (a new volume "
        "there, from a new snapshot) or file:PATH",
    )

    scan = job_command("scan", "verify every chunk of a recovery point")
    scan.add_argument("--recovery-point-id", required=True)
    scan.add_argument("--asset-id")

    compact = job_command("compact", "expire manifests and reclaim unreferenced chunks")
    compact.add_argument(
        "--expired-manifest-keys", default="", help="comma-separated manifest keys to expire"
    )

    job_command("rebuild-index", "index every chunk the packs list again (after an index was lost or damaged)")

    measure = commands.add_parser("measure", help="measure dedup and compression of local data")
    measure.add_argument("path", type=Path)
    return parser


def _vault(env: EngineEnvironment, session) -> Vault:
    bucket = VaultBucket(session.client("s3", config=POOL), env.bucket, env.kms_key_arn)
    return Vault(
        env.vault_name,
        bucket,
        ChunkIndex(bucket, session.client("dynamodb"), env.index_table),
        VaultKey(session.client("kms"), env.kms_key_arn) if env.kms_key_arn else None,
    )


def run(args: argparse.Namespace, environ, session) -> int:
    if args.command == "measure":
        print(json.dumps(measure_path(args.path).as_dict(), indent=2))
        return 0
    env = EngineEnvironment.from_env(environ)
    if _optional(args.vault_name) and args.vault_name != env.vault_name:
        raise EngineConfigError(
            f"--vault-name {args.vault_name} does not match ELASTIO_VAULT_NAME={env.vault_name}: "
            "this job definition belongs to another vault"
        )
    counter = OperationCounter()
    counter.attach(session)
    vault = _vault(env, session)
    job = JobRecord(session.client("dynamodb"), env.jobs_table, args.job_id)
    # Batch sets AWS_BATCH_JOB_ID in every job container
    # (https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html).
    not_ours = job.claim(environ.get("AWS_BATCH_JOB_ID"))
    if not_ours:
        # No effects: a duplicate's events are ignored by Job status; a cancelled job ends FAILED, which
        # Job status reports as CANCELLED.
        print(f"elastio-engine {args.command}: not run: {not_ours}", file=sys.stderr)
        return EXIT_NOT_CLAIMED
    try:
        return _dispatch(args, env, vault, job, session)
    except Exception as error:
        try:
            job.failed(_describe(error))
        except (ClientError, BotoCoreError):
            pass  # the original error is the one to report
        raise
    finally:
        try:
            job.operations(counter.as_dict())
        except (ClientError, BotoCoreError):
            pass  # counts are for the cost model; never the reason a job fails


def _dispatch(args, env: EngineEnvironment, vault: Vault, job: JobRecord, session) -> int:
    if args.command == "rebuild-index":
        print(json.dumps(rebuild_index(vault, job).as_dict()))
        return 0
    if args.command == "backup":
        register = lambda_register(session.client("lambda"), env.require_catalog())
        snapshot_id = _optional(args.snapshot_id)
        if not snapshot_id:
            raise SourceError(
                "backup needs --snapshot-id: the EBS snapshot to back up (Batch parameter snapshotId)"
            )
        source = (
            ImageFileSource(args.image_file, snapshot_id)  # the image stands in for the snapshot's data
            if args.image_file
            else EbsSnapshotSource(EbsDirect(session.client("ebs", config=EBS_POOL)), snapshot_id)
        )
        request = BackupRequest(
            job_id=args.job_id,
            asset_id=args.asset_id,
            recovery_point_id=_optional(args.recovery_point_id) or f"rp-{args.job_id}",
            parent_recovery_point_id=_optional(args.parent_recovery_point_id),
            retention_days=args.retention_days,
        )
        result = run_backup(vault, source, request, register, job, env.settings)
        print(json.dumps(result.register_payload(request)))
        return 0
    if args.command in ("restore", "scan"):
        # Streamed from a local spooled copy whose MAC was checked first (engine/vault.py, open_manifest).
        manifest = vault.open_manifest(
            vault.find_manifest_key(args.recovery_point_id, _optional(args.asset_id))
        )
        if args.command == "scan":
            report = run_scan(vault, manifest, job)
            summary = report.as_dict()
            summary["findings"] = summary["findings"][:20]  # the full list is in the report object
            print(json.dumps(summary))
            return 0 if report.healthy else EXIT_CORRUPT
        sink = _sink(args.target, env, session, manifest.recovery_point_id)
        print(json.dumps(run_restore(vault, manifest, sink, job)))
        return 0
    keys = [key.strip() for key in args.expired_manifest_keys.split(",") if key.strip()]
    settings = CompactionSettings(pack_bytes=env.settings.pack_bytes)
    if not env.recovery_points_table:
        print(
            "elastio-engine compact: note: ELASTIO_TABLE_RECOVERY_POINTS is not set, so recovery points the "
            "Catalog expired are not read; only --expired-manifest-keys and unindexed packs are reclaimed",
            file=sys.stderr,
        )
    table = (
        RecoveryPointsTable(session.client("dynamodb"), env.recovery_points_table)
        if env.recovery_points_table
        else None
    )
    print(json.dumps(expire_and_compact(vault, job, table, keys, settings).as_dict()))
    return 0


AVAILABILITY_ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")


def _sink(target: str, env: EngineEnvironment, session, recovery_point_id: str):
    target = target.strip()
    tags = restore_tags(env.vault_name, recovery_point_id, env.deployment)
    if target.startswith("file:") and len(target) > 5:
        return FileSink(Path(target[5:]))
    zone = target if AVAILABILITY_ZONE.match(target) else None
    if target in ("", "snapshot") or zone:
        ebs = EbsDirect(session.client("ebs", config=EBS_POOL))
        description = f"Elastio restore of {recovery_point_id}"
        return EbsSnapshotSink(
            ebs, description, tags, env.kms_key_arn, volume_zone=zone, ec2=session.client("ec2")
        )
    raise RestoreError(
        f"--target {target!r} is not a restore target; use 'snapshot', an availability zone such as "
        "us-east-1a, or file:/path/to/image"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"AWS {error.operation_name} failed: {err.get('Code')}: {err.get('Message')}"
    if isinstance(error, KNOWN_ERRORS):
        return str(error)
    return f"{type(error).__name__}: {error}"


def main(argv: Sequence[str] | None = None, environ=None, session=None) -> int:
    args = build_parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        return run(args, environ, session or boto3.Session())
    except (*KNOWN_ERRORS, ClientError, BotoCoreError, OSError) as error:
        print(f"elastio-engine {args.command}: error: {_describe(error)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # never a bare traceback in the job log; ELASTIO_ENGINE_DEBUG=1 shows it
        if environ.get("ELASTIO_ENGINE_DEBUG"):
            raise
        print(
            f"elastio-engine {args.command}: unexpected error: {_describe(error)} "
            "(set ELASTIO_ENGINE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED

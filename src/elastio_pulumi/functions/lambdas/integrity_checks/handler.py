"""Integrity checks: `integrity.run` inspects the connector and vault setup and writes a JSON report to
each checked vault's bucket (`reports/integrity/<timestamp>.json`) and to the tenant."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lambdas.integrity_checks import checks
from lambdas.shared import aws, outbox
from lambdas.shared.config import settings
from lambdas.shared.envelopes import IntegrityRun, now_iso
from lambdas.shared.service import run_command
from lambdas.shared.vaults import VaultRecord, list_vaults, load_vault

logger = Logger(service="integrity_checks")


def connector_checks() -> list[checks.Check]:
    config = settings()
    ddb = aws.client("dynamodb")
    tables = (config.vaults_table, config.recovery_points_table, config.jobs_table, config.assets_table,
              config.commands_table)
    return [
        *(checks.table_encrypted(ddb, name) for name in tables),
        checks.queue_encrypted(aws.client("sqs"), config.tenant_events_queue_url),
        checks.topic_encrypted(aws.client("sns"), config.alerts_topic_arn),
    ]


def vault_checks(vault: VaultRecord) -> list[checks.Check]:
    batch = aws.client("batch")
    return [
        checks.bucket_encrypted_with(aws.client("s3"), vault.bucketName, vault.kmsKeyArn),
        checks.key_enabled(aws.client("kms"), vault.kmsKeyArn),
        checks.table_encrypted(aws.client("dynamodb"), vault.indexTableName),
        checks.job_queue_valid(batch, vault.jobQueueArn),
        checks.job_definitions_active(batch, vault.jobDefinitions),
        checks.cluster_active(aws.client("ecs"), vault.clusterArn),
    ]


def report_key(generated_at: str, command_id: str) -> str:
    # The command id makes the key the same on every retry of one command: one report, overwritten.
    return f"reports/integrity/{generated_at[:10]}/{command_id}.json"


# A bucket that refuses the report for good is itself a finding; anything else (SlowDown, 5xx, throttling,
# network) is transient and fails the invocation so Lambda retries it.
REFUSALS = ("AccessDenied", "NoSuchBucket", "KMS.DisabledException", "KMS.NotFoundException",
            "KMS.KMSInvalidStateException", "InvalidBucketState")


def store_report(vault: VaultRecord, key: str, report: dict[str, Any]) -> str | None:
    """Write the report to the vault bucket; None (and a log line) if the bucket refuses it."""
    try:
        aws.client("s3").put_object(
            Bucket=vault.bucketName, Key=key, Body=json.dumps(report, indent=2).encode(),
            ContentType="application/json", ServerSideEncryption="aws:kms", SSEKMSKeyId=vault.kmsKeyArn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in REFUSALS:
            raise
        logger.warning("report not stored", extra={"bucket": vault.bucketName, "error": str(error)})
        return None
    return f"s3://{vault.bucketName}/{key}"


def run_integrity(command: IntegrityRun) -> dict[str, Any]:
    vaults = [load_vault(command.payload.vaultName)] if command.payload.vaultName else list_vaults()
    found = connector_checks()
    for vault in vaults:
        found.extend(vault_checks(vault))
    generated_at = now_iso()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    report = checks.build_report(found, region, generated_at)
    key = report_key(generated_at, command.id)
    stored = [location for vault in vaults if (location := store_report(vault, key, report))]
    # The event and the alert are queued together, once per command (lambdas/shared/outbox.py).
    messages = [outbox.event("integrity.report", {**report, "locations": stored}, command.id, command.id)]
    if not report["passed"]:
        messages.append(outbox.alert("Elastio integrity checks found problems", {
            "failed": [c.as_dict() for c in found if not c.passed], "locations": stored}, command.id))
    outbox.send(*messages)
    return {"passed": report["passed"], "failed": report["summary"]["failed"], "locations": stored}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_command(event, {"integrity.run": run_integrity}, logger)

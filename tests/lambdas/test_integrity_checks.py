from __future__ import annotations

import json

from elastio_contract import tables
from lambdas.integrity_checks.handler import handler
from tests.lambdas.messages import command
from tests.lambdas.world import VAULT, aws_client, table_name


def failed_checks(report: dict) -> list[tuple[str, str]]:
    return [(c["name"], c["resource"]) for c in report["checks"] if not c["passed"]]


def run(world, context) -> tuple[dict, dict]:
    result = handler(command("integrity.run", {}), context)
    (event,) = world.tenant_events()
    return result, event


def test_healthy_setup_passes_every_check_without_alert(world, context):
    result, event = run(world, context)
    assert event["type"] == "integrity.report"
    assert failed_checks(event["payload"]) == [] and result["passed"] is True
    assert event["payload"]["summary"]["checks"] == 13
    assert world.alerts() == []


def test_report_is_written_to_vault_bucket_encrypted_with_vault_key(world, context):
    result, event = run(world, context)
    (location,) = result["locations"]
    key = location.removeprefix(f"s3://{world.vault['bucketName']}/")
    stored = aws_client("s3").get_object(Bucket=world.vault["bucketName"], Key=key)
    assert key.startswith("reports/integrity/") and key.endswith(".json")
    assert stored["SSEKMSKeyId"].endswith(world.vault["kmsKeyArn"].rsplit("/", 1)[-1])
    assert json.loads(stored["Body"].read())["checks"] == event["payload"]["checks"]


def test_disabled_vault_key_fails_its_check_and_alerts(world, context):
    aws_client("kms").disable_key(KeyId=world.vault["kmsKeyArn"].rsplit("/", 1)[-1])  # moto wants the id
    result, event = run(world, context)
    assert ("vault key is enabled and rotated", world.vault["kmsKeyArn"]) in failed_checks(event["payload"])
    (alert,) = world.alerts()
    assert alert["failed"][0]["resource"] == world.vault["kmsKeyArn"]


def test_bucket_encrypted_with_another_key_fails(world, context):
    aws_client("s3").put_bucket_encryption(
        Bucket=world.vault["bucketName"],
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    _, event = run(world, context)
    assert failed_checks(event["payload"]) == [
        ("vault bucket encrypts with the vault key", world.vault["bucketName"])]


def test_disabled_job_queue_fails(world, context):
    aws_client("batch").update_job_queue(jobQueue=world.vault["jobQueueArn"], state="DISABLED")
    _, event = run(world, context)
    assert failed_checks(event["payload"]) == [
        ("Batch job queue and compute environments are valid", world.vault["jobQueueArn"])]


def test_missing_table_fails_naming_the_error(world, context):
    aws_client("dynamodb").delete_table(TableName=table_name(tables.ASSETS))
    _, event = run(world, context)
    (check,) = [c for c in event["payload"]["checks"] if not c["passed"]]
    assert check["resource"] == table_name(tables.ASSETS)
    assert check["detail"].startswith("ResourceNotFoundException")


def test_report_still_reaches_tenant_when_vault_bucket_is_gone(world, context):
    s3 = aws_client("s3")
    s3.delete_bucket(Bucket=world.vault["bucketName"])
    result, event = run(world, context)
    assert result["locations"] == [] and event["payload"]["locations"] == []
    assert ("vault bucket encrypts with the vault key", world.vault["bucketName"]) in failed_checks(
        event["payload"])


def test_run_for_unknown_vault_is_rejected(world, context):
    result = handler(command("integrity.run", {"vaultName": "ghost"}), context)
    assert result["status"] == "rejected"


def test_run_for_named_vault_checks_it(world, context):
    result = handler(command("integrity.run", {"vaultName": VAULT}), context)
    assert result["passed"] is True and len(result["locations"]) == 1

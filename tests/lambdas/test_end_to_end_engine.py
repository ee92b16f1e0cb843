"""The command flow end to end with the real engine: backup.start → router → Background jobs → Batch job →
the engine (run in-process with the Batch job's own parameters, as its job definition's command line gets
them) → packs, manifest and the Catalog's recovery point → restore.start → the engine restores into a new
snapshot whose blocks equal the source's; then expiry and compaction, and the live point still restores.

AWS is moto, except the EBS direct APIs (tests/fakes/ebs.py, AWS-faithful where moto is not: 512 KiB blocks,
short pages, ListChangedBlocks across the lineage, checksums) and Lambda running the Catalog for the engine's
synchronous register (moto's Lambda runs no Python in-process). Nothing is faulted here: the fault matrix is
tests/lambdas/test_exactly_once.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody

from elastio_contract import environment as env_names
from elastio_contract import tables
from elastio_pulumi.job_definitions import job_command, job_parameter_defaults
from engine.cli import main as engine_main
from lambdas.catalog.handler import handler as catalog
from lambdas.shared.jobs import get_job
from tests.fakes.ebs import BLOCK_SIZE, FakeEbs
from tests.lambdas.connector_runtime import QuickContext, Runtime
from tests.lambdas.faults import AwsCalls
from tests.lambdas.messages import batch_state_change, command
from tests.lambdas.world import FUNCTION_KEYS, REGION, VAULT, World, aws_client, aws_table, table_name

ASSET = "vol-0123456789abcdef0"


class CatalogLambda:
    """Lambda's synchronous Invoke of the Catalog, run in-process (the engine's register)."""

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        assert (FunctionName, InvocationType) == (FUNCTION_KEYS["catalog"], "RequestResponse")
        try:
            body, error = json.dumps(catalog(json.loads(Payload), QuickContext())).encode(), None
        except Exception as failure:  # noqa: BLE001 - Lambda reports a function error in the reply
            body, error = json.dumps({"errorMessage": str(failure)}).encode(), "Unhandled"
        reply = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        return {**reply, "FunctionError": error} if error else reply


class BatchJobSession:
    """The boto3 session inside the Batch job's container."""

    def __init__(self, ebs: FakeEbs):
        self.ebs = ebs
        # A real session underneath, so the engine's per-job operation counters hook its events as in Batch.
        self._session = boto3.Session(region_name=REGION)
        self.events = self._session.events

    def client(self, service: str, **_: Any) -> Any:
        if service == "ebs":
            return self.ebs
        if service == "lambda":
            return CatalogLambda()
        return self._session.client(service, region_name=REGION)


@dataclasses.dataclass
class Cloud:
    world: World
    rt: Runtime
    ebs: FakeEbs

    def snapshot(self, volume) -> str:
        """A completed snapshot in EC2 (moto) whose blocks the EBS direct APIs serve (the fake), one id."""
        ec2 = aws_client("ec2")
        ec2_volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=volume.size_gib)["VolumeId"]
        ec2_id = ec2.create_snapshot(VolumeId=ec2_volume)["SnapshotId"]
        fake_id = self.ebs.take_snapshot(volume)
        self.ebs.snapshots[ec2_id] = dataclasses.replace(self.ebs.snapshots.pop(fake_id), snapshot_id=ec2_id)
        return ec2_id

    def engine_environment(self, batch_job_id: str) -> dict[str, str]:
        vault = self.world.vault
        return {**os.environ, env_names.VAULT_NAME: VAULT, env_names.VAULT_BUCKET: vault["bucketName"],
                env_names.VAULT_KMS_KEY_ARN: vault["kmsKeyArn"], env_names.INDEX_TABLE: vault["indexTableName"],
                env_names.JOBS_TABLE: table_name(tables.JOBS),
                env_names.RECOVERY_POINTS_TABLE: table_name(tables.RECOVERY_POINTS),
                env_names.CATALOG_FUNCTION: FUNCTION_KEYS["catalog"], "AWS_BATCH_JOB_ID": batch_job_id}

    def run(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send a command; run the Batch job it submitted through the engine; returns the job record."""
        before = len(self.rt.calls.batch_jobs())
        self.rt.command(envelope)
        (batch_job,) = self.rt.calls.batch_jobs()[before:]
        batch_job_id, parameters = batch_job
        job_type = get_job(parameters["jobId"])["type"]
        values = {**job_parameter_defaults(job_type), **parameters}
        # Batch substitutes Ref::<name> in the job definition's command with the job's parameters.
        argv = [values.get(arg[5:], arg) if arg.startswith("Ref::") else arg for arg in job_command(job_type)[3:]]
        name = f"elastio-{job_type}-{parameters['jobId']}"
        self.rt.invoke_async(*self._event(name, batch_job_id, "RUNNING", parameters))
        code = engine_main(argv, self.engine_environment(batch_job_id), BatchJobSession(self.ebs))
        status = "SUCCEEDED" if code == 0 else "FAILED"
        self.rt.invoke_async(*self._event(name, batch_job_id, status, parameters))
        return get_job(parameters["jobId"])

    @staticmethod
    def _event(name: str, batch_job_id: str, status: str, parameters: dict[str, str]) -> tuple:
        from lambdas.job_status.handler import handler as job_status

        return job_status, batch_state_change(name, batch_job_id, status, dict(parameters))


@pytest.fixture
def cloud(world, monkeypatch) -> Cloud:
    calls = AwsCalls()
    calls.install(monkeypatch)
    return Cloud(world, Runtime(world, calls), FakeEbs(page_size=7))


def point(recovery_point_id: str) -> dict[str, Any] | None:
    return aws_table(table_name(tables.RECOVERY_POINTS)).get_item(
        Key={"assetId": ASSET, "recoveryPointId": recovery_point_id}).get("Item")


def test_backup_restore_expire_and_compact_through_the_command_channel_and_the_engine(cloud):
    volume = cloud.ebs.volume(1)
    for index in range(0, 24, 3):
        volume.write(index, os.urandom(BLOCK_SIZE))
    volume.write(30, b"same" * (BLOCK_SIZE // 4))
    first = cloud.snapshot(volume)

    full = cloud.run(command("backup.start", {"vaultName": VAULT, "assetId": ASSET, "snapshotId": first}))
    assert full["state"] == "SUCCEEDED"
    first_point = f"rp-{full['jobId']}"
    assert point(first_point)["status"] == "available"
    manifest = point(first_point)["manifestKey"]
    assert aws_client("s3").head_object(Bucket=cloud.world.vault["bucketName"], Key=manifest)

    volume.write(3, os.urandom(BLOCK_SIZE))  # changed
    volume.write(40, os.urandom(BLOCK_SIZE))  # new
    second = cloud.snapshot(volume)
    incremental = cloud.run(command("backup.start", {"vaultName": VAULT, "assetId": ASSET, "snapshotId": second,
                                                     "parentRecoveryPointId": first_point}))
    assert incremental["state"] == "SUCCEEDED"
    second_point = f"rp-{incremental['jobId']}"

    restore = cloud.run(command("restore.start", {"vaultName": VAULT, "assetId": ASSET,
                                                  "recoveryPointId": second_point, "target": "snapshot"}))
    assert restore["state"] == "SUCCEEDED"
    restored = restore["result"]["snapshotId"]
    assert cloud.ebs.block_data(restored) == cloud.ebs.block_data(second)

    # Thirty days on, the full backup is past its retention: expire it and compact the vault.
    aws_table(table_name(tables.RECOVERY_POINTS)).update_item(
        Key={"assetId": ASSET, "recoveryPointId": first_point}, UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": "2020-01-01T00:00:00Z"})
    compact = cloud.run(command("recovery-points.expire", {"vaultName": VAULT}))
    assert compact["state"] == "SUCCEEDED"
    # The incremental point's manifest references the full one's unchanged ranges, so compaction keeps the
    # expired point's manifest (and the Catalog's expired item) while the incremental one lives (engine/README.md,
    # rule P); the expired point no longer restores, the incremental one does.
    assert point(first_point)["status"] == "expired" and point(second_point)["status"] == "available"
    restore_gone = command("restore.start", {"vaultName": VAULT, "assetId": ASSET, "recoveryPointId": first_point,
                                             "target": "snapshot"})
    cloud.rt.command(restore_gone)
    events, alerts = cloud.rt.received()
    assert [e["type"] for e in events if e["correlationId"] == restore_gone["id"]] == ["command.rejected"]

    again = cloud.run(command("restore.start", {"vaultName": VAULT, "assetId": ASSET,
                                                "recoveryPointId": second_point, "target": "snapshot"}))
    assert again["state"] == "SUCCEEDED"
    assert cloud.ebs.block_data(again["result"]["snapshotId"]) == cloud.ebs.block_data(second)

    later, more_alerts = cloud.rt.received()
    events, alerts = events + later, alerts + more_alerts
    assert alerts == [] and cloud.rt.gave_up == []
    assert sum(e["type"] == "recovery-point.created" for e in events) == 2
    assert sum(e["type"] == "job.completed" for e in events) == 5

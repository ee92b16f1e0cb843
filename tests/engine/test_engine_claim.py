"""A Batch job claims its job record before any effect (engine/jobs.py `claim`, lambdas/shared/jobs.py).

Background jobs may submit two Batch jobs for one command (SubmitJob has no idempotency token); the record
holds one Batch job id, and only that job may write packs, manifests or register a recovery point.
"""

import pytest
from engine_world import JOBS_TABLE, volume_bytes

from engine.cli import EXIT_NOT_CLAIMED, main

FIRST, SECOND = "11111111-aaaa-bbbb-cccc-000000000001", "22222222-aaaa-bbbb-cccc-000000000002"


@pytest.fixture
def registered(monkeypatch):
    calls = []
    monkeypatch.setattr("engine.cli.lambda_register", lambda client, name: calls.append)
    return calls


def job_record(aws, **attributes):
    """The record Background jobs writes before it submits (state SUBMITTED), with extra attributes."""
    item = {"jobId": {"S": "job-1"}, "type": {"S": "backup"}, "state": {"S": "SUBMITTED"}}
    item.update({k: ({"BOOL": v} if isinstance(v, bool) else {"S": v}) for k, v in attributes.items()})
    aws.client("dynamodb").put_item(TableName=JOBS_TABLE, Item=item)


def backup(aws, environ, tmp_path, batch_job_id):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(64 * 1024))
    argv = ["backup", "--job-id", "job-1", "--asset-id", "vol-1", "--snapshot-id", "snap-0123456789abcdef0",
            "--image-file", str(image)]  # fmt: skip
    return main(argv, {**environ, "AWS_BATCH_JOB_ID": batch_job_id}, aws)


def stored_objects(aws, vault) -> int:
    return aws.client("s3").list_objects_v2(Bucket=vault.bucket.bucket).get("KeyCount", 0)


def record(aws) -> dict:
    return aws.client("dynamodb").get_item(TableName=JOBS_TABLE, Key={"jobId": {"S": "job-1"}})["Item"]


def test_the_first_batch_job_to_start_claims_an_unrecorded_job_and_runs(aws, environ, tmp_path, registered):
    job_record(aws)
    assert backup(aws, environ, tmp_path, FIRST) == 0
    assert record(aws)["batchJobId"]["S"] == FIRST and len(registered) == 1


def test_a_duplicate_batch_job_of_the_same_command_exits_without_effects(aws, vault, environ, tmp_path,
                                                                         registered):
    job_record(aws, batchJobId=FIRST)
    assert backup(aws, environ, tmp_path, SECOND) == EXIT_NOT_CLAIMED
    assert (stored_objects(aws, vault), registered) == (0, [])
    assert record(aws)["batchJobId"]["S"] == FIRST


def test_a_retried_attempt_of_the_recorded_batch_job_claims_again(aws, environ, tmp_path, registered):
    job_record(aws, batchJobId=FIRST, claimedBy=FIRST)
    assert backup(aws, environ, tmp_path, FIRST) == 0
    assert len(registered) == 1


def test_a_job_cancelled_before_it_started_does_nothing_and_fails(aws, vault, environ, tmp_path, registered):
    job_record(aws, batchJobId=FIRST, cancelRequested=True)
    assert backup(aws, environ, tmp_path, FIRST) == EXIT_NOT_CLAIMED  # Batch: FAILED; Job status: CANCELLED
    assert (stored_objects(aws, vault), registered) == (0, [])


def test_a_job_an_operator_submitted_without_a_record_runs(aws, environ, tmp_path, registered):
    assert backup(aws, environ, tmp_path, FIRST) == 0  # no record: not a connector job, nothing to dedupe
    assert record(aws)["claimedBy"]["S"] == FIRST

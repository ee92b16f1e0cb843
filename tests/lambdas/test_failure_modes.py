"""The failure modes of issue 13 one by one, each as the world produces it (moto; faults from
tests/lambdas/faults.py where a call must fail or an event must land at a given moment)."""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from elastio_contract import tables
from elastio_pulumi.connector import COMMAND_MAX_RECEIVES, RETENTION_14_DAYS
from lambdas.background_jobs.handler import handler as background_jobs
from lambdas.catalog.handler import handler as catalog
from lambdas.integrity_checks.handler import handler as integrity_checks
from lambdas.inventory.handler import handler as inventory
from lambdas.job_status.handler import handler as job_status
from lambdas.router.handler import handler as router
from lambdas.shared.envelopes import MAX_COMMAND_AGE, SQS_MESSAGE_BYTES, CommandRejected, parse_command
from lambdas.shared.jobs import get_job
from tests.lambdas.connector_runtime import Runtime
from tests.lambdas.faults import AwsCalls, Fault
from tests.lambdas.messages import batch_state_change, command, eventbridge, sqs_event
from tests.lambdas.poller import poll_once, queue_depth, send
from tests.lambdas.test_exactly_once import register_command
from tests.lambdas.world import REGION, VAULT, aws_table, table_name

ACCOUNT = "123456789012"


@pytest.fixture
def calls(world, monkeypatch) -> AwsCalls:
    calls = AwsCalls()
    calls.install(monkeypatch)
    return calls


@pytest.fixture
def backup(world, context, snapshot_id) -> dict:
    """A submitted backup job's record; the tenant queue is drained."""
    start = command("backup.start", {"vaultName": VAULT, "assetId": "vol-1", "snapshotId": snapshot_id})
    background_jobs(start, context)
    world.tenant_events()
    return get_job(start["id"])


def state_change(job: dict, status: str, batch_job_id: str | None = None) -> dict:
    return batch_state_change(f"elastio-backup-{job['jobId']}", batch_job_id or job["batchJobId"], status,
                              dict(job["parameters"]))


# ---- envelopes --------------------------------------------------------------------------------------------
def test_deeply_nested_command_is_rejected_not_looped_to_the_dead_letter_queue(world, context):
    body = '{"id": "' + str(uuid.uuid4()) + '", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}"
    send(world.command_queue_url, body)
    assert poll_once(world.command_queue_url, router, context) == {"batchItemFailures": []}
    (rejected,) = world.tenant_events()
    assert rejected["type"] == "command.rejected" and "nests deeper" in rejected["payload"]["reason"]
    assert queue_depth(world.command_queue_url) == 0


def test_rejection_of_a_huge_command_fits_in_one_sqs_message(world, context):
    huge = "x" * (SQS_MESSAGE_BYTES - 4096)
    bodies = [json.dumps({**command("backup.start", {}), "type": huge}),
              json.dumps({**command("backup.start", {"vaultName": VAULT}), "id": huge[:200_000]}),
              json.dumps(command("backup.start", {"vaultName": VAULT, "assetId": huge[:200_000],
                                                  "snapshotId": huge[:50_000]}))]
    assert router(sqs_event(*bodies), context) == {"batchItemFailures": []}
    events = world.tenant_events()
    assert [e["type"] for e in events] == ["command.rejected"] * 3
    assert all(len(json.dumps(e).encode()) < SQS_MESSAGE_BYTES for e in events)


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_version_must_be_the_integer_1(version):
    with pytest.raises(CommandRejected, match="version"):
        parse_command({**command("inventory.refresh", {}), "version": version})


def test_issued_at_from_the_future_or_older_than_a_redrive_is_rejected():
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def issued(moment: datetime | str) -> dict:
        text = moment if isinstance(moment, str) else moment.isoformat()
        return {**command("inventory.refresh", {}), "issuedAt": text}

    with pytest.raises(CommandRejected, match="future"):
        parse_command(issued(now + timedelta(minutes=10)), now)
    with pytest.raises(CommandRejected, match="older than 28 days"):
        parse_command(issued(now - timedelta(days=29)), now)
    with pytest.raises(CommandRejected, match="issuedAt"):
        parse_command(issued("2026-12-01T00:00:00"), now)  # no time zone: which day is it?
    # A command redriven from the dead-letter queue after 27 days still runs.
    assert parse_command(issued(now - timedelta(days=27)), now).type == "inventory.refresh"


def test_the_oldest_accepted_command_is_the_queue_plus_dead_letter_retention():
    # src/elastio_pulumi/connector.py gives both queues RETENTION_14_DAYS; the router accepts what a redrive can bring.
    assert MAX_COMMAND_AGE == timedelta(seconds=2 * RETENTION_14_DAYS)


def test_command_ids_come_back_exactly_as_sent(world, context, snapshot_id):
    start = command("backup.start", {"vaultName": VAULT, "assetId": "vol-1", "snapshotId": snapshot_id},
                    command_id=str(uuid.uuid4()).upper())
    background_jobs(start, context)
    (submitted,) = world.tenant_events()
    assert submitted["correlationId"] == submitted["payload"]["jobId"] == start["id"]


def test_the_router_remembers_a_command_for_longer_than_any_redelivery(world, context, invocations):
    sent = command("inventory.refresh", {})
    router(sqs_event(json.dumps(sent)), context)
    (record,) = [r for r in aws_table(table_name(tables.COMMANDS)).scan()["Items"]
                 if not r["id"].startswith("outbox#")]
    remembered = datetime.fromtimestamp(int(record["expiration"]), UTC) - datetime.now(UTC)
    # Any copy arriving after the record expires is older than MAX_COMMAND_AGE and refused as too old.
    assert remembered > MAX_COMMAND_AGE + timedelta(minutes=5)
    assert COMMAND_MAX_RECEIVES >= 2


# ---- jobs -------------------------------------------------------------------------------------------------
def test_cancel_of_a_server_record_is_rejected(world, context):
    aws_table(table_name(tables.JOBS)).put_item(Item={
        "jobId": f"server-{VAULT}", "type": "server", "vaultName": VAULT, "state": "RUNNING",
        "updatedAt": "2026-12-01T00:00:00Z"})
    background_jobs(command("job.cancel", {"jobId": f"server-{VAULT}"}), context)
    (rejected,) = world.tenant_events()
    assert rejected["type"] == "command.rejected" and "server record" in rejected["payload"]["reason"]
    assert "cancelRequested" not in get_job(f"server-{VAULT}")


def test_restore_reusing_a_backups_id_is_rejected(world, context, backup):
    catalog(register_command(VAULT, "vol-1", "rp-1"), context)
    world.tenant_events()
    restore = command("restore.start", {"vaultName": VAULT, "assetId": "vol-1", "recoveryPointId": "rp-1",
                                        "target": f"{REGION}a"}, command_id=backup["jobId"])
    background_jobs(restore, context)
    (rejected,) = world.tenant_events()
    assert rejected["type"] == "command.rejected" and "already a backup job" in rejected["payload"]["reason"]


def test_failure_landing_between_terminate_and_the_cancel_flag_is_a_cancellation(world, context, calls,
                                                                                  backup):
    # Batch emits FAILED as soon as TerminateJob is in; Job status may handle it before the cancel returns.
    calls.after_operation = "TerminateJob"
    calls.after = lambda: job_status(state_change(backup, "FAILED"), context)
    with calls.arming():
        background_jobs(command("job.cancel", {"jobId": backup["jobId"]}), context)
    (event,) = world.tenant_events()
    assert (event["type"], event["payload"]["state"]) == ("job.failed", "CANCELLED")
    assert world.alerts() == []
    assert get_job(backup["jobId"])["state"] == "CANCELLED"


def test_a_job_state_never_moves_backwards(world, context, backup):
    job_status(state_change(backup, "RUNNING"), context)
    job_status(state_change(backup, "RUNNABLE"), context)  # EventBridge does not keep order
    assert get_job(backup["jobId"])["state"] == "RUNNING"


def test_a_repeated_running_event_reports_progress_once(world, context, backup):
    job_status(state_change(backup, "RUNNING"), context)
    job_status(state_change(backup, "RUNNING"), context)  # EventBridge delivers at least once
    assert [e["type"] for e in world.tenant_events()] == ["job.progress"]


def test_events_of_a_batch_job_the_record_does_not_hold_are_ignored(world, context, backup):
    orphan = "99999999-0000-0000-0000-000000000000"  # a duplicate submission of the same command
    assert job_status(state_change(backup, "FAILED", orphan), context)["status"] == "ignored"
    assert get_job(backup["jobId"])["state"] == "SUBMITTED"
    assert world.tenant_events() == [] and world.alerts() == []


def test_two_expires_start_one_compaction_of_the_vault(world, context, calls):
    for point in ("rp-a", "rp-b"):
        catalog(register_command(VAULT, "vol-1", point, "2026-01-01T00:00:00Z", 1), context)
    rt = Runtime(world, calls)
    first, second = (command("recovery-points.expire", {"vaultName": VAULT}) for _ in range(2))
    rt.command(first)
    rt.command(second)  # the first compaction is still queued or running
    assert len(calls.batch_jobs()) == 1
    events, _ = rt.received()
    (answer,) = [e for e in events if e["type"] == "recovery-points.expired" and e["correlationId"] == second["id"]]
    assert answer["payload"]["compactJobId"] == calls.batch_jobs()[0][1]["jobId"]  # told which one runs


# ---- catalog ----------------------------------------------------------------------------------------------
def test_a_listing_larger_than_one_message_comes_in_pages_that_each_fit(world, context):
    table = aws_table(table_name(tables.RECOVERY_POINTS))
    with table.batch_writer() as batch:
        for n in range(900):
            batch.put_item(Item={
                "assetId": f"vol-{n % 7}", "recoveryPointId": f"rp-{n:04d}", "vaultName": VAULT,
                "createdAt": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z", "status": "available",
                "manifestKey": f"manifests/vol-{n % 7}/rp-{n:04d}-{'m' * 200}.json",
                "expiresAt": "2027-01-01T00:00:00Z",
                "snapshotId": "snap-0123456789abcdef0", "jobId": str(uuid.uuid4()), "logicalBytes": 1 << 30})
    listed, token = [], None
    for _ in range(10):
        catalog(command("recovery-points.list", {"vaultName": VAULT, "limit": 1000,
                                                 **({"nextToken": token} if token else {})}), context)
        (page,) = world.tenant_events()
        assert len(json.dumps(page).encode()) < SQS_MESSAGE_BYTES
        listed += [p["recoveryPointId"] for p in page["payload"]["recoveryPoints"]]
        token = page["payload"].get("nextToken")
        if not token:
            break
    assert sorted(listed) == [f"rp-{n:04d}" for n in range(900)]  # every point once, none twice


def test_a_page_token_of_another_listing_is_rejected(world, context):
    catalog(register_command(VAULT, "vol-1", "rp-1"), context)
    catalog(register_command(VAULT, "vol-1", "rp-2"), context)
    world.tenant_events()
    catalog(command("recovery-points.list", {"assetId": "vol-1", "limit": 1}), context)
    (page,) = world.tenant_events()
    catalog(command("recovery-points.list", {"vaultName": VAULT, "nextToken": page["payload"]["nextToken"]}),
            context)
    (rejected,) = world.tenant_events()
    assert rejected["type"] == "command.rejected" and "another vault or asset" in rejected["payload"]["reason"]


# ---- inventory --------------------------------------------------------------------------------------------
def instance_event(state: str, time: str, account: str = ACCOUNT, region: str = REGION) -> dict:
    event = eventbridge("aws.ec2", "EC2 Instance State-change Notification", {"instance-id": "i-0abc",
                        "state": state}, [f"arn:aws:ec2:{region}:{account}:instance/i-0abc"], time)
    return {**event, "account": account, "region": region}


def asset(asset_id: str) -> dict | None:
    return aws_table(table_name(tables.ASSETS)).get_item(Key={"assetId": asset_id}).get("Item")


@pytest.mark.parametrize("account, region", [("210987654321", REGION), (ACCOUNT, "eu-west-1")])
def test_events_of_other_accounts_and_regions_are_not_recorded(world, context, account, region):
    inventory(instance_event("running", "2026-03-01T10:00:00Z", account, region), context)
    assert asset("i-0abc") is None and world.tenant_events() == []


def test_a_delete_of_a_volume_never_seen_creates_no_asset(world, context):
    inventory(eventbridge("aws.ec2", "EBS Volume Notification", {"event": "deleteVolume", "result": "deleted",
              "cause": ""}, [f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0unknown"]), context)
    assert asset("vol-0unknown") is None and world.tenant_events() == []


def test_of_two_events_in_one_second_the_later_lifecycle_step_wins_in_any_order(world, context):
    inventory(instance_event("running", "2026-03-01T10:00:00Z"), context)
    inventory(instance_event("pending", "2026-03-01T10:00:00Z"), context)  # delivered late, same second
    assert asset("i-0abc")["state"] == "running"


# ---- integrity --------------------------------------------------------------------------------------------
def test_s3_slowdown_on_the_report_is_retried_not_swallowed(world, context, calls):
    calls.plan()
    with calls.arming():  # a first run, to find where the report is written
        integrity_checks(command("integrity.run", {"vaultName": VAULT}), context)
    put = next(i for i, (_, operation) in enumerate(calls.calls, start=1) if operation == "PutObject")
    world.tenant_events()
    calls.plan(Fault("slow-down", "SlowDown", 503, applied=False), put)
    rt = Runtime(world, calls)
    run = command("integrity.run", {"vaultName": VAULT})
    rt.invoke_async(integrity_checks, run)  # Lambda retries the failed attempt
    (report,) = [e for e in world.tenant_events() if e["correlationId"] == run["id"]]
    (location,) = report["payload"]["locations"]
    assert location.startswith(f"s3://{world.vault['bucketName']}/reports/integrity/") and run["id"] in location
    assert rt.gave_up == []


# ---- events in any order ------------------------------------------------------------------------------------
def test_batch_events_in_any_order_end_the_job_once(world, context, snapshot_id):
    statuses = ("RUNNABLE", "RUNNING", "RUNNING", "SUCCEEDED")
    for order in sorted(set(itertools.permutations(statuses))):
        start = command("backup.start", {"vaultName": VAULT, "assetId": "vol-1", "snapshotId": snapshot_id})
        background_jobs(start, context)
        job = get_job(start["id"])
        for status in order:
            job_status(state_change(job, status), context)
        kinds = Counter(e["type"] for e in world.tenant_events() if e["correlationId"] == start["id"])
        assert get_job(start["id"])["state"] == "SUCCEEDED", order
        assert kinds["job.completed"] == 1 and kinds["job.progress"] <= 1 and kinds["job.submitted"] == 1, order


def test_ec2_events_in_any_order_leave_the_newest_state(world, context):
    events = [instance_event(state, f"2026-03-01T10:0{minute}:00Z")
              for minute, state in enumerate(("pending", "running", "stopping", "stopped"))]
    for number, order in enumerate(itertools.permutations(events)):
        instance = f"i-{number:04x}"
        for event in order:
            inventory({**event, "id": str(uuid.uuid4()), "detail": {**event["detail"], "instance-id": instance}},
                      context)
        assert asset(instance)["state"] == "stopped", [e["detail"]["state"] for e in order]
    world.tenant_events()

"""Exactly once under faults: each flow is run once cleanly to count the AWS calls the functions make, then
again with each call failing once in turn (THROTTLED, then LOST_REPLY: applied but answered with a 500),
and again with a duplicate delivery running to the end just before each call; SQS, Lambda, EventBridge and
the stream retry as they do in AWS (tests/lambdas/connector_runtime.py). After every run the flow must
have had its effects exactly once: one effective Batch job or ECS task per command, each tenant event and
alert once, no recovery point without its registration answer, no lost cancel.

Budget: the whole module runs in well under a minute (in-process moto; see tests/lambdas/faults.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from elastio_contract import tables
from lambdas.background_jobs.handler import handler as background_jobs
from lambdas.catalog.handler import handler as catalog
from lambdas.inventory.handler import handler as inventory
from lambdas.provisioner.handler import handler as provisioner
from lambdas.shared.jobs import compaction_lock_id, get_job
from tests.lambdas.connector_runtime import QuickContext, Runtime
from tests.lambdas.faults import FAULTS, AwsCalls, Fault
from tests.lambdas.messages import command, eventbridge
from tests.lambdas.world import REGION, VAULT, World, aws_table, create_snapshot, table_name

MAX_CALLS = 80  # a flow making more calls than this has changed shape: look at it
READS = ("Get", "Describe", "List", "Query", "Scan", "Receive")


@pytest.fixture
def calls(world, monkeypatch) -> AwsCalls:
    calls = AwsCalls()
    calls.install(monkeypatch)
    return calls


def kinds(events: list[dict[str, Any]], correlation_id: str) -> Counter:
    return Counter(e["type"] for e in events if e["correlationId"] == correlation_id)


def assert_sent_once(events: list[dict[str, Any]]) -> None:
    ids = Counter(e["id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == [], "an event was sent more than once"


def fresh_vault(world: World, name: str) -> str:
    """Another vault record on the same resources: a clean compaction lock and server record per run."""
    aws_table(table_name(tables.VAULTS)).put_item(Item={**world.vault, "vaultName": name})
    return name


_serial = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial):06d}"


def register_command(vault: str, asset: str, point: str, created: str = "2026-03-01T10:00:00Z",
                     retention_days: int = 30) -> dict[str, Any]:
    return command("recovery-point.register", {
        "vaultName": vault, "assetId": asset, "recoveryPointId": point, "snapshotId": "snap-0123456789abcdef0",
        "manifestKey": f"manifests/{asset}/{point}.json", "logicalBytes": 1 << 30, "storedBytes": 1 << 20,
        "newBytes": 1 << 20, "chunkCount": 64, "jobId": "job-x", "createdAt": created,
        "retentionDays": retention_days})


# ---- the flows ---------------------------------------------------------------------------------------------
class JobFlow:
    """backup.start / restore.start / scan.start: one Batch job, run to success."""

    def __init__(self, world: World, kind: str):
        asset = unique("vol-")
        if kind == "backup":
            payload = {"vaultName": VAULT, "assetId": asset, "snapshotId": create_snapshot()}
        else:
            point = unique("rp-")
            catalog(register_command(VAULT, asset, point), QuickContext())
            payload = {"vaultName": VAULT, "assetId": asset, "recoveryPointId": point}
            if kind == "restore":
                payload["target"] = f"{REGION}a"
        self.command = command(f"{kind}.start", payload)
        self.job_id = self.command["id"]

    def run(self, rt: Runtime) -> None:
        rt.command(self.command)
        rt.run_batch()

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: background_jobs(self.command, QuickContext())

    def check(self, rt: Runtime) -> None:
        events, alerts = rt.received()
        assert kinds(events, self.job_id) == {"job.submitted": 1, "job.progress": 1, "job.completed": 1}
        assert_sent_once(events)
        assert alerts == []
        (effective,) = rt.effective_batch_jobs()
        record = get_job(self.job_id)
        assert (record["state"], record["batchJobId"]) == ("SUCCEEDED", effective)
        assert rt.gave_up == []


class ExpireFlow:
    """recovery-points.expire marks the expired points and runs one compaction of the vault."""

    def __init__(self, world: World):
        self.vault = fresh_vault(world, unique("expire"))
        self.points = sorted(unique("rp-") for _ in range(2))
        for point in self.points:
            catalog(register_command(self.vault, unique("vol-"), point, "2026-01-01T00:00:00Z", 1), QuickContext())
        self.command = command("recovery-points.expire", {"vaultName": self.vault})

    def run(self, rt: Runtime) -> None:
        rt.command(self.command)
        rt.run_batch()

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: catalog(self.command, QuickContext())

    def check(self, rt: Runtime) -> None:
        events, alerts = rt.received()
        assert kinds(events, self.command["id"]) == {
            "recovery-points.expired": 1, "job.submitted": 1, "job.progress": 1, "job.completed": 1}
        (expired,) = [e for e in events if e["type"] == "recovery-points.expired"]
        assert expired["payload"]["expired"] == self.points
        assert_sent_once(events)
        assert alerts == []
        (effective,) = rt.effective_batch_jobs()
        assert get_job(expired["payload"]["compactJobId"])["batchJobId"] == effective
        assert "activeJobId" not in get_job(compaction_lock_id(self.vault))  # the next compaction may run
        assert rt.gave_up == []


class ServerFlow:
    """server.start then server.stop: one task ran and it is stopped."""

    def __init__(self, world: World):
        self.vault = fresh_vault(world, unique("server"))
        self.start = command("server.start", {"vaultName": self.vault})
        self.stop = command("server.stop", {"vaultName": self.vault})

    def run(self, rt: Runtime) -> None:
        rt.command(self.start)
        rt.command(self.stop)

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: provisioner(self.start, QuickContext())

    def check(self, rt: Runtime) -> None:
        events, alerts = rt.received()
        assert kinds(events, self.start["id"]) == {"server.state": 1}
        assert kinds(events, self.stop["id"]) == {"server.state": 1}
        assert [e["payload"]["state"] for e in events if e["type"] == "server.state"] == ["RUNNING", "STOPPED"]
        assert_sent_once(events)
        started = {e.response["tasks"][0]["taskArn"] for e in rt.calls.of("ecs", "RunTask")}
        assert len(started) == 1, "server.start ran more than one task"
        assert rt.calls.ecs.running() == []
        assert rt.gave_up == []


class CancelFlow:
    """backup.start, then job.cancel: the job ends CANCELLED, and no Batch job of it runs."""

    def __init__(self, world: World):
        self.backup = JobFlow(world, "backup")
        self.job_id = self.backup.job_id
        self.cancel = command("job.cancel", {"jobId": self.job_id, "reason": "tenant changed its mind"})

    def run(self, rt: Runtime) -> None:
        rt.command(self.backup.command)
        rt.command(self.cancel)
        rt.run_batch()

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: background_jobs(self.cancel, QuickContext())

    def check(self, rt: Runtime) -> None:
        self.check_cancelled(rt, *rt.received())

    def check_cancelled(self, rt: Runtime, events: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        job_events = kinds(events, self.job_id)
        assert job_events["job.failed"] == 1 and job_events["job.completed"] == 0
        assert job_events["job.submitted"] <= 1
        (failed,) = [e for e in events if e["type"] == "job.failed"]
        assert failed["payload"]["state"] == "CANCELLED"
        assert get_job(self.job_id)["state"] == "CANCELLED"
        assert rt.effective_batch_jobs() == [], "a cancelled job ran"
        # Each Batch job of it was terminated, or started and found its claim refused (exited at once).
        assert all(b in rt.calls.terminated() or rt.claims.get(b) for b, _ in rt.calls.batch_jobs())
        assert alerts == [] and kinds(events, self.cancel["id"]) == {}
        assert_sent_once(events)
        assert rt.gave_up == []


class CancelDuringSubmissionFlow(CancelFlow):
    """The cancel is delivered while backup.start is being handled (or retried): it is never lost."""

    delivered = False

    def run(self, rt: Runtime) -> None:
        rt.command(self.backup.command)
        if not self.delivered:  # the clean run: the cancel comes after the submission
            rt.command(self.cancel)
        rt.run_batch()

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        def deliver_cancel() -> None:
            self.delivered = True
            background_jobs(self.cancel, QuickContext())
        return deliver_cancel

    def check(self, rt: Runtime) -> None:
        events, alerts = rt.received()
        if kinds(events, self.cancel["id"]) == {"command.rejected": 1}:
            # Delivered before the job's record existed: "no such job", and the backup runs.
            assert get_job(self.job_id)["state"] == "SUCCEEDED"
            return
        self.check_cancelled(rt, events, alerts)


class RegisterFlow:
    """The engine registers its recovery point, retrying a call that failed, as engine/catalog.py does."""

    def __init__(self, world: World):
        self.asset, self.point = unique("vol-"), unique("rp-")
        self.command = register_command(VAULT, self.asset, self.point)
        self.answers: list[dict[str, Any]] = []

    def run(self, rt: Runtime) -> None:
        armed = rt.calls.function(catalog)
        for _ in range(3):
            try:
                self.answers.append(armed(self.command, rt.context))
                return
            except Exception:  # noqa: BLE001 - an ambiguous failure: the engine registers again
                continue

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: self.answers.append(catalog(self.command, QuickContext()))

    def check(self, rt: Runtime) -> None:
        events, _ = rt.received()
        assert kinds(events, self.command["id"]) == {"recovery-point.created": 1}
        assert_sent_once(events)
        assert self.answers and all(a["recoveryPoint"]["manifestKey"] == self.command["payload"]["manifestKey"]
                                    for a in self.answers), "an answer without the stored point"
        stored = aws_table(table_name(tables.RECOVERY_POINTS)).get_item(
            Key={"assetId": self.asset, "recoveryPointId": self.point})["Item"]
        assert stored["status"] == "available"


class InventoryFlow:
    """An EBS volume notification: the asset is recorded and announced once."""

    def __init__(self, world: World):
        self.volume = f"vol-{next(_serial):017x}"
        arn = f"arn:aws:ec2:{REGION}:123456789012:volume/{self.volume}"
        self.event = eventbridge("aws.ec2", "EBS Volume Notification",
                                 {"event": "createVolume", "result": "available", "cause": ""}, [arn])

    def run(self, rt: Runtime) -> None:
        rt.invoke_async(inventory, self.event, "inventory")

    def duplicate(self, rt: Runtime) -> Callable[[], Any]:
        return lambda: inventory(self.event, QuickContext())

    def check(self, rt: Runtime) -> None:
        events, _ = rt.received()
        assert kinds(events, self.event["id"]) == {"inventory.changed": 1}
        assert_sent_once(events)
        asset = aws_table(table_name(tables.ASSETS)).get_item(Key={"assetId": self.volume})["Item"]
        assert asset["state"] == "available"
        assert rt.gave_up == []


FLOWS: dict[str, Callable[[World], Any]] = {
    "backup": lambda w: JobFlow(w, "backup"),
    "restore": lambda w: JobFlow(w, "restore"),
    "scan": lambda w: JobFlow(w, "scan"),
    "expire-compact": ExpireFlow,
    "server-start-stop": ServerFlow,
    "cancel": CancelFlow,
    "register": RegisterFlow,
    "inventory": InventoryFlow,
}


def run_once(world: World, calls: AwsCalls, make_flow: Callable[[World], Any], fault: Fault | None = None,
             fail_at: int | None = None, duplicate_at: int | None = None) -> list[tuple[str, str]]:
    """One run of the flow with the planned fault or duplicate; checks it; returns the calls it made."""
    with calls.arming(False):
        flow = make_flow(world)  # set-up (snapshots, registered points) is not part of the flow
    calls.effects = []
    rt = Runtime(world, calls)
    calls.plan(fault, fail_at, duplicate_at, flow.duplicate(rt) if duplicate_at else None)
    flow.run(rt)
    made = list(calls.calls)
    calls.plan()
    flow.check(rt)
    return made


def every_call(world: World, calls: AwsCalls, make_flow: Callable[[World], Any], fault: Fault | None = None) -> int:
    """Run the flow cleanly, then once per call with the fault (or else a duplicate) at that call."""
    clean = run_once(world, calls, make_flow)
    assert 0 < len(clean) <= MAX_CALLS
    for number, (service, operation) in enumerate(clean, start=1):
        if fault and fault.applied and operation.startswith(READS):
            continue  # a read that "took effect" changed nothing: the same as the refused read run before
        try:
            if fault:
                run_once(world, calls, make_flow, fault=fault, fail_at=number)
            else:
                run_once(world, calls, make_flow, duplicate_at=number)
        except AssertionError as error:
            what = fault.name if fault else "duplicate"
            raise AssertionError(f"{what} at call {number} of {len(clean)} ({service} {operation}): {error}") \
                from error
    return len(clean)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_each_call_failing_once_leaves_exactly_once_effects(world, calls, flow, fault: Fault):
    every_call(world, calls, FLOWS[flow], fault=fault)


@pytest.mark.parametrize("flow", ["backup", "server-start-stop", "register", "expire-compact", "inventory"])
def test_a_duplicate_delivered_mid_flight_leaves_exactly_once_effects(world, calls, flow):
    every_call(world, calls, FLOWS[flow])


def test_a_cancel_delivered_at_any_point_of_a_submission_is_not_lost(world, calls):
    every_call(world, calls, CancelDuringSubmissionFlow)

"""Lambda's, SQS's, EventBridge's and Batch's part of the command flow, with their retries, around the real
handlers whose AWS calls `AwsCalls` may fail (tests/lambdas/faults.py).

- SQS → router: a message the router reports failed is received again (partial batch response).
- Router → service: an asynchronous invocation that raises is retried (Lambda: two retries).
- Batch: every submitted Batch job starts and its engine claims the job record (engine/jobs.py, the real
  claim): the claimed one runs to `outcome`; a terminated one, or one whose claim is refused, ends FAILED.
  Batch's state changes reach Job status through EventBridge (asynchronous, retried).
- DynamoDB stream → Job status: the outbox is sent, failed records retried (tests/lambdas/world.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elastio_contract import tables
from engine.jobs import JobRecord
from lambdas.background_jobs.handler import handler as background_jobs
from lambdas.catalog.handler import handler as catalog
from lambdas.inventory.handler import handler as inventory
from lambdas.job_status.handler import handler as job_status
from lambdas.provisioner.handler import handler as provisioner
from lambdas.router.handler import handler as router
from tests.lambdas.conftest import LambdaContext
from tests.lambdas.faults import AwsCalls
from tests.lambdas.messages import batch_state_change
from tests.lambdas.poller import poll_once, send
from tests.lambdas.world import FUNCTION_KEYS, World, aws_client, table_name

ASYNC_ATTEMPTS = 3  # Lambda: the first attempt and two retries (the connector's maximum_retry_attempts=2)
SQS_RECEIVES = 5  # the command queue's maxReceiveCount (src/elastio_pulumi/connector.py COMMAND_MAX_RECEIVES)


@dataclass
class QuickContext(LambdaContext):
    """Between two deliveries of a message SQS waits out the visibility timeout (six times the function
    timeout), so a failed attempt's Powertools "in progress" marker has expired by the redelivery: 1 ms left."""

    def get_remaining_time_in_millis(self) -> int:
        return 1


@dataclass
class Runtime:
    world: World
    calls: AwsCalls
    context: LambdaContext = field(default_factory=QuickContext)
    gave_up: list[tuple[str, dict]] = field(default_factory=list)  # → failed-invocations queue
    claims: dict[str, str | None] = field(default_factory=dict)  # Batch job id → refusal (None: claimed)
    _invocations_done: int = 0
    _batch_done: int = 0

    def __post_init__(self) -> None:
        self.services: dict[str, Callable[..., Any]] = {
            FUNCTION_KEYS["backgroundJobs"]: background_jobs, FUNCTION_KEYS["catalog"]: catalog,
            FUNCTION_KEYS["jobStatus"]: job_status, FUNCTION_KEYS["provisioner"]: provisioner,
            FUNCTION_KEYS["inventory"]: inventory,
        }

    # ---- deliveries ----------------------------------------------------------------------------------
    def invoke_async(self, handler: Callable[..., Any], event: dict[str, Any], name: str = "") -> Any:
        """An asynchronous invocation with Lambda's retries; recorded as given up after the last one."""
        armed = self.calls.function(handler)
        for _ in range(ASYNC_ATTEMPTS):
            try:
                return armed(event, self.context)
            except Exception:  # noqa: BLE001 - Lambda retries on any error
                continue
        self.gave_up.append((name, event))
        return None

    def command(self, envelope: dict[str, Any]) -> None:
        """The tenant sends a command; everything it sets off runs to the end (Batch aside)."""
        send(self.world.command_queue_url, json.dumps(envelope))
        self.settle()

    def settle(self) -> None:
        armed_router = self.calls.function(router)
        for _ in range(SQS_RECEIVES):
            if poll_once(self.world.command_queue_url, armed_router, self.context) is None:
                break
            self.deliver_invocations()
        self.deliver_invocations()

    def deliver_invocations(self) -> None:
        invocations = self.calls.invocations()
        for function_name, payload in invocations[self._invocations_done:]:
            self._invocations_done += 1
            self.invoke_async(self.services[function_name], payload, function_name)

    def run_batch(self, outcome: str = "SUCCEEDED") -> None:
        """Every Batch job submitted since the last call starts, claims its record and ends."""
        jobs = self.calls.batch_jobs()
        for batch_job_id, parameters in jobs[self._batch_done:]:
            self._batch_done += 1
            record = JobRecord(aws_client("dynamodb"), table_name(tables.JOBS), parameters["jobId"])
            name = f"elastio-job-{parameters['jobId']}"
            if batch_job_id in self.calls.terminated():
                statuses = ["FAILED"]  # TerminateJob: it never ran
            else:
                refusal = self.claims[batch_job_id] = record.claim(batch_job_id)
                statuses = ["RUNNING", outcome] if refusal is None else ["RUNNING", "FAILED"]
            for status in statuses:
                event = batch_state_change(name, batch_job_id, status, dict(parameters))
                self.invoke_async(job_status, event, "job_status")

    def deliver_outbox(self) -> None:
        self.world.outbox_stream.deliver_all(sender=self.calls.function(job_status))

    # ---- what the tenant and the operators got -----------------------------------------------------------
    def received(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        self.deliver_outbox()
        with self.calls.arming(False):
            return self.world.tenant_events(), self.world.alerts()

    def effective_batch_jobs(self) -> list[str]:
        """Batch jobs that ran the engine with effects: not terminated and holding the claim."""
        return [b for b, refusal in self.claims.items() if refusal is None and b not in self.calls.terminated()]

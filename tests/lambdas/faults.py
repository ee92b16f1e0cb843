"""Fault injection for the command flow: every AWS call a function makes can fail, and is then retried
the way SQS, Lambda, EventBridge and DynamoDB Streams retry.

`AwsCalls` wraps botocore's `BaseClient._make_api_call` (every client, including the ones behind boto3
resources) while a function runs ("armed"): it numbers the calls and fails the n-th once, either

- THROTTLED: refused before it took effect (what a ThrottlingException after the SDK's retries means), or
- LOST_REPLY: it took effect and the caller got a 500 anyway (AWS documents a 5xx as "the request may have
  succeeded"), the case that makes write-then-act code do things twice;

or, instead of failing, runs a whole duplicate invocation just before the n-th call (SQS delivering the same
message to a second poller mid-flight). Calls made by the test itself (building the world, draining
queues) are not armed and never fail.

In-process moto plus two small in-memory parts moto lacks: ECS RunTask for Fargate tasks (with the
`clientToken` idempotency AWS documents) and the DynamoDB stream (tests/lambdas/world.py OutboxStream).
Everything runs in one process with no network, so the whole matrix takes seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.lambdas.world import REGION


@dataclass(frozen=True)
class Fault:
    name: str
    code: str
    status: int
    applied: bool  # whether the call took effect before the caller saw the error


THROTTLED = Fault("throttled", "ThrottlingException", 400, applied=False)
LOST_REPLY = Fault("lost-reply", "InternalServerError", 500, applied=True)
FAULTS = (THROTTLED, LOST_REPLY)


@dataclass
class Effect:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


class FakeEcs:
    """The ECS calls of the Provisioner (moto 5 cannot run awsvpc Fargate tasks).

    RunTask with a clientToken seen before returns the task it started then, as ECS does
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, `clientToken`).
    """

    def __init__(self) -> None:
        self.tasks: dict[str, str] = {}  # task ARN -> lastStatus
        self._by_token: dict[str, str] = {}

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "RunTask":
            token = params.get("clientToken") or str(uuid.uuid4())
            if token not in self._by_token:
                cluster = params["cluster"].rsplit("/", 1)[-1]
                arn = f"arn:aws:ecs:{REGION}:123456789012:task/{cluster}/{uuid.uuid4().hex}"
                self._by_token[token] = arn
                self.tasks[arn] = "PROVISIONING"
            arn = self._by_token[token]
            return {"tasks": [{"taskArn": arn, "lastStatus": self.tasks[arn]}], "failures": []}
        if operation == "DescribeTasks":
            return {"tasks": [{"taskArn": a, "lastStatus": self.tasks[a]} for a in params["tasks"]
                              if a in self.tasks], "failures": []}
        if operation == "StopTask":
            self.tasks[params["task"]] = "STOPPED"
            return {"task": {"taskArn": params["task"], "lastStatus": "STOPPED"}}
        raise AssertionError(f"FakeEcs does not answer {operation}")

    def running(self) -> list[str]:
        return [arn for arn, status in self.tasks.items() if status != "STOPPED"]


@dataclass
class AwsCalls:
    fault: Fault | None = None
    fail_at: int | None = None
    duplicate_at: int | None = None
    duplicate: Callable[[], Any] | None = None
    count: int = 0
    armed: bool = False
    suspended: bool = False  # while an interleaved duplicate runs: its calls are neither counted nor failed
    after_operation: str | None = None  # run `after` as soon as this operation has taken effect
    after: Callable[[], Any] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    ecs: FakeEcs = field(default_factory=FakeEcs)

    def plan(self, fault: Fault | None = None, fail_at: int | None = None,
             duplicate_at: int | None = None, duplicate: Callable[[], Any] | None = None) -> None:
        self.fault, self.fail_at, self.duplicate_at, self.duplicate = fault, fail_at, duplicate_at, duplicate
        self.count = 0
        self.calls = []

    @contextmanager
    def arming(self, armed: bool = True) -> Iterator[None]:
        previous, self.armed = self.armed, armed
        try:
            yield
        finally:
            self.armed = previous

    def function(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """The handler as Lambda runs it here: with its AWS calls armed."""
        def run(*args: Any) -> Any:
            with self.arming():
                return handler(*args)
        return run

    def install(self, monkeypatch: Any) -> None:
        original = BaseClient._make_api_call

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if not self.armed or self.suspended:
                return self._perform(original, client, service, operation, params)
            self.count += 1
            number = self.count
            self.calls.append((service, operation))
            if number == self.duplicate_at and self.duplicate:
                duplicate, self.duplicate = self.duplicate, None
                self._interleave(duplicate)  # e.g. a second delivery of the same message runs to the end
            failing = number == self.fail_at and self.fault is not None
            if failing and not self.fault.applied:
                raise self._error(operation)
            result = self._perform(original, client, service, operation, params)
            if operation == self.after_operation and self.after:
                after, self.after = self.after, None
                self._interleave(after)  # e.g. the event AWS emits the moment the call is in
            if failing:
                raise self._error(operation)
            return result

        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)

    def _interleave(self, action: Callable[[], Any]) -> None:
        """Run another invocation in the middle of this one, unfaulted and uncounted."""
        self.suspended = True
        try:
            action()
        finally:
            self.suspended = False

    def _perform(self, original: Callable[..., Any], client: BaseClient, service: str, operation: str,
                 params: dict[str, Any]) -> Any:
        if service == "ecs" and operation in ("RunTask", "DescribeTasks", "StopTask"):
            result = self.ecs.answer(operation, params)
        else:
            result = original(client, operation, params)
        self.effects.append(Effect(service, operation, params, result))
        return result

    def _error(self, operation: str) -> ClientError:
        assert self.fault is not None
        return ClientError({"Error": {"Code": self.fault.code, "Message": f"injected {self.fault.name}"},
                            "ResponseMetadata": {"HTTPStatusCode": self.fault.status}}, operation)

    # ---- what took effect --------------------------------------------------------------------------------
    def of(self, service: str, operation: str) -> list[Effect]:
        return [e for e in self.effects if (e.service, e.operation) == (service, operation)]

    def batch_jobs(self) -> list[tuple[str, dict[str, str]]]:
        """Batch jobs submitted so far: (Batch job id, parameters)."""
        return [(e.response["jobId"], e.params["parameters"]) for e in self.of("batch", "SubmitJob")]

    def terminated(self) -> set[str]:
        return {e.params["jobId"] for e in self.of("batch", "TerminateJob")}

    def invocations(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e.params["FunctionName"], json.loads(e.params["Payload"])) for e in self.of("lambda", "Invoke")]

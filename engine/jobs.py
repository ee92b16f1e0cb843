"""The engine's job record in the jobs table: state, progress and result (layout in docs/CONTRACT.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _attribute(value) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    return {"S": str(value)}


class JobRecord:
    """Writes progress at most every `interval_seconds` (DynamoDB writes cost money), and always the last."""

    def __init__(
        self,
        dynamodb,
        table_name: str | None,
        job_id: str,
        interval_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._db = dynamodb
        self._table = table_name
        self.job_id = job_id
        self._interval = interval_seconds
        self._clock = clock
        self._last_write: float | None = None
        self.heartbeat: Callable[[], None] = lambda: (
            None
        )  # backups renew their lease with each progress write

    def _update(self, values: dict) -> None:
        if not self._table:
            return
        values = {**values, "updatedAt": utc_now_iso()}
        names = {f"#a{i}": key for i, key in enumerate(values)}
        self._db.update_item(
            TableName=self._table,
            Key={"jobId": {"S": self.job_id}},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": _attribute(v) for i, v in enumerate(values.values())},
        )

    def claim(self, batch_job_id: str | None) -> str | None:
        """Claim the job record for this Batch job before any effect; None if claimed, else why not.

        Background jobs cannot submit a Batch job idempotently (SubmitJob has no token), so two Batch jobs
        may exist for one command; only the one whose id the record holds may act (lambdas/shared/jobs.py).
        The record takes the first id written, by Background jobs or by this claim, whichever comes first;
        a retried attempt of the same Batch job (same AWS_BATCH_JOB_ID) claims again. A job cancelled
        before it started is not run either.
        """
        if not self._table or not batch_job_id:
            return None  # not under Batch (a local run): nothing to deduplicate
        ended = {f":ended{i}": {"S": state} for i, state in enumerate(TERMINAL_STATES)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"jobId": {"S": self.job_id}},
                UpdateExpression="SET batchJobId = if_not_exists(batchJobId, :me), claimedBy = :me, "
                "claimedAt = :now",
                # No record at all: a job an operator submitted by hand (e.g. rebuild-index), nobody else's.
                ConditionExpression="attribute_not_exists(jobId) OR ((attribute_not_exists(batchJobId) OR "
                "batchJobId = :me) AND attribute_not_exists(cancelRequested) AND "
                "NOT #state IN (:ended0, :ended1, :ended2))",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":me": {"S": batch_job_id}, ":now": {"S": utc_now_iso()}, **ended},
            )
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        record = self._db.get_item(TableName=self._table, Key={"jobId": {"S": self.job_id}},
                                   ConsistentRead=True).get("Item", {})
        owner = record.get("batchJobId", {}).get("S")
        if owner and owner != batch_job_id:
            return f"job {self.job_id} belongs to Batch job {owner}; this one is a duplicate submission"
        return f"job {self.job_id} was cancelled or has ended ({record.get('state', {}).get('S')})"

    def running(self) -> None:
        # The job's `state` is Job status's (from Batch's events, only forward); the engine notes its start.
        self._update({"engineStartedAt": utc_now_iso()})

    def progress(
        self, bytes_total: int, bytes_done: int, chunks_new: int, chunks_reused: int, final: bool = False
    ) -> None:
        now = self._clock()
        if not final and self._last_write is not None and now - self._last_write < self._interval:
            return
        self._last_write = now
        percent = 100 if bytes_total == 0 else min(100, int(bytes_done * 100 / bytes_total))
        self._update(
            {
                "progress": {
                    "bytesTotal": bytes_total,
                    "bytesDone": bytes_done,
                    "chunksNew": chunks_new,
                    "chunksReused": chunks_reused,
                    "percent": percent,
                }
            }
        )
        self.heartbeat()

    def result(self, result: dict) -> None:
        """What the job produced (restored snapshot id, scan findings, compaction figures)."""
        self._update({"result": result})

    def failed(self, reason: str) -> None:
        self._update({"reason": reason})

    def operations(self, counts: dict) -> None:
        """AWS calls by API and bytes moved by this job (engine/opcount.py), success or not."""
        self._update({"operations": counts})

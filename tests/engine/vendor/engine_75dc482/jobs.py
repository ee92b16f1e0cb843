"""The engine's job record in the jobs table: state, progress and result (layout in docs/CONTRACT.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


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

    def running(self) -> None:
        self._update({"state": "RUNNING"})

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

"""Per-job operation counts: AWS calls by API, and bytes read and written, for the job record.

These are what the vault is billed for (requests, and the bytes behind them), counted where the engine
makes the calls, so the cost model can be calibrated against a real run rather than a guess. Counted with
botocore's event hooks on the job's session, so every client made from it is included.
"""

from __future__ import annotations

import threading
from collections import Counter

# Bytes moved, per API: the request parameter (writes) or response field (reads) that carries the length.
READ_LENGTH = {"s3:GetObject": "ContentLength", "ebs:GetSnapshotBlock": "DataLength"}
WRITE_LENGTH = {"s3:PutObject": "Body", "ebs:PutSnapshotBlock": "DataLength"}


def _name(model) -> str:
    return f"{model.service_model.endpoint_prefix}:{model.name}"


class OperationCounter:
    def __init__(self):
        self.calls: Counter[str] = Counter()
        self.bytes_read = 0
        self.bytes_written = 0
        self._lock = threading.Lock()  # EBS reads run on a thread pool

    def attach(self, session) -> None:
        """Count every call of clients made from this boto3 session from now on."""
        session.events.register("provide-client-params", self._before)
        session.events.register("after-call", self._after)

    def _before(self, params, model, **_) -> None:
        field = WRITE_LENGTH.get(_name(model))
        if field and field in params:
            value = params[field]
            size = value if isinstance(value, int) else len(value) if hasattr(value, "__len__") else 0
            with self._lock:
                self.bytes_written += size

    def _after(self, model, parsed, **_) -> None:
        name = _name(model)
        with self._lock:
            self.calls[name] += 1
            field = READ_LENGTH.get(name)
            if field and isinstance(parsed, dict):
                self.bytes_read += int(parsed.get(field) or 0)

    def as_dict(self) -> dict:
        with self._lock:
            return {"calls": dict(sorted(self.calls.items())), "bytesRead": self.bytes_read,
                    "bytesWritten": self.bytes_written}  # fmt: skip

"""An in-memory EBS direct APIs client that behaves the way AWS does where moto does not.

Shared by the engine tests and the end-to-end tests (import `tests.fakes.ebs`). Pass `FakeEbs()` wherever the
engine takes `session.client("ebs")`. What it keeps from AWS (botocore's `ebs` service model and the EBS
direct APIs reference, https://docs.aws.amazon.com/ebs/latest/APIReference/):
- blocks are 512 KiB (`BlockSize` 524288); `VolumeSize` is in GiB; PutSnapshotBlock takes exactly one block
  with its SHA256 checksum (base64) and refuses a mismatch; GetSnapshotBlock returns the checksum;
- parameters are validated against the service model as botocore does (MaxResults 100..10000, required names);
- listings are paginated with `NextToken`, and a page may hold fewer blocks than `MaxResults`, even none
  ("the request can return less blocks than MaxResults or an empty array of blocks"): `page_size` sets how
  few; `StartingBlockIndex` is honoured and ignored when `NextToken` is given;
- ListChangedBlocks compares both snapshots of one lineage: blocks written after the first snapshot (even with
  the same bytes), blocks that exist only in the second (new data) and blocks only in the first (trimmed),
  the latter with only a `FirstBlockToken`; snapshots of different volumes are UNRELATED_SNAPSHOTS;
- block tokens belong to one snapshot: a token of another snapshot is INVALID_BLOCK_TOKEN;
- block tokens are temporary: "They change on the expiry timestamp specified for them" (Concepts for EBS
  direct APIs, https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html). Every listing page
  carries `ExpiryTime` (listing time + `token_seconds`, on the fake's `clock`, which tests replace with a
  virtual one), and GetSnapshotBlock refuses a token past its expiry (ValidationException
  INVALID_BLOCK_TOKEN: the API reference names no other reason for a token it will not take);
- tokens match the API's pattern `^[A-Za-z0-9+/=]+$` (standard base64, at most 256 characters);
- block indexes come back unique and in numerical order ("Frequently asked questions for EBS direct APIs").
A page costs memory and time in proportion to the page, not to the snapshot (sorted indexes, bisection), so
tests can measure the engine's memory with snapshots of many blocks.
The test side builds volumes and snapshots through `volume()` and `take_snapshot()`, as EC2 would. `calls`
counts requests by operation and `latency_seconds` delays each one (throughput benchmarks).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import io
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator

BLOCK_SIZE = 512 * 1024
GIB = 1024**3
_MODEL = botocore.session.get_session().get_service_model("ebs")


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class _Block:
    data: bytes
    write_id: int  # which write produced these bytes: the lineage's notion of "changed"
    # AWS's side of GetSnapshotBlock, computed when the block is written: throughput benchmarks run this fake in
    # the engine's process, where hashing every read block would charge AWS's work to the engine.
    checksum: str = ""

    def __post_init__(self) -> None:
        self.checksum = self.checksum or sha256_b64(self.data)


@dataclass
class FakeVolume:
    """An EBS volume on the world side: tests write and trim blocks, then snapshot it."""

    owner: FakeEbs
    volume_id: str
    size_gib: int
    blocks: dict[int, _Block] = field(default_factory=dict)

    def write(self, index: int, data: bytes, checksum: str = "") -> None:
        """Write one block; a shorter `data` is zero-padded as a partial write of the block would leave it.
        `checksum` (the block's, when the caller already has it) saves hashing the same bytes again."""
        if not 0 <= index < self.size_gib * GIB // BLOCK_SIZE:
            raise ValueError(f"block {index} is outside a {self.size_gib} GiB volume")
        if len(data) > BLOCK_SIZE:
            raise ValueError(f"a block holds {BLOCK_SIZE} bytes, not {len(data)}")
        whole = len(data) == BLOCK_SIZE
        data = bytes(data).ljust(BLOCK_SIZE, b"\0")
        self.blocks[index] = _Block(data, next(self.owner._write_ids), checksum if whole else "")

    def write_bytes(self, offset: int, data: bytes) -> None:
        """Write `data` at byte `offset`, block by block (read-modify-write of partly covered blocks)."""
        end = offset + len(data)
        for index in range(offset // BLOCK_SIZE, -(-end // BLOCK_SIZE)):
            start = index * BLOCK_SIZE
            current = bytearray(self.blocks[index].data if index in self.blocks else bytes(BLOCK_SIZE))
            lo, hi = max(offset, start), min(end, start + BLOCK_SIZE)
            current[lo - start : hi - start] = data[lo - offset : hi - offset]
            self.write(index, bytes(current))

    def trim(self, index: int) -> None:
        """Discard a block (TRIM): later snapshots no longer hold it and it reads as zeros."""
        self.blocks.pop(index, None)

    def read_bytes(self) -> bytes:
        image = bytearray(self.size_gib * GIB)
        for index, block in self.blocks.items():
            image[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE] = block.data
        return bytes(image)


@dataclass
class _Snapshot:
    snapshot_id: str
    lineage: str  # the volume it was taken from (or the snapshot started through StartSnapshot)
    size_gib: int
    blocks: dict[int, _Block]
    status: str = "completed"
    written: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    _order: list[int] | None = None  # the block indexes, sorted (a completed snapshot's blocks never change)

    def order(self) -> list[int]:
        if self._order is None or self.status != "completed":
            self._order = sorted(self.blocks)
        return self._order


class FakeEbs:
    def __init__(
        self,
        page_size: int = 1000,
        latency_seconds: float = 0.0,
        owner_id: str = "123456789012",
        clock: Callable[[], float] = time.time,
        token_seconds: float = 3600.0,
        scan_blocks: int | None = None,
    ):
        self.page_size = page_size
        self.latency_seconds = latency_seconds
        self.owner_id = owner_id
        self.clock = clock
        self.token_seconds = token_seconds
        # A page looks at no more than `scan_blocks` block indexes from where it starts: where blocks are scarce
        # AWS answers "an empty array of blocks" with a NextToken ("Frequently asked questions for EBS direct
        # APIs": "If the changed blocks are scarce in the snapshot, the response may be empty but the API will
        # return a next page token value").
        self.scan_blocks = scan_blocks
        self.refused_tokens = 0  # GetSnapshotBlock calls refused because their token had expired
        self.calls: Counter[str] = Counter()
        self.snapshots: dict[str, _Snapshot] = {}
        self._write_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- the world side (EC2 CreateSnapshot, volumes) ----------------------------------------------------

    def volume(self, size_gib: int = 1) -> FakeVolume:
        return FakeVolume(self, f"vol-{next(self._ids):017x}", size_gib)

    def take_snapshot(self, volume: FakeVolume) -> str:
        snapshot_id = f"snap-{next(self._ids):017x}"
        self.snapshots[snapshot_id] = _Snapshot(snapshot_id, volume.volume_id, volume.size_gib, dict(volume.blocks))
        return snapshot_id

    def image(self, snapshot_id: str) -> bytes:
        """The snapshot's bytes as a volume created from it would read them."""
        snapshot = self.snapshots[snapshot_id]
        return FakeVolume(self, snapshot.lineage, snapshot.size_gib, snapshot.blocks).read_bytes()

    def block_data(self, snapshot_id: str) -> dict[int, bytes]:
        """The blocks a snapshot holds (every other block reads as zeros)."""
        return {index: block.data for index, block in self.snapshots[snapshot_id].blocks.items()}

    def differing_blocks(self, snapshot_id: str, image_path) -> list[int]:
        """Blocks where a (sparse) image file differs from the snapshot, without reading its holes."""
        snapshot = self.snapshots[snapshot_id]
        size = snapshot.size_gib * GIB
        differing = []
        with open(image_path, "rb") as image:
            if os.fstat(image.fileno()).st_size != size:
                return [-1]
            written = set(snapshot.blocks)
            offset = 0
            while offset < size:  # blocks the file holds data in, which the snapshot may not have
                try:
                    offset = os.lseek(image.fileno(), offset, os.SEEK_DATA)
                except OSError:  # ENXIO: only a hole remains
                    break
                end = os.lseek(image.fileno(), offset, os.SEEK_HOLE)
                written |= set(range(offset // BLOCK_SIZE, -(-end // BLOCK_SIZE)))
                offset = end
            for index in sorted(written):
                image.seek(index * BLOCK_SIZE)
                expected = snapshot.blocks[index].data if index in snapshot.blocks else bytes(BLOCK_SIZE)
                if image.read(BLOCK_SIZE) != expected:
                    differing.append(index)
        return differing

    # --- the API -----------------------------------------------------------------------------------------

    def _call(self, operation: str, params: dict) -> None:
        report = ParamValidator().validate(params, _MODEL.operation_model(operation).input_shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
        with self._lock:
            self.calls[operation] += 1
        if self.latency_seconds:
            time.sleep(self.latency_seconds)

    @staticmethod
    def _error(operation: str, code: str, reason: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}, "Reason": reason}, operation)

    def _snapshot(self, operation: str, snapshot_id: str, completed: bool = True) -> _Snapshot:
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None:
            raise self._error(
                operation, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", f"snapshot {snapshot_id} not found"
            )
        if completed and snapshot.status != "completed":
            raise self._error(
                operation, "ValidationException", "INVALID_SNAPSHOT_ID", f"{snapshot_id} is {snapshot.status}"
            )
        return snapshot

    @staticmethod
    def _token(snapshot_id: str, index: int, block: _Block, expires: int) -> str:
        return base64.b64encode(f"{snapshot_id}:{index}:{block.write_id}:{expires}".encode()).decode()

    def _start(self, operation: str, params: dict) -> int:
        if "NextToken" in params:  # "If you specify NextToken, then StartingBlockIndex is ignored."
            try:
                kind, start = base64.b64decode(params["NextToken"], validate=True).decode().split(":")
                if kind != "page":
                    raise ValueError(kind)
                return int(start)
            except (ValueError, UnicodeDecodeError) as error:
                raise self._error(
                    operation, "ValidationException", "INVALID_PAGE_TOKEN", "the page token is invalid"
                ) from error
        return params.get("StartingBlockIndex", 0)

    def _limit(self, operation: str, params: dict) -> int:
        """botocore refuses MaxResults under 100 itself (the model's minimum); the service refuses more than
        10000 ("Valid Range: Minimum value of 100. Maximum value of 10000.", API reference)."""
        requested = params.get("MaxResults", 10000)
        if requested > 10000:
            raise self._error(
                operation, "ValidationException", "INVALID_PARAMETER_VALUE", f"MaxResults {requested} > 10000"
            )
        return min(requested, self.page_size)

    def _response(self, size_gib: int, next_index: int | None, expires: int) -> dict:
        token = base64.b64encode(f"page:{next_index}".encode()).decode() if next_index is not None else None
        response = {
            "ExpiryTime": datetime.fromtimestamp(expires, UTC),
            "VolumeSize": size_gib,
            "BlockSize": BLOCK_SIZE,
        }
        return response | ({"NextToken": token} if token else {})

    def list_snapshot_blocks(self, **params) -> dict:
        self._call("ListSnapshotBlocks", params)
        snapshot = self._snapshot("ListSnapshotBlocks", params["SnapshotId"])
        expires = int(self.clock() + self.token_seconds)
        order = snapshot.order()
        start = self._start("ListSnapshotBlocks", params)
        at = bisect.bisect_left(order, start)
        limit = self._limit("ListSnapshotBlocks", params)
        page = order[at : at + limit]
        scanned_to = start + self.scan_blocks if self.scan_blocks else None
        if scanned_to is not None:
            page = [i for i in page if i < scanned_to]
        rest = at + len(page)
        blocks = [
            {"BlockIndex": i, "BlockToken": self._token(snapshot.snapshot_id, i, snapshot.blocks[i], expires)}
            for i in page
        ]
        next_index = None
        if rest < len(order):
            next_index = order[rest] if len(page) == limit or scanned_to is None else scanned_to
        return self._response(snapshot.size_gib, next_index, expires) | {"Blocks": blocks}

    def list_changed_blocks(self, **params) -> dict:
        self._call("ListChangedBlocks", params)
        second = self._snapshot("ListChangedBlocks", params["SecondSnapshotId"])
        first = self._snapshot("ListChangedBlocks", params["FirstSnapshotId"]) if "FirstSnapshotId" in params else None
        if first is not None and first.lineage != second.lineage:
            raise self._error(
                "ListChangedBlocks",
                "ValidationException",
                "UNRELATED_SNAPSHOTS",
                f"{first.snapshot_id} and {second.snapshot_id} are not of the same volume lineage",
            )
        expires = int(self.clock() + self.token_seconds)
        start, limit = self._start("ListChangedBlocks", params), self._limit("ListChangedBlocks", params)
        before = first.blocks if first else {}
        before_order = first.order() if first else []
        after_order = second.order()
        # Both snapshots' indexes from `start`, merged in order (each index once): only what the page needs.
        candidates = _merged_from(before_order, after_order, start)
        scanned_to = start + self.scan_blocks if self.scan_blocks else None
        changed, next_index = [], None
        for index in candidates:
            if scanned_to is not None and index >= scanned_to:
                next_index = scanned_to
                break
            old, new = before.get(index), second.blocks.get(index)
            if old is not None and new is not None and old.write_id == new.write_id:
                continue
            if len(changed) == limit:
                next_index = index
                break
            entry = {"BlockIndex": index}
            if old is not None:
                entry["FirstBlockToken"] = self._token(first.snapshot_id, index, old, expires)
            if new is not None:
                entry["SecondBlockToken"] = self._token(second.snapshot_id, index, new, expires)
            changed.append(entry)
        return self._response(second.size_gib, next_index, expires) | {"ChangedBlocks": changed}

    def get_snapshot_block(self, **params) -> dict:
        self._call("GetSnapshotBlock", params)
        snapshot = self._snapshot("GetSnapshotBlock", params["SnapshotId"])
        index = params["BlockIndex"]
        block = snapshot.blocks.get(index)
        try:
            expires = int(base64.b64decode(params["BlockToken"], validate=True).decode().rsplit(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            expires = None
        if (
            block is None
            or expires is None
            or params["BlockToken"] != self._token(snapshot.snapshot_id, index, block, expires)
        ):
            raise self._error(
                "GetSnapshotBlock",
                "ValidationException",
                "INVALID_BLOCK_TOKEN",
                f"the block token is not valid for block {index} of {snapshot.snapshot_id}",
            )
        if self.clock() >= expires:
            with self._lock:
                self.refused_tokens += 1
            raise self._error(
                "GetSnapshotBlock",
                "ValidationException",
                "INVALID_BLOCK_TOKEN",
                f"the block token of block {index} of {snapshot.snapshot_id} has expired",
            )
        return {
            "DataLength": BLOCK_SIZE,
            "BlockData": io.BytesIO(block.data),
            "Checksum": block.checksum,
            "ChecksumAlgorithm": "SHA256",
        }

    def start_snapshot(self, **params) -> dict:
        self._call("StartSnapshot", params)
        snapshot_id = f"snap-{next(self._ids):017x}"
        parent = params.get("ParentSnapshotId")
        blocks = dict(self._snapshot("StartSnapshot", parent).blocks) if parent else {}
        lineage = self.snapshots[parent].lineage if parent else snapshot_id
        tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
        self.snapshots[snapshot_id] = _Snapshot(
            snapshot_id, lineage, params["VolumeSize"], blocks, status="pending", tags=tags
        )
        return {
            "SnapshotId": snapshot_id,
            "OwnerId": self.owner_id,
            "Status": "pending",
            "StartTime": datetime.now(UTC),
            "VolumeSize": params["VolumeSize"],
            "BlockSize": BLOCK_SIZE,
            "Tags": params.get("Tags", []),
            **({"ParentSnapshotId": parent} if parent else {}),
        }

    def put_snapshot_block(self, **params) -> dict:
        self._call("PutSnapshotBlock", params)
        snapshot = self._snapshot("PutSnapshotBlock", params["SnapshotId"], completed=False)
        data = params["BlockData"]
        data = data.read() if hasattr(data, "read") else bytes(data)
        index = params["BlockIndex"]
        if snapshot.status != "pending":
            raise self._error("PutSnapshotBlock", "ValidationException", "INVALID_SNAPSHOT_ID", "not pending")
        if params["DataLength"] != BLOCK_SIZE or len(data) != BLOCK_SIZE:
            raise self._error(
                "PutSnapshotBlock", "ValidationException", "INVALID_BLOCK", f"a block is {BLOCK_SIZE} bytes"
            )
        if not 0 <= index < snapshot.size_gib * GIB // BLOCK_SIZE:
            raise self._error("PutSnapshotBlock", "ValidationException", "INVALID_BLOCK", f"block {index}")
        if params["ChecksumAlgorithm"] != "SHA256" or params["Checksum"] != sha256_b64(data):
            raise self._error(
                "PutSnapshotBlock", "ValidationException", "INVALID_CONTENT_ENCODING", "checksum mismatch"
            )
        with self._lock:
            snapshot.blocks[index] = _Block(data, next(self._write_ids))
            snapshot.written += 1
        return {"Checksum": params["Checksum"], "ChecksumAlgorithm": "SHA256"}

    def complete_snapshot(self, **params) -> dict:
        self._call("CompleteSnapshot", params)
        snapshot = self._snapshot("CompleteSnapshot", params["SnapshotId"], completed=False)
        # A count that disagrees with the blocks written leaves the snapshot in error, as AWS does.
        snapshot.status = "completed" if params["ChangedBlocksCount"] == snapshot.written else "error"
        return {"Status": snapshot.status}


def _merged_from(first: list[int], second: list[int], start: int):
    """The indexes of two sorted lists from `start` on, in order, each once (lazily)."""
    i, j = bisect.bisect_left(first, start), bisect.bisect_left(second, start)
    while i < len(first) or j < len(second):
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if b is None or (a is not None and a < b):
            yield a
            i += 1
        elif a is None or b < a:
            yield b
            j += 1
        else:
            yield a
            i += 1
            j += 1

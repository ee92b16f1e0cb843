"""The one place the engine calls the EBS direct APIs (reading and writing snapshot blocks).

Block size and volume size always come from AWS's responses (512 KiB on AWS; other values work too).
"""

from __future__ import annotations

import base64
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

GIB = 1024**3


class EbsDataError(RuntimeError):
    pass


@dataclass(frozen=True)
class SnapshotLayout:
    volume_bytes: int
    block_size: int
    block_tokens: dict[int, str]  # blocks holding data; every other block reads as zeros


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class EbsDirect:
    def __init__(self, ebs_client, max_workers: int = 16):
        self._ebs = ebs_client
        self._max_workers = max_workers

    def layout(self, snapshot_id: str) -> SnapshotLayout:
        tokens: dict[int, str] = {}
        volume_gib = block_size = None
        kwargs: dict = {"SnapshotId": snapshot_id, "MaxResults": 10000}
        while True:
            page = self._ebs.list_snapshot_blocks(**kwargs)
            volume_gib, block_size = page["VolumeSize"], page["BlockSize"]
            tokens.update({b["BlockIndex"]: b["BlockToken"] for b in page.get("Blocks", [])})
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return SnapshotLayout(int(volume_gib) * GIB, int(block_size), tokens)

    def changed_blocks(self, first_snapshot_id: str, second_snapshot_id: str) -> set[int]:
        """Blocks that differ between two snapshots of one volume lineage (written, changed or zeroed)."""
        changed: set[int] = set()
        kwargs: dict = {
            "FirstSnapshotId": first_snapshot_id,
            "SecondSnapshotId": second_snapshot_id,
            "MaxResults": 10000,
        }
        while True:
            page = self._ebs.list_changed_blocks(**kwargs)
            changed.update(b["BlockIndex"] for b in page.get("ChangedBlocks", []))
            if not page.get("NextToken"):
                return changed
            kwargs["NextToken"] = page["NextToken"]

    def read_block(self, snapshot_id: str, index: int, token: str) -> bytes:
        response = self._ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)
        data = response["BlockData"].read()
        if response.get("ChecksumAlgorithm") == "SHA256" and response.get("Checksum"):
            if _sha256_b64(data) != response["Checksum"]:
                raise EbsDataError(f"{snapshot_id} block {index}: data does not match the checksum AWS sent")
        return data

    def read_blocks(self, snapshot_id: str, wanted: Iterable[tuple[int, str]]) -> Iterator[tuple[int, bytes]]:
        """Blocks in the order given; reads run concurrently because each read is a network round trip."""
        # A bounded window of reads in flight: enough to hide latency, without buffering the volume.
        window: deque = deque()
        with ThreadPoolExecutor(self._max_workers) as pool:
            for index, token in wanted:
                window.append((index, pool.submit(self.read_block, snapshot_id, index, token)))
                if len(window) >= 4 * self._max_workers:
                    done_index, future = window.popleft()
                    yield done_index, future.result()
            while window:
                done_index, future = window.popleft()
                yield done_index, future.result()

    def start_snapshot(
        self, volume_bytes: int, description: str, tags: dict[str, str], kms_key_arn: str | None
    ) -> tuple[str, int]:
        extra = {"Encrypted": True, "KmsKeyArn": kms_key_arn} if kms_key_arn else {}
        response = self._ebs.start_snapshot(
            VolumeSize=-(-volume_bytes // GIB),
            Description=description,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **extra,
        )
        return response["SnapshotId"], int(response["BlockSize"])

    def write_block(self, snapshot_id: str, index: int, data: bytes) -> None:
        self._ebs.put_snapshot_block(
            SnapshotId=snapshot_id,
            BlockIndex=index,
            BlockData=data,
            DataLength=len(data),
            Checksum=_sha256_b64(data),
            ChecksumAlgorithm="SHA256",
        )

    def complete_snapshot(self, snapshot_id: str, changed_blocks: int) -> str:
        return self._ebs.complete_snapshot(SnapshotId=snapshot_id, ChangedBlocksCount=changed_blocks)[
            "Status"
        ]

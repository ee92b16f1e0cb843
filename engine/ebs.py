"""The one place the engine calls the EBS direct APIs (reading and writing snapshot blocks).

Block size and volume size always come from AWS's responses (512 KiB on AWS; other values work too).
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import ClientError

GIB = 1024**3

# What the listing relies on (EBS direct APIs reference, ListSnapshotBlocks / ListChangedBlocks,
# https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html, and "Frequently asked
# questions for EBS direct APIs", https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-faq.html):
# - MaxResults is 100..10000, and a page "can return less blocks than MaxResults or an empty array of blocks":
#   only a missing NextToken ends a listing;
# - "If you specify NextToken, then StartingBlockIndex is ignored"; a list from StartingBlockIndex "will start
#   from this block index or the next valid block index";
# - block indexes come back "unique, and in numerical order": a listing can be walked alongside the reads;
# - block tokens "are temporary. They change on the expiry timestamp specified for them" (the page's
#   ExpiryTime; "Concepts for EBS direct APIs", https://docs.aws.amazon.com/ebs/latest/userguide/
#   ebsapi-elements.html). A 16 TiB backup runs for hours, so tokens listed at its start may be gone when
#   their blocks are read: tokens are listed a page at a time as the reads reach them, listed again from the
#   block index (StartingBlockIndex) when their page is about to expire, and a read refused for its token
#   (ValidationException INVALID_BLOCK_TOKEN) lists that block again once.
# Throttling (ThrottlingException, RequestThrottledException) and 5xx are retried by botocore's retry handler
# ("Error retries for EBS direct APIs", https://docs.aws.amazon.com/ebs/latest/userguide/error-retries.html:
# retryable; engine/cli.py configures the EBS client's retries); a ValidationException with any other message
# is not retryable and fails the job.
LIST_PAGE_BLOCKS = 10_000  # MaxResults at most
SHAPE_PAGE_BLOCKS = 100  # MaxResults at least: the first page only says the volume's and the blocks' size
TOKEN_MARGIN_SECONDS = 300  # a page whose tokens expire sooner is listed again before its blocks are read


class EbsDataError(RuntimeError):
    pass


@dataclass(frozen=True)
class SnapshotShape:
    volume_bytes: int
    block_size: int


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _refused_token(error: ClientError) -> bool:
    return (
        error.response.get("Error", {}).get("Code") == "ValidationException"
        and error.response.get("Reason") == "INVALID_BLOCK_TOKEN"
    )


# GetSnapshotBlock reads in flight. Each is a round trip of tens of ms for one 512 KiB block, so 16 capped a
# backup near 16 x 0.5 MiB / 30 ms = 270 MiB/s, below what its CPU pipeline does (engine/pipeline.py); 32
# (the clients' connection pool, engine/cli.py) is ~1,000 requests/s at 30 ms, within the account's default
# 5,000 GetSnapshotBlock requests per second
# (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-resource-quotas.html).
READS_IN_FLIGHT = 32


class _ListedPage:
    """One page of ListSnapshotBlocks: block indexes (8 bytes each) and their tokens, the range of block
    indexes it answers for, and when its tokens expire."""

    def __init__(self, page: dict, first: int):
        blocks = page.get("Blocks", [])
        self.indexes = array("q", (b["BlockIndex"] for b in blocks))
        self.tokens = [b["BlockToken"] for b in blocks]
        self.first = first
        self.next_token = page.get("NextToken")
        # With no NextToken the page answers for every block from `first` on; otherwise up to its last block
        # (an empty page answers for none: its NextToken moves on).
        if not self.next_token:
            self.last = math.inf
        else:
            self.last = self.indexes[-1] if self.indexes else first - 1
        expiry = page.get("ExpiryTime")
        self.expires = expiry.timestamp() if expiry is not None else math.inf


class _TokenCursor:
    """The block tokens of one snapshot, listed a page at a time as the reads reach them (at most one page,
    10,000 tokens, is held). Reads go forward through the volume, so the listing is walked with them; a gap
    larger than the page is skipped by listing from the next block read (StartingBlockIndex)."""

    def __init__(self, ebs: EbsDirect, snapshot_id: str):
        self._direct, self._snapshot_id = ebs, snapshot_id
        self._page: _ListedPage | None = None
        self.pages_listed = 0

    def listed(self, lo: int, hi: int) -> list[tuple[int, str]]:
        """(index, token) of every block with data in [lo, hi), in order."""
        found: list[tuple[int, str]] = []
        position = lo
        while position < hi:
            page = self._page_at(position)
            at = bisect_left(page.indexes, position)
            while at < len(page.indexes) and page.indexes[at] < hi:
                found.append((page.indexes[at], page.tokens[at]))
                at += 1
            if page.last >= hi - 1:
                break
            position = page.last + 1
        return found

    def _page_at(self, position: int) -> _ListedPage:
        page = self._page
        fresh = page is not None and self._direct.clock() < page.expires - TOKEN_MARGIN_SECONDS
        if fresh and page.first <= position <= page.last:
            return page
        kwargs: dict = {"SnapshotId": self._snapshot_id, "MaxResults": LIST_PAGE_BLOCKS}
        if fresh and page.next_token and (not page.indexes or position == page.last + 1):
            kwargs["NextToken"] = page.next_token  # the next page of the same walk (an empty page moves on)
            first = page.last + 1
        else:
            kwargs["StartingBlockIndex"] = position  # a gap, or tokens about to expire: list from here
            first = position
        self._page = _ListedPage(self._direct.client.list_snapshot_blocks(**kwargs), first)
        self.pages_listed += 1
        return self._page


class EbsDirect:
    def __init__(
        self, ebs_client, max_workers: int = READS_IN_FLIGHT, clock: Callable[[], float] = time.time
    ):
        self.client = ebs_client
        self._max_workers = max_workers
        self.clock = clock

    def shape(self, snapshot_id: str) -> SnapshotShape:
        """Volume and block size, from AWS's first page of the listing."""
        page = self.client.list_snapshot_blocks(SnapshotId=snapshot_id, MaxResults=SHAPE_PAGE_BLOCKS)
        return SnapshotShape(int(page["VolumeSize"]) * GIB, int(page["BlockSize"]))

    def snapshot_blocks(self, snapshot_id: str) -> Iterator[int]:
        """Indexes of the blocks holding data, in order, a page at a time (every other block reads as zeros)."""
        kwargs: dict = {"SnapshotId": snapshot_id, "MaxResults": LIST_PAGE_BLOCKS}
        while True:
            page = self.client.list_snapshot_blocks(**kwargs)
            for listed in page.get("Blocks", []):
                yield listed["BlockIndex"]
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]

    def changed_blocks(self, first_snapshot_id: str, second_snapshot_id: str) -> Iterator[int]:
        """Blocks that differ between two snapshots of one volume lineage (written, changed or zeroed), in
        order, a page at a time."""
        kwargs: dict = {
            "FirstSnapshotId": first_snapshot_id,
            "SecondSnapshotId": second_snapshot_id,
            "MaxResults": LIST_PAGE_BLOCKS,
        }
        while True:
            page = self.client.list_changed_blocks(**kwargs)
            for changed in page.get("ChangedBlocks", []):
                yield changed["BlockIndex"]
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]

    def read_block(self, snapshot_id: str, index: int, token: str) -> bytes:
        response = self.client.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)
        data = response["BlockData"].read()
        if response.get("ChecksumAlgorithm") == "SHA256" and response.get("Checksum"):
            if _sha256_b64(data) != response["Checksum"]:
                raise EbsDataError(f"{snapshot_id} block {index}: data does not match the checksum AWS sent")
        return data

    def _fresh_token(self, snapshot_id: str, index: int) -> str:
        page = self.client.list_snapshot_blocks(
            SnapshotId=snapshot_id, StartingBlockIndex=index, MaxResults=SHAPE_PAGE_BLOCKS
        )
        for listed in page.get("Blocks", []):
            if listed["BlockIndex"] == index:
                return listed["BlockToken"]
        raise EbsDataError(f"{snapshot_id} block {index}: listed before, but no longer in the snapshot's listing")

    def _read_listed(self, snapshot_id: str, index: int, token: str) -> bytes:
        """A block read with the token its page gave; a token AWS refuses (expired, or changed) is listed
        again once, and a second refusal fails the read."""
        try:
            return self.read_block(snapshot_id, index, token)
        except ClientError as error:
            if not _refused_token(error):
                raise
        try:
            return self.read_block(snapshot_id, index, self._fresh_token(snapshot_id, index))
        except ClientError as error:
            if not _refused_token(error):
                raise
            raise EbsDataError(
                f"{snapshot_id} block {index}: AWS refused its block token, and again a token listed just "
                f"before ({error}). Run the job again"
            ) from error

    def read_blocks(self, snapshot_id: str, ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
        """The blocks with data in each [first, end) range of block indexes, in order. Ranges must ascend.
        Tokens are listed as the reads reach them (`_TokenCursor`); reads run concurrently because each is a
        network round trip, in a bounded window: memory does not grow with the snapshot."""
        tokens = _TokenCursor(self, snapshot_id)
        window: deque = deque()
        with ThreadPoolExecutor(self._max_workers) as pool:
            for lo, hi in ranges:
                for index, token in tokens.listed(lo, hi):
                    window.append((index, pool.submit(self._read_listed, snapshot_id, index, token)))
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
        response = self.client.start_snapshot(
            VolumeSize=-(-volume_bytes // GIB),
            Description=description,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **extra,
        )
        return response["SnapshotId"], int(response["BlockSize"])

    def write_block(self, snapshot_id: str, index: int, data: bytes) -> None:
        self.client.put_snapshot_block(
            SnapshotId=snapshot_id,
            BlockIndex=index,
            BlockData=data,
            DataLength=len(data),
            Checksum=_sha256_b64(data),
            ChecksumAlgorithm="SHA256",
        )

    def complete_snapshot(self, snapshot_id: str, changed_blocks: int) -> str:
        return self.client.complete_snapshot(SnapshotId=snapshot_id, ChangedBlocksCount=changed_blocks)[
            "Status"
        ]

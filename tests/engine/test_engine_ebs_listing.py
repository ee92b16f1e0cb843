"""The EBS adapter's block listing: streamed page by page, tokens renewed when they expire, memory that does not
grow with the snapshot. Against the AWS-faithful fake (tests/fakes/ebs.py) with a virtual clock."""

import random
import threading
import time
import tracemalloc

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from engine_world import SMALL

from engine.backup import BackupRequest, EngineSettings, run_backup
from engine.ebs import EbsDataError, EbsDirect
from engine.restore import FileSink, run_restore
from engine.sources import EbsSnapshotSource
from tests.fakes.ebs import BLOCK_SIZE, FakeEbs, sha256_b64

SETTINGS = EngineSettings(chunker=SMALL.chunker, segment_bytes=2 * BLOCK_SIZE, pack_bytes=SMALL.pack_bytes)


class VirtualClock:
    """Time that moves only when a test (or a slow fake call) moves it."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now, self._lock = start, threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def block(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"abcdefgh \n") for _ in range(BLOCK_SIZE // 8)) * 8


def slow_reads(ebs: FakeEbs, clock: VirtualClock, seconds: float) -> None:
    """Every GetSnapshotBlock takes `seconds` of virtual time: a long backup, squeezed into a test."""
    get = ebs.get_snapshot_block

    def slow(**params):
        clock.advance(seconds)
        return get(**params)

    ebs.get_snapshot_block = slow


def backup(vault, ebs, clock, job, registered, snapshot_id, rp, parent=None):
    source = EbsSnapshotSource(EbsDirect(ebs, max_workers=4, clock=clock), snapshot_id)
    return run_backup(vault, source, BackupRequest(f"job-{rp}", "vol-1", rp, parent), registered, job, SETTINGS)


def restores_exactly(vault, job, ebs, result, snapshot_id, tmp_path) -> bool:
    path = tmp_path / f"{result.manifest.recovery_point_id}.img"
    run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(path), job)
    return ebs.differing_blocks(snapshot_id, path) == []


# ---- the fake keeps AWS's rules the adapter relies on ----------------------------------------------------


def test_the_fake_refuses_a_token_past_the_expiry_its_listing_gave():
    clock = VirtualClock()
    ebs = FakeEbs(clock=clock, token_seconds=600)
    volume = ebs.volume(1)
    volume.write(3, b"x")
    snapshot = ebs.take_snapshot(volume)
    page = ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=100)
    token = page["Blocks"][0]["BlockToken"]

    assert page["ExpiryTime"].timestamp() == clock.now + 600
    ebs.get_snapshot_block(SnapshotId=snapshot, BlockIndex=3, BlockToken=token)  # still valid
    clock.advance(600)
    with pytest.raises(ClientError, match="expired") as refused:
        ebs.get_snapshot_block(SnapshotId=snapshot, BlockIndex=3, BlockToken=token)
    assert refused.value.response["Reason"] == "INVALID_BLOCK_TOKEN"


def test_the_fake_pages_from_a_starting_block_index_and_keeps_max_results_within_aws_bounds():
    ebs = FakeEbs(page_size=2)
    volume = ebs.volume(1)
    for index in (1, 5, 9, 12):
        volume.write(index, b"x")
    snapshot = ebs.take_snapshot(volume)

    page = ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=100, StartingBlockIndex=6)
    assert [b["BlockIndex"] for b in page["Blocks"]] == [9, 12] and "NextToken" not in page
    page = ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=100, StartingBlockIndex=2)
    assert [b["BlockIndex"] for b in page["Blocks"]] == [5, 9]
    # "If you specify NextToken, then StartingBlockIndex is ignored."
    following = ebs.list_snapshot_blocks(
        SnapshotId=snapshot, MaxResults=100, StartingBlockIndex=0, NextToken=page["NextToken"]
    )
    assert [b["BlockIndex"] for b in following["Blocks"]] == [12]
    # "Valid Range: Minimum value of 100. Maximum value of 10000.": botocore refuses the first, AWS the second.
    with pytest.raises(ParamValidationError):
        ebs.list_snapshot_blocks(SnapshotId=snapshot, MaxResults=99)
    with pytest.raises(ClientError, match="MaxResults"):
        ebs.list_changed_blocks(SecondSnapshotId=snapshot, MaxResults=10001)


# ---- tokens that expire while a long backup runs ----------------------------------------------------------


def test_a_backup_whose_block_tokens_expire_mid_read_lists_them_again_and_restores_exactly(
    vault, job, registered, tmp_path
):
    clock = VirtualClock()
    # Tokens live 10 minutes; every read takes 2: a token listed when the backup began is long gone when its
    # block's turn comes, as in a 16 TiB backup that runs for hours.
    ebs = FakeEbs(page_size=3, clock=clock, token_seconds=600)
    volume = ebs.volume(1)
    for index in (*range(0, 14), 40, 41, 700, 2047):
        volume.write(index, block(index))
    snapshot = ebs.take_snapshot(volume)
    slow_reads(ebs, clock, 120)

    result = backup(vault, ebs, clock, job, registered, snapshot, "rp-1")

    assert restores_exactly(vault, job, ebs, result, snapshot, tmp_path)


def test_an_incremental_backup_stays_exact_when_tokens_expire_mid_read(vault, job, registered, tmp_path):
    clock = VirtualClock()
    ebs = FakeEbs(page_size=3, clock=clock, token_seconds=600)
    volume = ebs.volume(1)
    for index in range(0, 24):
        volume.write(index, block(index))
    first = ebs.take_snapshot(volume)
    backup(vault, ebs, clock, job, registered, first, "rp-1")
    for index in (1, 9, 15):
        volume.write(index, block(1000 + index))  # rewritten
    volume.write(900, block(900))  # new, far away
    volume.trim(20)
    volume.trim(21)  # segment 10 now holds nothing
    second = ebs.take_snapshot(volume)
    slow_reads(ebs, clock, 120)
    reads_before = ebs.calls["GetSnapshotBlock"] - ebs.refused_tokens

    result = backup(vault, ebs, clock, job, registered, second, "rp-2", parent="rp-1")

    assert restores_exactly(vault, job, ebs, result, second, tmp_path)
    # Every changed block was read (the segments 0, 4, 7 and 450, two blocks each, minus none) and the
    # unchanged segments 1-3, 5, 6, 8, 9, 11 were referenced from the parent, not read.
    assert result.segments_read == 4 and result.segments_copied == 8
    assert ebs.calls["GetSnapshotBlock"] - ebs.refused_tokens - reads_before == 7  # block 901 holds no data


def test_a_token_refused_twice_fails_the_backup_naming_the_block(vault, job, registered):
    ebs = FakeEbs()
    volume = ebs.volume(1)
    volume.write(5, block(5))
    snapshot = ebs.take_snapshot(volume)
    ebs.token_seconds = -1  # every token the fake lists is already expired: listing again cannot help

    with pytest.raises(EbsDataError, match=f"{snapshot} block 5"):
        backup(vault, ebs, time.time, job, registered, snapshot, "rp-1")


# ---- memory: nothing per block of the snapshot ------------------------------------------------------------


def adapter_peak_bytes(blocks: int) -> int:
    """Peak memory traced while the adapter lists and reads a snapshot of `blocks` blocks with data (the
    segment plan, a backup's own, is not part of it: the segments are given as a range)."""
    ebs = FakeEbs(page_size=100)  # both sizes span many pages: what a page holds is the same in both
    volume = ebs.volume(-(-blocks * BLOCK_SIZE // 1024**3))
    data = block(1)
    checksum = sha256_b64(data)
    for index in range(blocks):
        volume.write(index, data, checksum)  # one shared block: the fake's own memory stays small
    snapshot = ebs.take_snapshot(volume)
    ebs.snapshots[snapshot].order()
    tracemalloc.start()
    try:
        source = EbsSnapshotSource(EbsDirect(ebs, max_workers=4), snapshot)
        listed = sum(1 for _ in source.segments_with_data(BLOCK_SIZE))
        read = sum(1 for _ in source.read_segments(range(blocks), BLOCK_SIZE))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert listed == read == blocks
    return peak


def test_the_adapter_holds_no_state_per_block_of_the_snapshot():
    small, large = 1000, 4000
    adapter_peak_bytes(small)  # once before measuring: botocore's model and other caches load on first use
    peak_small = adapter_peak_bytes(small)
    peak_large = adapter_peak_bytes(large)
    growth = (peak_large - peak_small) / (large - small)

    # Before: every block token, the whole read list and a set of segments were held (~290 bytes a block
    # here); run to run the peak varies by a few KiB (reads in flight), well under this bound.
    assert growth < 16, f"the adapter's memory grew by {growth:.1f} bytes per block"


# ---- a block whose bytes do not match AWS's checksum fails the job -----------------------------------------


@pytest.mark.parametrize("blocks_per_segment", [1, 2])
def test_a_block_that_does_not_match_its_checksum_fails_the_backup_before_any_manifest(
    vault, job, registered, blocks_per_segment
):
    ebs = FakeEbs(page_size=3)
    volume = ebs.volume(1)
    for index in range(12):
        volume.write(index, block(index))
    snapshot = ebs.take_snapshot(volume)
    stored = ebs.snapshots[snapshot].blocks[7]
    stored.data = stored.data[:-1] + b"!"  # flipped in transit: AWS's checksum is of the bytes it stored
    settings = EngineSettings(
        chunker=SMALL.chunker, segment_bytes=blocks_per_segment * BLOCK_SIZE, pack_bytes=SMALL.pack_bytes
    )
    source = EbsSnapshotSource(EbsDirect(ebs, max_workers=4), snapshot)

    with pytest.raises(EbsDataError, match=f"{snapshot} block 7"):
        run_backup(vault, source, BackupRequest("job-x", "vol-1", "rp-x"), registered, job, settings)

    assert vault.manifest_keys() == [] and registered == []


def test_backups_of_a_sparse_volume_follow_empty_pages_and_stay_exact(vault, job, registered, tmp_path):
    # Every page scans 64 block indexes: most pages of this sparse volume come back empty with a NextToken.
    ebs = FakeEbs(page_size=5, scan_blocks=64)
    volume = ebs.volume(1)
    for index in (0, 1, 2, 700, 701, 1500, 2047):
        volume.write(index, block(index))
    first = ebs.take_snapshot(volume)
    page = ebs.list_snapshot_blocks(SnapshotId=first, MaxResults=100, StartingBlockIndex=100)
    assert page["Blocks"] == [] and page["NextToken"]  # the fake answers as AWS may
    clock = time.time
    backup(vault, ebs, clock, job, registered, first, "rp-1")
    volume.write(701, block(7010))
    volume.write(1200, block(1200))
    volume.trim(2047)
    second = ebs.take_snapshot(volume)

    result = backup(vault, ebs, clock, job, registered, second, "rp-2", parent="rp-1")

    assert restores_exactly(vault, job, ebs, result, second, tmp_path)
    assert result.segments_read == 2 and result.segments_copied == 3  # segments 350, 600 read; 0, 1, 750 copied

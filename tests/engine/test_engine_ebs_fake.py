"""The engine against the AWS-faithful EBS fake (tests/fakes/ebs.py): 512 KiB blocks, short pages, lineage-wide
changed-block listings, per-snapshot block tokens and checksums."""

import random

import pytest
from engine_world import SMALL

from engine.backup import BackupRequest, EngineSettings, run_backup
from engine.ebs import EbsDirect
from engine.restore import EbsSnapshotSink, FileSink, run_restore
from engine.sources import EbsSnapshotSource
from tests.fakes.ebs import BLOCK_SIZE, FakeEbs

# Two 512 KiB blocks per segment, small chunks: a few MiB of data exercise every path quickly.
SETTINGS = EngineSettings(chunker=SMALL.chunker, segment_bytes=2 * BLOCK_SIZE, pack_bytes=SMALL.pack_bytes)


def block(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"abcdefgh \n") for _ in range(BLOCK_SIZE // 8)) * 8


@pytest.fixture
def ebs():
    return FakeEbs(page_size=3)  # AWS may return fewer blocks than MaxResults: every listing spans pages


def backup(vault, ebs, job, registered, snapshot_id, rp, parent=None):
    source = EbsSnapshotSource(EbsDirect(ebs, max_workers=4), snapshot_id)
    return run_backup(vault, source, BackupRequest(f"job-{rp}", "vol-1", rp, parent), registered, job, SETTINGS)


def restored_image(vault, job, result, tmp_path):
    path = tmp_path / f"{result.manifest.recovery_point_id}.img"
    run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(path), job)
    return path


def test_a_full_backup_of_a_paged_snapshot_restores_byte_identical(vault, job, registered, ebs, tmp_path):
    volume = ebs.volume(1)
    for index in (0, 1, 2, 7, 100, 2047):
        volume.write(index, block(index))
    snapshot = ebs.take_snapshot(volume)

    result = backup(vault, ebs, job, registered, snapshot, "rp-1")

    assert ebs.differing_blocks(snapshot, restored_image(vault, job, result, tmp_path)) == []


def test_an_incremental_backup_sees_rewritten_new_and_trimmed_blocks(vault, job, registered, ebs, tmp_path):
    volume = ebs.volume(1)
    for index in range(0, 12):
        volume.write(index, block(index))
    first = ebs.take_snapshot(volume)
    backup(vault, ebs, job, registered, first, "rp-1")
    volume.write(3, block(300))  # rewritten
    volume.write(500, block(500))  # new data far from the rest
    volume.trim(8)  # discarded: only the first snapshot lists it
    volume.trim(10)
    volume.trim(11)  # segment 5 (blocks 10, 11) now holds nothing
    second = ebs.take_snapshot(volume)

    result = backup(vault, ebs, job, registered, second, "rp-2", parent="rp-1")

    assert ebs.differing_blocks(second, restored_image(vault, job, result, tmp_path)) == []
    assert result.segments_copied == 3  # segments 0, 2, 3 (blocks 0-1, 4-7) are unchanged


def test_a_restore_writes_every_block_with_its_checksum_into_a_new_snapshot(vault, job, registered, ebs):
    volume = ebs.volume(1)
    for index in (0, 5, 9):
        volume.write(index, block(index))
    snapshot = ebs.take_snapshot(volume)
    result = backup(vault, ebs, job, registered, snapshot, "rp-1")

    sink = EbsSnapshotSink(EbsDirect(ebs), "restore of rp-1", {"elastio:restored-from": "rp-1"})
    outcome = run_restore(vault, vault.read_manifest(result.manifest_key), sink, job)

    assert outcome["status"] == "completed"
    assert ebs.block_data(outcome["snapshotId"]) == ebs.block_data(snapshot)

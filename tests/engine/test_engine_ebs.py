"""The EBS direct APIs adapter: on moto where moto behaves like AWS, with Stubber where it does not
(moto's block size is 512 bytes, its changed-block listing walks only the first snapshot, no pagination)."""

import base64
import datetime
import hashlib
import io

import pytest
from botocore.stub import Stubber
from engine_world import SMALL, volume_bytes

from engine.backup import BackupRequest, run_backup
from engine.ebs import EbsDataError, EbsDirect
from engine.restore import EbsSnapshotSink, run_restore
from engine.sources import EbsSnapshotSource, SourceError


def checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def make_snapshot(ebs_client, blocks: dict[int, bytes]) -> str:
    """A 1 GiB snapshot holding `blocks`, written the way the restore path writes them."""
    ebs = EbsDirect(ebs_client)
    snapshot_id, _ = ebs.start_snapshot(1024**3, "source volume", {}, None)
    for index, data in blocks.items():
        ebs.write_block(snapshot_id, index, data)
    ebs.complete_snapshot(snapshot_id, len(blocks))
    return snapshot_id


def as_blocks(data: bytes, first_block: int = 0, size: int = 512) -> dict[int, bytes]:
    return {first_block + n // size: data[n : n + size] for n in range(0, len(data), size)}


def read_back(ebs_client, snapshot_id: str) -> dict[int, bytes]:
    listed = ebs_client.list_snapshot_blocks(SnapshotId=snapshot_id)["Blocks"]
    return {
        b["BlockIndex"]: ebs_client.get_snapshot_block(
            SnapshotId=snapshot_id, BlockIndex=b["BlockIndex"], BlockToken=b["BlockToken"]
        )["BlockData"].read()
        for b in listed
    }


@pytest.fixture
def ebs_client(aws):
    return aws.client("ebs")


@pytest.fixture
def volume(ebs_client):
    """Data at the start of the volume and far into it (64 KiB segments 0 and 781); the rest is unwritten."""
    blocks = as_blocks(bytes(volume_bytes(32 * 1024, seed=4)))
    blocks.update(as_blocks(bytes(volume_bytes(24 * 1024, seed=5)), first_block=100_000))
    return blocks


def test_backup_of_a_snapshot_then_restore_to_a_new_snapshot_gives_the_same_blocks(
    ebs_client, vault, job, registered, volume
):
    ebs = EbsDirect(ebs_client, max_workers=4)
    source_id = make_snapshot(ebs_client, volume)
    result = run_backup(
        vault,
        EbsSnapshotSource(ebs, source_id),
        BackupRequest("job-1", "vol-1", "rp-1"),
        registered,
        job,
        SMALL,
    )

    sink = EbsSnapshotSink(ebs, "restore of rp-1", {"elastio:restored-from": "rp-1"})
    outcome = run_restore(vault, vault.read_manifest(result.manifest_key), sink, job)

    assert outcome["status"] == "completed"
    written = {index: data for index, data in volume.items() if any(data)}  # zero blocks read as zeros anyway
    assert read_back(ebs_client, outcome["snapshotId"]) == written


def test_an_incremental_backup_reads_only_segments_with_changed_blocks(
    ebs_client, vault, job, registered, volume
):
    ebs = EbsDirect(ebs_client, max_workers=4)
    first_id = make_snapshot(ebs_client, volume)
    changed = dict(volume)
    changed[100_005] = b"Z" * 512  # an existing block rewritten: moto lists this change correctly
    second_id = make_snapshot(ebs_client, changed)
    run_backup(
        vault,
        EbsSnapshotSource(ebs, first_id),
        BackupRequest("job-1", "vol-1", "rp-1"),
        registered,
        job,
        SMALL,
    )

    second = run_backup(
        vault,
        EbsSnapshotSource(ebs, second_id),
        BackupRequest("job-2", "vol-1", "rp-2", "rp-1"),
        registered,
        job,
        SMALL,
    )

    assert second.segments_read == 1  # block 100_005 lies in segment 781
    assert second.segments_copied == 1
    assert 0 < second.chunks_new <= 3


def test_a_block_whose_data_does_not_match_its_checksum_is_refused(ebs_client):
    snapshot_id = ebs_client.start_snapshot(VolumeSize=1)["SnapshotId"]
    ebs_client.put_snapshot_block(
        SnapshotId=snapshot_id,
        BlockIndex=0,
        BlockData=b"a" * 512,
        DataLength=512,
        Checksum=checksum(b"b" * 512),
        ChecksumAlgorithm="SHA256",
    )
    ebs = EbsDirect(ebs_client)
    token = ebs_client.list_snapshot_blocks(SnapshotId=snapshot_id)["Blocks"][0]["BlockToken"]

    with pytest.raises(EbsDataError, match=f"{snapshot_id} block 0"):
        ebs.read_block(snapshot_id, 0, token)


def test_a_segment_size_that_is_not_a_multiple_of_the_block_size_is_a_clear_error(ebs_client, volume):
    ebs = EbsDirect(ebs_client)
    source = EbsSnapshotSource(ebs, make_snapshot(ebs_client, volume))

    with pytest.raises(SourceError, match="multiple of 512"):
        source.segments_with_data(1000)


# AWS-shaped responses (block size 512 KiB, paginated) where moto differs from AWS.
AWS_BLOCK = 524288


def aws_page(key: str, items: list[dict], next_token: str | None = None) -> dict:
    """One page of ListSnapshotBlocks / ListChangedBlocks as AWS returns it for an 8 GiB volume."""
    page = {key: items, "ExpiryTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "VolumeSize": 8,
            "BlockSize": AWS_BLOCK}  # fmt: skip
    return page | ({"NextToken": next_token} if next_token else {})


def test_changed_blocks_follow_every_page_and_include_blocks_new_in_the_second_snapshot(aws):
    client = aws.client("ebs")
    request = {"FirstSnapshotId": "snap-1", "SecondSnapshotId": "snap-2", "MaxResults": 10000}
    first_page = [{"BlockIndex": 3, "FirstBlockToken": "a", "SecondBlockToken": "b"}]
    new_block = [{"BlockIndex": 40, "SecondBlockToken": "new"}]  # not in the first snapshot
    with Stubber(client) as stub:
        stub.add_response("list_changed_blocks", aws_page("ChangedBlocks", first_page, "page-2"), request)
        stub.add_response(
            "list_changed_blocks", aws_page("ChangedBlocks", new_block), request | {"NextToken": "page-2"}
        )

        assert list(EbsDirect(client).changed_blocks("snap-1", "snap-2")) == [3, 40]


def test_the_snapshot_shape_and_blocks_come_from_aws_across_pages(aws):
    client = aws.client("ebs")
    request = {"SnapshotId": "snap-1", "MaxResults": 10000}
    with Stubber(client) as stub:
        first, second = [{"BlockIndex": 0, "BlockToken": "t0"}], [{"BlockIndex": 16, "BlockToken": "t16"}]
        stub.add_response("list_snapshot_blocks", aws_page("Blocks", first, "more"), request | {"MaxResults": 100})
        stub.add_response("list_snapshot_blocks", aws_page("Blocks", first, "more"), request)
        stub.add_response("list_snapshot_blocks", aws_page("Blocks", second), request | {"NextToken": "more"})

        ebs = EbsDirect(client)
        shape = ebs.shape("snap-1")
        blocks = list(ebs.snapshot_blocks("snap-1"))

    assert shape.block_size == AWS_BLOCK and shape.volume_bytes == 8 * 1024**3
    assert blocks == [0, 16]


def test_with_aws_block_sizes_segments_group_eight_blocks_of_512_kib(aws):
    client = aws.client("ebs")
    blocks = [{"BlockIndex": i, "BlockToken": f"t{i}"} for i in (0, 7, 8, 20)]
    with Stubber(client) as stub:
        stub.add_response("list_snapshot_blocks", aws_page("Blocks", blocks))  # the shape
        stub.add_response("list_snapshot_blocks", aws_page("Blocks", blocks))
        source = EbsSnapshotSource(EbsDirect(client), "snap-1")

        assert list(source.segments_with_data(4 * 1024 * 1024)) == [0, 1, 2]


def test_block_data_is_read_as_a_stream_and_checked(aws):
    client = aws.client("ebs")
    data = b"\x07" * AWS_BLOCK
    with Stubber(client) as stub:
        stub.add_response(
            "get_snapshot_block",
            {
                "BlockData": io.BytesIO(data),
                "DataLength": AWS_BLOCK,
                "Checksum": checksum(data),
                "ChecksumAlgorithm": "SHA256",
            },
            {"SnapshotId": "snap-1", "BlockIndex": 9, "BlockToken": "t9"},
        )

        assert EbsDirect(client).read_block("snap-1", 9, "t9") == data

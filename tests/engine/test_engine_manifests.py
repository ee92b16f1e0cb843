"""Version-3 manifests: binary, streamed, MAC-checked, incremental (parent ranges), and safe against compaction.

Volumes live in the EBS fake, so an incremental backup copies (references) the segments ListChangedBlocks
does not name; restores go to image files compared byte for byte with the snapshot.
"""

from __future__ import annotations

import io
import random

import pytest
from botocore.response import StreamingBody
from engine_world import set_manifest_format, writes_json_manifests
from test_engine_gc_safety import GC, HOUR, World  # the same volume, vault and clock as the GC races

from engine import backup as backup_module
from engine.manifest import ManifestError, manifest_key
from engine.restore import FileSink, run_restore
from tests.fakes.ebs import BLOCK_SIZE

MAGIC = b"ELMANIF3"  # version 3 (engine/manifest.py), spelled out: the format is a contract (docs/CONTRACT.md)


class Volume(World):
    """The GC-safety world (one EBS volume, its snapshots, one vault); restores stream the manifest."""

    def restores_exactly(self, rp: str, key: str | None = None) -> bool:
        target = self.tmp_path / f"{rp}.img"
        key = key or self.vault.locate_manifest("vol-1", rp)
        run_restore(self.vault, self.vault.open_manifest(key), FileSink(target), self.job)
        return self.ebs.differing_blocks(self.snapshots[rp], target) == []


@pytest.fixture
def world(vault, job, registered, tmp_path):
    return Volume(vault, job, registered, tmp_path)


def first_point(world: Volume) -> None:
    world.snapshot("rp-1", {i: i for i in range(24)})  # twelve segments
    world.backup("rp-1")


def skip_varints(raw: bytes, position: int, count: int) -> int:
    for _ in range(count):
        while raw[position] & 0x80:
            position += 1
        position += 1
    return position


def stored(world: Volume, key: str) -> bytes:
    return world.vault.bucket.get(key)


# ---- integrity: any edit or truncation is refused before anything is restored -------------------------------


@pytest.mark.parametrize("where", ["header", "digest", "raw length", "totals", "mac"])
def test_a_tampered_binary_manifest_is_refused(world, where):
    first_point(world)
    key = manifest_key("vol-1", "rp-1")
    raw = bytearray(stored(world, key))
    assert raw.startswith(MAGIC)  # version 3: binary
    header_end = 12 + int.from_bytes(raw[8:12], "little")
    first_digest = skip_varints(raw, header_end + 1, 3)  # the segment tag, then index, count, body length
    position = {
        "header": 20,
        "digest": first_digest + 10,
        "raw length": first_digest + 32,  # the first chunk's length: a different length still a varint
        "totals": len(raw) - 40,
        "mac": len(raw) - 1,
    }[where]
    raw[position] ^= 0x01
    world.vault.bucket.put(key, bytes(raw))

    with pytest.raises(ManifestError, match="integrity check"):
        world.vault.open_manifest(key)
    assert not list(world.tmp_path.glob("*.img*"))


def test_a_manifest_cut_short_in_the_bucket_is_refused(world):
    first_point(world)
    key = manifest_key("vol-1", "rp-1")
    raw = stored(world, key)
    for length in (len(raw) - 1, len(raw) // 2, len(MAGIC) + 2):
        world.vault.bucket.put(key, raw[:length])
        with pytest.raises(ManifestError, match="integrity check|truncated"):
            world.vault.open_manifest(key)


def test_a_manifest_stream_that_ends_early_is_refused(world):
    first_point(world)
    key = manifest_key("vol-1", "rp-1")
    s3 = world.vault.bucket._s3
    real_get = s3.get_object

    def cut_stream(**params):
        answer = real_get(**params)
        data = answer["Body"].read()
        short = data[: len(data) * 2 // 3]  # the connection dropped; the body says it is complete
        answer["Body"] = StreamingBody(io.BytesIO(short), len(short))
        return answer

    s3.get_object = cut_stream
    try:
        with pytest.raises(ManifestError, match="integrity check"):
            world.vault.open_manifest(key)
    finally:
        s3.get_object = real_get


def test_restore_refuses_a_damaged_parent_before_writing_anything(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    parent_key = manifest_key("vol-1", "rp-1")
    world.vault.bucket.put(parent_key, stored(world, parent_key)[:-5])

    with pytest.raises(ManifestError, match="rp-1"):
        world.restores_exactly("rp-2")
    assert not list(world.tmp_path.glob("rp-2.img*"))


# ---- incremental manifests ------------------------------------------------------------------------------------


def test_an_incremental_manifest_restores_exactly_what_a_full_one_does_and_is_far_smaller(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300, 17: 1700})
    world.snapshots["rp-2-full"] = world.snapshots["rp-2"]
    incremental = world.backup("rp-2", parent="rp-1")
    full = world.backup("rp-2-full")

    assert incremental.manifest.references_parent and not full.manifest.references_parent
    assert incremental.manifest.chunk_count == full.manifest.chunk_count
    assert incremental.manifest_bytes * 4 < full.manifest_bytes  # two changed segments of twelve, plus ranges
    assert world.restores_exactly("rp-2") and world.restores_exactly("rp-2-full")
    assert [s.chunks for s in incremental.manifest.iter_segments()] == [
        s.chunks for s in full.manifest.iter_segments()
    ]


def test_a_chain_of_incrementals_is_cut_by_a_full_manifest_and_every_point_restores(world, monkeypatch):
    monkeypatch.setattr(backup_module, "MAX_CHAIN_DEPTH", 2)
    first_point(world)
    depths, parent = [], "rp-1"
    for n in range(2, 7):
        world.snapshot(f"rp-{n}", {n: 100 * n})
        depths.append(world.backup(f"rp-{n}", parent=parent).manifest.depth)
        parent = f"rp-{n}"

    assert depths == [1, 2, 0, 1, 2]  # the third would make a chain of three: written in full instead
    assert all(world.restores_exactly(f"rp-{n}") for n in range(1, 7))


def test_a_zero_segment_and_a_trimmed_segment_in_an_incremental_restore_exactly(world):
    first_point(world)
    world.volume.write(5, bytes(BLOCK_SIZE))  # zeros over data
    world.volume.trim(9)  # the block is gone from the snapshot
    world.snapshot("rp-2", {20: 2000})
    result = world.backup("rp-2", parent="rp-1")

    assert result.manifest.references_parent
    assert world.restores_exactly("rp-2")


# ---- incremental manifests and compaction (rule P) ------------------------------------------------------------


def test_an_expired_parent_that_a_live_child_references_is_kept_and_the_child_restores(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    reports = []
    for _ in range(3):
        world.clock.offset += GC.grace_seconds + HOUR
        reports.append(world.compact(expired_rps=["rp-1"]))

    assert all(r.manifests_referenced == [manifest_key("vol-1", "rp-1")] for r in reports)
    assert world.vault.bucket.exists(manifest_key("vol-1", "rp-1"))
    assert world.restores_exactly("rp-2")

    world.compact(expired_rps=["rp-1", "rp-2"])  # once the child goes too, so does the parent
    assert world.vault.manifest_keys() == []


def test_a_grandparent_stays_while_a_grandchild_resolves_through_it(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.snapshot("rp-3", {4: 400})
    world.backup("rp-3", parent="rp-2")
    world.clock.offset += GC.grace_seconds + HOUR

    report = world.compact(expired_rps=["rp-1", "rp-2"])

    assert sorted(report.manifests_referenced) == [manifest_key("vol-1", "rp-1"), manifest_key("vol-1", "rp-2")]
    assert world.restores_exactly("rp-3")


def test_a_child_written_while_a_compaction_deletes_its_parent_is_made_self_contained(world):
    """The race rule P closes: the compaction chose the expired parent and re-read the leases (none pinned it);
    before it deletes the parent a whole incremental backup runs and references the parent's ranges."""
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.clock.offset += HOUR
    delete = world.vault.bucket.delete
    children = []

    def child_runs_first(key):
        if key == manifest_key("vol-1", "rp-1") and not children:
            children.append(world.backup("rp-2", parent="rp-1"))
        return delete(key)

    world.vault.bucket.delete = child_runs_first
    try:
        report = world.compact(expired_rps=["rp-1"])
    finally:
        world.vault.bucket.delete = delete
    for _ in range(2):
        world.clock.offset += GC.grace_seconds + HOUR
        world.compact()

    assert report.manifests_expired == [manifest_key("vol-1", "rp-1")] and children
    assert not world.vault.bucket.exists(manifest_key("vol-1", "rp-1"))
    assert world.restores_exactly("rp-2")
    assert children[0].manifest_flattened and not children[0].manifest.references_parent


# ---- version-2 vaults -----------------------------------------------------------------------------------------


def test_a_vault_that_wrote_json_manifests_keeps_restoring_them_after_it_moves_to_version_3(world):
    writes_json_manifests(world.vault)
    first_point(world)
    old_key = manifest_key("vol-1", "rp-1", version=2)
    assert stored(world, old_key).startswith(b"{")
    set_manifest_format(world.vault, 3)  # the operator moves the vault to version 3

    world.snapshot("rp-2", {3: 300})
    child = world.backup("rp-2", parent="rp-1")  # a JSON parent is copied in full, not referenced
    world.clock.offset += GC.grace_seconds + HOUR
    world.compact(expired_rps=[])

    assert stored(world, child.manifest_key).startswith(MAGIC) and not child.manifest.references_parent
    assert child.segments_copied > 0
    assert world.restores_exactly("rp-1", old_key) and world.restores_exactly("rp-2")


def test_a_manifest_larger_than_one_part_goes_up_as_a_multipart_upload_and_comes_back_whole(vault, monkeypatch):
    from engine import packs

    monkeypatch.setattr(packs, "MULTIPART_BYTES", 5 * 1024 * 1024)  # S3's smallest part
    body = random.Random(3).randbytes(11 * 1024 * 1024 + 17)
    spool, back = io.BytesIO(body), io.BytesIO()
    calls = []
    s3 = vault.bucket._s3
    real = s3.upload_part

    def counted(**params):
        calls.append(params["PartNumber"])
        return real(**params)

    s3.upload_part = counted
    try:
        assert vault.bucket.put_file("manifests/vol-1/big.manifest", spool) == len(body)
    finally:
        s3.upload_part = real
    vault.bucket.download("manifests/vol-1/big.manifest", back)

    assert calls == [1, 2, 3] and back.getvalue() == body


def test_an_incremental_backup_plans_from_its_parents_manifest_alone_not_the_whole_chain(world):
    first_point(world)
    world.snapshot("rp-2", {3: 300})
    world.backup("rp-2", parent="rp-1")
    world.snapshot("rp-3", {4: 400})
    s3 = world.vault.bucket._s3
    real_get, read = s3.get_object, []

    def recorded(**params):
        read.append(params["Key"])
        return real_get(**params)

    s3.get_object = recorded
    try:
        result = world.backup("rp-3", parent="rp-2")
    finally:
        s3.get_object = real_get

    assert result.manifest.depth == 2 and manifest_key("vol-1", "rp-2") in read
    assert manifest_key("vol-1", "rp-1") not in read  # its segment map says what rp-2 holds, resolved
    assert world.restores_exactly("rp-3")

import dataclasses
import json

import pytest
from engine_world import SMALL, create_vault, volume_bytes, writes_json_manifests

from engine.backup import BackupRequest, RegistrationUncertain, run_backup
from engine.catalog import CatalogError, CatalogRejected
from engine.chunking import split
from engine.compact import CompactionSettings, run_compaction
from engine.manifest import ManifestError, manifest_key
from engine.packs import PackWriter
from engine.restore import FileSink, run_restore
from engine.sources import ImageFileSource

SIZE = 256 * 1024


def backup_file(vault, path, job, register, rp="rp-1", parent=None):
    request = BackupRequest(
        job_id=f"job-{rp}", asset_id="vol-1", recovery_point_id=rp, parent_recovery_point_id=parent
    )
    return run_backup(vault, ImageFileSource(path, snapshot_id=f"snap-{rp}"), request, register, job, SMALL)


def test_backup_then_restore_gives_a_byte_identical_image(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)

    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(restored), job)

    assert restored.read_bytes() == image.read_bytes()


def test_a_second_backup_of_a_lightly_changed_volume_stores_only_the_new_chunks(
    vault, job, registered, tmp_path
):
    data = volume_bytes(SIZE)
    image = tmp_path / "vol.img"
    image.write_bytes(data)
    first = backup_file(vault, image, job, registered, "rp-1")
    data[100_000:100_100] = b"X" * 100  # one small edit
    image.write_bytes(data)

    second = backup_file(vault, image, job, registered, "rp-2", parent="rp-1")

    assert 0 < second.chunks_new <= 3
    assert second.chunks_reused >= first.chunks_new - 3
    assert second.stored_bytes < first.stored_bytes / 10


def test_a_finished_backup_registers_its_recovery_point_with_the_catalog(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)

    assert registered == [result.register_payload(BackupRequest("job-rp-1", "vol-1", "rp-1"))]
    assert registered[0]["manifestKey"] == manifest_key("vol-1", "rp-1")
    assert (
        registered[0]["logicalBytes"] == SIZE and registered[0]["chunkCount"] == result.manifest.chunk_count
    )


def test_two_vaults_share_no_chunks_or_index_entries(aws, vault, job, registered, tmp_path):
    other = create_vault(aws, "vault-b")
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    backup_file(vault, image, job, registered)

    second = backup_file(other, image, job, registered)

    assert second.chunks_new == len(second.manifest.digests())  # vault-a holding them did not help
    own_packs = {entry.pack_key for entry in other.index.scan()}
    assert own_packs == set(second.packs)
    assert all(other.bucket.exists(key) and not vault.bucket.exists(key) for key in own_packs)


def test_a_recovery_point_the_catalog_refused_leaves_no_manifest(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))

    def catalog_refuses(payload):
        raise CatalogRejected("rejected: vault vault-a is not deployed")

    with pytest.raises(CatalogRejected):
        backup_file(vault, image, job, catalog_refuses)

    assert vault.manifest_keys() == []
    assert list(vault.bucket.list("staging/")) == []


class StoredThenFailed:
    """The Catalog stores the point, then its reply is lost (a timeout, a crash after the write) `failures` times."""

    def __init__(self, failures: int):
        self.failures, self.stored = failures, {}

    def __call__(self, payload):
        self.stored[payload["recoveryPointId"]] = payload  # idempotent: the stored point, whatever happened
        if self.failures:
            self.failures -= 1
            raise CatalogError("Catalog function elastio-catalog failed: Task timed out")


def test_an_ambiguous_register_failure_is_retried_and_the_manifest_kept(vault, job, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    catalog = StoredThenFailed(failures=2)
    request = BackupRequest("job-rp-1", "vol-1", "rp-1")

    result = run_backup(vault, ImageFileSource(image, "snap-rp-1"), request, catalog, job, SMALL, sleep=lambda s: None)

    assert list(catalog.stored) == ["rp-1"] and catalog.failures == 0
    assert vault.manifest_keys() == [result.manifest_key]


def test_a_register_that_never_confirms_fails_the_job_but_never_deletes_a_manifest_it_may_name(
    vault, job, tmp_path
):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    catalog = StoredThenFailed(failures=10)
    request = BackupRequest("job-rp-1", "vol-1", "rp-1")

    with pytest.raises(RegistrationUncertain, match="stays"):
        run_backup(vault, ImageFileSource(image, "snap-rp-1"), request, catalog, job, SMALL, sleep=lambda s: None)

    assert "rp-1" in catalog.stored  # the Catalog holds the point: its manifest must still be there
    assert vault.manifest_keys() == [manifest_key("vol-1", "rp-1")]


def test_a_rerun_of_an_interrupted_backup_reuses_what_it_already_stored(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    # 32 segments, interrupted near the end: the CPU pipeline reads up to a dozen segments ahead of what it
    # has stored (engine/pipeline.py, segments_in_flight), so an early interruption would have stored nothing.
    image.write_bytes(volume_bytes(32 * SMALL.segment_bytes))

    class Interrupted(ImageFileSource):
        def read_segments(self, indexes, segment_bytes):
            for n, item in enumerate(super().read_segments(indexes, segment_bytes)):
                if n == 30:
                    raise ConnectionError("EBS direct API connection reset")
                yield item

    request = BackupRequest("job-1", "vol-1", "rp-1")
    with pytest.raises(ConnectionError):
        run_backup(
            vault,
            Interrupted(image, "snap-1"),
            request,
            registered,
            job,
            dataclasses.replace(SMALL, pack_bytes=16 * 1024),
        )
    assert vault.manifest_keys() == [] and registered == []

    rerun = backup_file(vault, image, job, registered)

    assert rerun.chunks_reused > 0
    assert vault.manifest_keys() == [manifest_key("vol-1", "rp-1")]


def test_while_an_incremental_backup_runs_its_lease_pins_the_parent_manifest(
    vault, job, registered, tmp_path
):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    backup_file(vault, image, job, registered, "rp-1")
    leases_seen = []

    class Watched(ImageFileSource):
        def read_segments(self, indexes, segment_bytes):
            leases_seen.extend(vault.leases())
            yield from super().read_segments(indexes, segment_bytes)

    request = BackupRequest("job-2", "vol-1", "rp-2", parent_recovery_point_id="rp-1")
    run_backup(vault, Watched(image, "snap-2"), request, registered, job, SMALL)

    # Both keys the parent's manifest may have (a vault may hold version-2 and version-3 manifests), and its own
    # (a rerun registers the manifest an earlier attempt wrote, engine/backup.py `_written_before`).
    assert [set(lease.pinned_manifests) for lease in leases_seen] == [
        {manifest_key("vol-1", rp, version) for rp in ("rp-1", "rp-2") for version in (2, 3)}
    ]
    assert vault.leases() == []  # dropped when the backup finished


def test_a_manifest_whose_segment_lost_a_chunk_is_refused_before_anything_is_restored(
    vault, job, registered, tmp_path
):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)
    manifest = vault.read_manifest(result.manifest_key)
    manifest.segments[0].chunks.pop()  # a writer with the vault's key (an engine bug) signs a short segment
    vault.bucket.put(result.manifest_key, vault.manifest_bytes(manifest))

    with pytest.raises(ManifestError, match="segment 0's chunks add up to"):
        run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(tmp_path / "out.img"), job)
    assert not (tmp_path / "out.img").exists()


def test_an_edited_manifest_that_is_still_valid_json_is_refused(vault, job, registered, tmp_path):
    writes_json_manifests(vault)  # a vault configured before version 3
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)
    document = json.loads(vault.bucket.get(result.manifest_key))
    refs = document["segments"][1][1]
    refs[0], refs[1] = refs[1], refs[0]  # the segment still adds up; its blocks would come back in wrong order
    vault.bucket.put(result.manifest_key, json.dumps(document, separators=(",", ":")).encode())

    with pytest.raises(ManifestError, match="integrity check"):
        vault.read_manifest(result.manifest_key)


def test_chunk_ids_are_keyed_per_vault_so_known_content_cannot_be_tested_for(aws, vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    data = volume_bytes(SIZE)
    image.write_bytes(data)
    other = create_vault(aws, "vault-b")
    first = backup_file(vault, image, job, registered)
    second = backup_file(other, image, job, registered)
    known_chunk = next(iter(split(data, SMALL.chunker)))  # someone who has the data hashes it as plain BLAKE2b

    indexed = {entry.digest for entry in vault.index.scan()}
    assert known_chunk.digest not in indexed and known_chunk.digest not in first.manifest.digests()
    assert first.manifest.digests().isdisjoint(second.manifest.digests())  # vaults' ids differ too


def indexed_in_dynamodb(*_) -> None:
    """Engines from before the vault configuration kept their index in DynamoDB: they wrote no index blobs."""


def test_a_vault_that_held_packs_before_its_configuration_keeps_plain_chunk_ids(vault, job, registered, tmp_path):
    legacy = PackWriter(vault.bucket, 1 << 20, on_stored=indexed_in_dynamodb)
    legacy.add(b"\x03" * 32, b"frame", 5)
    legacy.flush()  # written by an engine that had no vault configuration
    image = tmp_path / "vol.img"
    data = volume_bytes(SIZE)
    image.write_bytes(data)

    result = backup_file(vault, image, job, registered)

    assert vault.config.chunk_ids == "blake2b-256"
    assert {c.digest for c in split(data[:SMALL.segment_bytes], SMALL.chunker)} <= result.manifest.digests()


def rewrite_as_version_1(vault, key):
    document = json.loads(vault.bucket.get(key))
    del document["mac"]
    document["version"] = 1
    vault.bucket.put(key, json.dumps(document, separators=(",", ":")).encode())


def test_a_vault_written_before_manifests_had_macs_still_restores_its_old_points(vault, job, registered, tmp_path):
    legacy = PackWriter(vault.bucket, 1 << 20, on_stored=indexed_in_dynamodb)
    legacy.add(b"\x03" * 32, b"frame", 5)
    legacy.flush()  # the vault held packs before it had a configuration: plain ids, version-1 manifests
    writes_json_manifests(vault)
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)
    rewrite_as_version_1(vault, result.manifest_key)  # what the engine wrote before manifests had MACs

    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(restored), job)

    assert restored.read_bytes() == image.read_bytes()


def test_a_vault_with_keyed_ids_refuses_a_manifest_without_a_mac(vault, job, registered, tmp_path):
    writes_json_manifests(vault)
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    result = backup_file(vault, image, job, registered)
    rewrite_as_version_1(vault, result.manifest_key)  # a downgrade would skip the check

    with pytest.raises(ManifestError, match="version 1 is not supported"):
        vault.read_manifest(result.manifest_key)


def test_a_backup_never_reuses_a_chunk_of_a_condemned_pack_it_stores_it_again(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    first = backup_file(vault, image, job, registered)
    condemned = run_compaction(vault, job, [first.manifest_key], CompactionSettings(pack_bytes=SMALL.pack_bytes))
    assert condemned.packs_condemned == len(first.packs)  # rp-1 expired: its packs are unreferenced

    second = backup_file(vault, image, job, registered, rp="rp-2")  # the same data again

    assert second.chunks_new == len(second.manifest.digests())  # nothing to race a deletion with
    assert set(second.packs).isdisjoint(first.packs)
    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(second.manifest_key), FileSink(restored), job)
    assert restored.read_bytes() == image.read_bytes()


def test_a_backup_renews_its_lease_every_ten_minutes_not_with_every_progress_write(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(SIZE))
    lease_writes = []
    put = vault.bucket.put

    def counting_put(key, body, *args, **kwargs):
        if key.startswith("staging/"):
            lease_writes.append(key)
        return put(key, body, *args, **kwargs)

    vault.bucket.put = counting_put
    backup_file(vault, image, job, registered)  # progress is written after every segment here

    assert len(lease_writes) == 2  # taken, then renewed once before the manifest is written

import dataclasses
import json

from engine_world import SMALL, volume_bytes

from engine.backup import BackupRequest, EngineSettings, run_backup
from engine.scan import run_scan, scan_manifest
from engine.sources import ImageFileSource

SMALL_PACKS = EngineSettings(
    SMALL.chunker, SMALL.segment_bytes, pack_bytes=32 * 1024
)  # several packs to lose


def backed_up(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(256 * 1024))
    result = run_backup(
        vault,
        ImageFileSource(image, "snap-1"),
        BackupRequest("job-1", "vol-1", "rp-1"),
        registered,
        job,
        SMALL_PACKS,
    )
    return result.manifest


def corrupt_byte(vault, entry):
    pack = bytearray(vault.bucket.get(entry.pack_key))
    pack[entry.offset + entry.length // 2] ^= 0xFF
    vault.bucket.put(entry.pack_key, bytes(pack))


def test_scan_of_an_intact_recovery_point_is_healthy(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)

    report = run_scan(vault, manifest, job)

    assert report.healthy and report.chunks_checked == len(manifest.digests())


def test_scan_finds_a_deliberately_corrupted_chunk(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)
    victim = vault.index.lookup([next(manifest.chunk_refs()).digest]).popitem()[1]
    corrupt_byte(vault, victim)

    report = run_scan(vault, manifest, job)

    assert [(f.chunk_hash, f.problem) for f in report.findings] == [(victim.digest.hex(), "corrupt")]


def test_scan_reports_every_bad_chunk_not_only_the_first(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)
    entries = list(vault.index.lookup(manifest.digests()).values())
    lost_pack = entries[0].pack_key
    corrupted = next(e for e in entries if e.pack_key != lost_pack)
    corrupt_byte(vault, corrupted)
    vault.bucket.delete(lost_pack)
    index_gone = next(e for e in entries if e.pack_key not in (lost_pack, corrupted.pack_key))
    vault.index.write_blob([dataclasses.replace(index_gone, bad=True)], "x")  # its only copy flagged bad

    report = run_scan(vault, manifest, job)

    missing = {f.chunk_hash for f in report.findings if f.problem == "missing"}
    expected_missing = {e.digest.hex() for e in entries if e.pack_key == lost_pack} | {
        index_gone.digest.hex()
    }
    assert missing == expected_missing
    assert corrupted.digest.hex() in {f.chunk_hash for f in report.findings if f.problem == "corrupt"}


def test_scan_writes_its_report_to_the_vault_bucket(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)

    run_scan(vault, manifest, job)

    [report] = list(vault.bucket.list("reports/scan/rp-1/"))
    assert json.loads(vault.bucket.get(report.key))["healthy"] is True


def test_scan_loads_the_index_again_when_compaction_moved_chunks_after_it_loaded(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)
    before = vault.index.lookup(manifest.digests())
    old_pack = next(iter(before.values())).pack_key
    loads = []
    load = vault.index.load

    def compaction_moves_the_pack_after_the_first_load(*args, **kwargs):
        view = load(*args, **kwargs)
        if not loads:  # between the scan's load and its read, compaction rewrites the pack
            vault.bucket.put("packs/rewritten.pack", vault.bucket.get(old_pack))
            moved = [dataclasses.replace(e, pack_key="packs/rewritten.pack") for e in before.values()
                     if e.pack_key == old_pack]  # fmt: skip
            merged = vault.index.blob_keys()
            vault.index.write_blob(moved, "m")  # as compaction does: the copies' blob, then the merged ones go
            for key in merged:
                vault.bucket.delete(key)
            vault.bucket.delete(old_pack)
        loads.append(1)
        return view

    vault.index.load = compaction_moves_the_pack_after_the_first_load

    report = scan_manifest(vault, manifest)

    assert report.healthy and len(loads) >= 2


def test_scan_drops_entries_of_bad_chunks_so_the_next_backup_stores_them_again(vault, job, registered, tmp_path):
    manifest = backed_up(vault, job, registered, tmp_path)

    def backup_again(n):  # another point of the same volume data
        source = ImageFileSource(tmp_path / "vol.img", f"snap-{n}")
        request = BackupRequest(f"job-{n}", "vol-1", f"rp-{n}")
        return run_backup(vault, source, request, registered, job, SMALL_PACKS)

    sharing = backup_again(2)
    entries = list(vault.index.lookup(manifest.digests()).values())
    lost_pack = entries[0].pack_key
    corrupted = next(e for e in entries if e.pack_key != lost_pack)
    corrupt_byte(vault, corrupted)
    vault.bucket.delete(lost_pack)
    bad = {e.digest for e in entries if e.pack_key == lost_pack} | {corrupted.digest}

    report = run_scan(vault, manifest, job)
    again = backup_again(3)

    assert report.entries_dropped == len(bad)
    assert set(report.affected_recovery_points) == {"manifests/vol-1/rp-1.manifest", sharing.manifest_key}
    assert again.chunks_new == len(bad)
    assert run_scan(vault, manifest, job).healthy  # rp-1 restores again: its chunks are stored anew

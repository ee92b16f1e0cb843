"""Integrity scan of a recovery point: every chunk present, decompressing, and matching its hash.

Reports every missing or corrupt chunk (with the volume offsets it affects), never only the first. Then it
repairs what it can: the copy of a chunk whose pack is gone or whose bytes are corrupt is flagged bad in an
index blob of its own (`index/x-*.idx`; index.py), so no job reuses or reads it again and the next backup
holding that data stores it again instead of reusing bad bytes; a recovery point that
references it (the report names every one) restores again once some backup has stored the chunk anew.

The manifest is streamed (its MAC already checked over a local copy, engine/vault.py `open_manifest`):
chunks are checked LOOKUP_BATCH at a time in volume order, and the chunks checked recently are remembered
(a bounded set), so memory does not grow with the volume; a chunk that recurs far apart is checked again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from engine.bounded import RecentDigests
from engine.chunking import Codec, chunk_digest
from engine.index import IndexEntry, Locator
from engine.jobs import JobRecord
from engine.manifest import Manifest, ManifestFile
from engine.packs import MissingObjectError, VaultBucket, read_frames
from engine.upgrade import prepare_vault
from engine.vault import Vault

LOOKUP_BATCH = 1000


@dataclass
class Finding:
    chunk_hash: str
    problem: str  # "missing" or "corrupt"
    detail: str
    volume_offsets: list[int] = field(default_factory=list)
    copy: IndexEntry | None = None  # the copy the index named: set when its pack is gone or its bytes are bad

    def as_dict(self) -> dict:
        return {
            "chunkHash": self.chunk_hash,
            "problem": self.problem,
            "detail": self.detail,
            "volumeOffsets": self.volume_offsets,
        }


@dataclass
class ScanReport:
    recovery_point_id: str
    chunks_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    entries_dropped: int = 0
    affected_recovery_points: list[str] = field(default_factory=list)  # manifest keys sharing a bad chunk

    @property
    def healthy(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:
        return {
            "recoveryPointId": self.recovery_point_id,
            "chunksChecked": self.chunks_checked,
            "healthy": self.healthy,
            "missing": sum(f.problem == "missing" for f in self.findings),
            "corrupt": sum(f.problem == "corrupt" for f in self.findings),
            "entriesDropped": self.entries_dropped,
            "affectedRecoveryPoints": self.affected_recovery_points,
            "findings": [f.as_dict() for f in self.findings],
        }


def _batches(manifest: Manifest | ManifestFile) -> Iterator[dict[bytes, list[int]]]:
    """Chunks to check, LOOKUP_BATCH distinct digests at a time, each with its volume offsets in the batch."""
    batch: dict[bytes, list[int]] = {}
    for segment in manifest.iter_segments():
        position = segment.index * manifest.segment_bytes
        for ref in segment.chunks:
            batch.setdefault(ref.digest, []).append(position)
            position += ref.raw_length
        if len(batch) >= LOOKUP_BATCH:
            yield batch
            batch = {}
    if batch:
        yield batch


def _frames_of_pack(bucket: VaultBucket, entries: list[IndexEntry]) -> dict[bytes, bytes | str]:
    """Frames by digest, or a reason string for each chunk that could not be read."""
    try:
        return dict(read_frames(bucket, entries))
    except MissingObjectError as error:
        return {e.digest: f"pack missing: {error}" for e in entries}
    except ClientError:
        pass  # e.g. a truncated pack: read chunk by chunk to tell the good from the bad
    frames: dict[bytes, bytes | str] = {}
    for entry in entries:
        try:
            frames.update(read_frames(bucket, [entry]))
        except (MissingObjectError, ClientError) as error:
            frames[entry.digest] = f"unreadable in {entry.pack_key}: {error}"
    return frames


def _verify(entry: IndexEntry, frame: bytes | str, codec: Codec, key: bytes | None) -> tuple[str, str] | None:
    if isinstance(frame, str):
        return "missing", frame
    if len(frame) != entry.length:
        return "corrupt", f"{entry.pack_key} holds {len(frame)} of its {entry.length} bytes"
    try:
        data = codec.decompress(frame, entry.raw_length)
    except Exception as error:
        return "corrupt", f"does not decompress ({error})"
    if len(data) != entry.raw_length or chunk_digest(data, key) != entry.digest:
        return "corrupt", f"hash mismatch in {entry.pack_key} at offset {entry.offset}"
    return None


def scan_manifest(vault: Vault, manifest: Manifest | ManifestFile, job: JobRecord | None = None) -> ScanReport:
    report = ScanReport(manifest.recovery_point_id)
    codec = Codec()
    checked = RecentDigests()
    found: dict[bytes, Finding] = {}  # by digest: a bad chunk that recurs gains offsets, not findings
    total = manifest.chunk_count
    with Locator(vault.index) as locator:
        for offsets in _batches(manifest):
            for digest in offsets:
                if digest in found:
                    found[digest].volume_offsets.extend(offsets[digest])
            batch = [digest for digest in offsets if digest not in found and digest not in checked]
            for digest in batch:
                checked.add(digest)
            before = len(report.findings)
            _scan_batch(vault, locator, batch, offsets, codec, report)
            for finding in report.findings[before:]:
                found[bytes.fromhex(finding.chunk_hash)] = finding
            if job:
                job.progress(total, report.chunks_checked, 0, report.chunks_checked)
    return report


def _scan_batch(vault, locator, batch, offsets, codec, report) -> None:
    entries = locator.locate(batch)
    for digest in batch:
        if digest not in entries:
            report.findings.append(
                Finding(digest.hex(), "missing", "not in the vault index", offsets[digest])
            )
    for pack_entries in _by_pack(entries.values()):
        frames = _frames_of_pack(vault.bucket, pack_entries)
        if any(isinstance(frame, str) for frame in frames.values()):
            # A compaction may have moved these chunks and deleted the pack after our load: load again.
            locator.reload()
            moved = locator.locate(e.digest for e in pack_entries)
            if any(m.pack_key != e.pack_key for e in pack_entries if (m := moved.get(e.digest))):
                pack_entries = [moved.get(e.digest, e) for e in pack_entries]
                frames = {}
                for group in _by_pack(pack_entries):
                    frames.update(_frames_of_pack(vault.bucket, group))
        for entry in pack_entries:
            frame = frames.get(entry.digest, "not returned by the pack read")
            problem = _verify(entry, frame, codec, vault.chunk_key)
            if problem:
                # Only a definite loss names the pack (and lets repair drop the entry), never a failed read.
                definite = problem[0] == "corrupt" or problem[1].startswith("pack missing")
                where = entry if definite else None
                report.findings.append(Finding(entry.digest.hex(), *problem, offsets[entry.digest], where))
    report.chunks_checked += len(batch)


def _by_pack(entries: Iterable[IndexEntry]) -> list[list[IndexEntry]]:
    groups: dict[str, list[IndexEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.pack_key, []).append(entry)
    return list(groups.values())


def repair(vault: Vault, report: ScanReport) -> None:
    """Flag the copies of lost or corrupt chunks bad and name every recovery point that references one."""
    bad = {bytes.fromhex(f.chunk_hash) for f in report.findings}
    flagged = {(f.copy.digest, f.copy.pack_key): replace(f.copy, bad=True) for f in report.findings if f.copy}
    vault.index.write_blob(flagged.values(), "x")
    report.entries_dropped += len(flagged)
    if bad:
        report.affected_recovery_points = [key for key in vault.manifest_keys() if _references(vault, key, bad)]


def _references(vault: Vault, key: str, bad: set[bytes]) -> bool:
    """Whether a recovery point (through its chain) needs any of `bad`: streamed, one manifest at a time."""
    manifest = vault.open_manifest(key)
    try:
        return any(ref.digest in bad for ref in manifest.chunk_refs())
    finally:
        if isinstance(manifest, ManifestFile):
            manifest.close()


def run_scan(vault: Vault, manifest: Manifest, job: JobRecord, now: datetime | None = None) -> ScanReport:
    job.running()
    prepare_vault(vault, job.job_id)  # a vault's first job finishes its upgrade (engine/upgrade.py)
    report = scan_manifest(vault, manifest, job)
    repair(vault, report)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    key = f"reports/scan/{manifest.recovery_point_id}/{stamp}.json"
    vault.bucket.put(key, json.dumps(report.as_dict(), indent=1).encode(), "application/json")
    job.result(
        {
            "reportKey": key,
            "healthy": report.healthy,
            "chunksChecked": report.chunks_checked,
            "findings": len(report.findings),
            "entriesDropped": report.entries_dropped,
            "affectedRecoveryPoints": report.affected_recovery_points[:100],
        }
    )
    return report

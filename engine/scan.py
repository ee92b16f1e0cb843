"""Integrity scan of a recovery point: every chunk present, decompressing, and matching its hash.

Reports every missing or corrupt chunk (with the volume offsets it affects), never only the first. Then it
repairs what it can: the copy of a chunk whose pack is gone or whose bytes are corrupt is flagged bad in an
index blob of its own (`index/x-*.idx`; index.py), so no job reuses or reads it again and the next backup
holding that data stores it again instead of reusing bad bytes; a recovery point that
references it (the report names every one) restores again once some backup has stored the chunk anew.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from engine.chunking import Codec, chunk_digest
from engine.index import IndexEntry, Locator
from engine.jobs import JobRecord
from engine.manifest import Manifest
from engine.packs import MissingObjectError, VaultBucket, read_frames
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


def _chunk_offsets(manifest: Manifest) -> dict[bytes, list[int]]:
    offsets: dict[bytes, list[int]] = {}
    for index in sorted(manifest.segments):
        position = index * manifest.segment_bytes
        for ref in manifest.segments[index].chunks:
            offsets.setdefault(ref.digest, []).append(position)
            position += ref.raw_length
    return offsets


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


def scan_manifest(vault: Vault, manifest: Manifest, job: JobRecord | None = None) -> ScanReport:
    offsets = _chunk_offsets(manifest)
    digests = list(offsets)
    report = ScanReport(manifest.recovery_point_id)
    codec = Codec()
    with Locator(vault.index) as locator:
        for start in range(0, len(digests), LOOKUP_BATCH):
            _scan_batch(vault, locator, digests[start : start + LOOKUP_BATCH], offsets, codec, report)
            if job:
                job.progress(len(digests), report.chunks_checked, 0, report.chunks_checked)
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
        report.affected_recovery_points = [
            key for key in vault.manifest_keys() if vault.read_manifest(key).digests() & bad
        ]


def run_scan(vault: Vault, manifest: Manifest, job: JobRecord, now: datetime | None = None) -> ScanReport:
    job.running()
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

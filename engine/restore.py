"""Restore: rebuild a volume image from a manifest, verifying every chunk, into a file or a new snapshot.

The manifest is streamed (engine/manifest.py): its MAC is checked over a local spooled copy when it is
opened, and before the first byte is written its whole chain is read once (every record, every parent's
MAC and the totals), so a damaged manifest is refused before anything is restored; then segments are
restored one at a time as the manifest is read again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from elastio_contract.tags import JOB_VAULT_TAG_KEY, RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE, deployment_tag
from engine.chunking import Codec, chunk_digest
from engine.ebs import EbsDirect
from engine.index import IndexEntry, Locator
from engine.jobs import JobRecord
from engine.manifest import Manifest, ManifestFile, Segment
from engine.packs import MissingObjectError, read_frames
from engine.upgrade import prepare_vault
from engine.vault import Vault

# The vault task role starts snapshots and creates volumes only when they carry this tag and the deployment's
# elastio:deployment tag (src/elastio_pulumi/vault_documents.py, task_role_policy); without them a restore is
# denied.
ELASTIO_RESOURCE_TAG = {RESOURCE_TAG_KEY: RESOURCE_TAG_VALUE}


def restore_tags(vault_name: str, recovery_point_id: str, deployment: str | None) -> dict[str, str]:
    """Tags of a restored snapshot (and volume): ours, which deployment, which vault, which recovery point."""
    return {
        **ELASTIO_RESOURCE_TAG,
        **deployment_tag(deployment),
        JOB_VAULT_TAG_KEY: vault_name,
        "elastio:restored-from": recovery_point_id,
    }


class RestoreError(RuntimeError):
    pass


class ImageSink(Protocol):
    def start(self, volume_bytes: int) -> None: ...
    def write(self, offset: int, data: bytes) -> None: ...
    def finish(self) -> dict: ...
    def abort(self) -> None: ...


class FileSink:
    """Writes `<path>.partial` and renames it on success, so a failed restore leaves no image behind."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._fd: int | None = None

    def start(self, volume_bytes: int) -> None:
        self._fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self._fd, volume_bytes)  # sparse: zero segments cost no disk

    def write(self, offset: int, data: bytes) -> None:
        os.pwrite(self._fd, data, offset)

    def finish(self) -> dict:
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self._partial, self.path)
        return {"path": str(self.path)}

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._partial.unlink(missing_ok=True)


class EbsSnapshotSink:
    """Writes the non-zero blocks into a new snapshot through the EBS direct APIs."""

    def __init__(
        self,
        ebs: EbsDirect,
        description: str,
        tags: dict[str, str],
        kms_key_arn: str | None = None,
        volume_zone: str | None = None,
        ec2=None,
    ):
        """With `volume_zone`, a volume is created there from the finished snapshot."""
        self._ebs = ebs
        self._zone = volume_zone
        self._ec2 = ec2
        self._description = description
        self._tags = tags
        self._kms = kms_key_arn
        self.snapshot_id: str | None = None
        self._block = 0
        self._written = 0

    def start(self, volume_bytes: int) -> None:
        self.snapshot_id, self._block = self._ebs.start_snapshot(
            volume_bytes, self._description, self._tags, self._kms
        )

    def write(self, offset: int, data: bytes) -> None:
        if offset % self._block:
            raise RestoreError(
                f"segment offset {offset} is not aligned to the snapshot block size {self._block}"
            )
        for start in range(0, len(data), self._block):
            block = data[start : start + self._block]
            if block.count(0) == len(block):
                continue
            block = block.ljust(self._block, b"\0")
            self._ebs.write_block(self.snapshot_id, (offset + start) // self._block, block)
            self._written += 1

    def finish(self) -> dict:
        status = self._ebs.complete_snapshot(self.snapshot_id, self._written)
        outcome = {"snapshotId": self.snapshot_id, "status": status, "blocksWritten": self._written}
        if self._zone:
            tags = [{"Key": k, "Value": v} for k, v in self._tags.items()]
            volume = self._ec2.create_volume(
                SnapshotId=self.snapshot_id,
                AvailabilityZone=self._zone,
                TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
            )
            outcome["volumeId"] = volume["VolumeId"]
        return outcome

    def abort(self) -> None:
        pass  # an uncompleted snapshot is never usable and AWS expires it


def _resolve(vault: Vault, segment: Segment, locator: Locator) -> dict[bytes, IndexEntry]:
    digests = {ref.digest for ref in segment.chunks}
    entries = locator.locate(digests)
    missing = digests - entries.keys()
    if missing:
        raise RestoreError(
            f"segment {segment.index}: {len(missing)} chunk(s) missing from vault {vault.name}'s index, "
            f"e.g. {sorted(missing)[0].hex()}; run `elastio-engine scan` for the full list"
        )
    return entries


def read_segment(vault: Vault, segment: Segment, codec: Codec, locator: Locator) -> bytes:
    entries = _resolve(vault, segment, locator)
    try:
        frames = read_frames(vault.bucket, entries.values())
    except MissingObjectError:
        # A compaction moved these chunks to a new pack after we loaded the index: load it again.
        locator.reload()
        entries = _resolve(vault, segment, locator)
        frames = read_frames(vault.bucket, entries.values())
    out = bytearray()
    for ref in segment.chunks:
        try:
            data = codec.decompress(frames[ref.digest], ref.raw_length)
        except Exception as error:
            raise RestoreError(
                f"segment {segment.index}: chunk {ref.digest.hex()} does not decompress ({error})"
            ) from error
        if len(data) != ref.raw_length or chunk_digest(data, vault.chunk_key) != ref.digest:
            raise RestoreError(f"segment {segment.index}: chunk {ref.digest.hex()} failed hash verification")
        out += data
    return bytes(out)


def run_restore(vault: Vault, manifest: Manifest | ManifestFile, sink: ImageSink, job: JobRecord) -> dict:
    job.running()
    prepare_vault(vault, job.job_id)  # a vault's first job finishes its upgrade (engine/upgrade.py)
    if isinstance(manifest, ManifestFile):
        for _ in manifest.iter_segments():  # the whole chain, checked before anything is written
            pass
    codec = Codec()
    total = manifest.stored_logical_bytes
    done = 0
    sink.start(manifest.volume_bytes)
    locator = Locator(vault.index)
    try:
        for segment in manifest.iter_segments():
            data = read_segment(vault, segment, codec, locator)
            sink.write(segment.index * manifest.segment_bytes, data)
            done += len(data)
            job.progress(total, done, 0, len(segment.chunks))
        outcome = sink.finish()
    except BaseException:
        sink.abort()
        raise
    finally:
        locator.close()
    job.progress(total, done, 0, manifest.chunk_count, final=True)
    job.result(outcome)
    return outcome

"""Recovery point manifests: which chunks, in which order, rebuild a volume.

A manifest names chunks by hash only, never by pack location, so compaction can move chunks between packs
without touching any manifest. A volume is a sequence of fixed-size segments; a segment missing from the
manifest is all zeros (EBS snapshots are sparse). Chunking restarts at every segment boundary, which lets
an incremental backup re-chunk only the segments that hold changed blocks and copy the rest from its parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from engine.chunking import HASH_BYTES

MANIFEST_VERSION = 1


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class ChunkRef:
    digest: bytes
    raw_length: int


@dataclass
class Segment:
    index: int  # segment number; byte offset = index * segment_bytes
    chunks: list[ChunkRef]

    @property
    def raw_length(self) -> int:
        return sum(ref.raw_length for ref in self.chunks)


@dataclass
class Manifest:
    vault_name: str
    asset_id: str
    recovery_point_id: str
    snapshot_id: str
    volume_bytes: int
    segment_bytes: int
    chunker: dict[str, int]
    created_at: str
    parent_recovery_point_id: str | None = None
    segments: dict[int, Segment] = field(default_factory=dict)

    def chunk_refs(self):
        for index in sorted(self.segments):
            yield from self.segments[index].chunks

    def digests(self) -> set[bytes]:
        return {ref.digest for ref in self.chunk_refs()}

    def segment_length(self, index: int) -> int:
        """Bytes of segment `index` (the last one may be short; one past the volume holds none)."""
        return max(0, min(self.segment_bytes, self.volume_bytes - index * self.segment_bytes))

    @property
    def chunk_count(self) -> int:
        return sum(len(segment.chunks) for segment in self.segments.values())

    @property
    def logical_bytes(self) -> int:
        return self.volume_bytes

    @property
    def stored_logical_bytes(self) -> int:
        """Bytes the segments cover (the rest of the volume is zeros and costs nothing)."""
        return sum(segment.raw_length for segment in self.segments.values())

    def to_json(self) -> bytes:
        document = {
            "version": MANIFEST_VERSION,
            "vaultName": self.vault_name,
            "assetId": self.asset_id,
            "recoveryPointId": self.recovery_point_id,
            "snapshotId": self.snapshot_id,
            "parentRecoveryPointId": self.parent_recovery_point_id,
            "volumeBytes": self.volume_bytes,
            "segmentBytes": self.segment_bytes,
            "chunker": self.chunker,
            "createdAt": self.created_at,
            # Compact on purpose: a manifest holds one entry per chunk.
            "segments": [
                [index, [[ref.digest.hex(), ref.raw_length] for ref in self.segments[index].chunks]]
                for index in sorted(self.segments)
            ],
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes, source: str = "manifest") -> Manifest:
        try:
            document = json.loads(raw)
            if document.get("version") != MANIFEST_VERSION:
                raise ManifestError(
                    f"{source}: manifest version {document.get('version')!r} is not supported "
                    f"(this engine reads version {MANIFEST_VERSION})"
                )
            manifest = cls(
                vault_name=document["vaultName"],
                asset_id=document["assetId"],
                recovery_point_id=document["recoveryPointId"],
                snapshot_id=document["snapshotId"],
                parent_recovery_point_id=document.get("parentRecoveryPointId"),
                volume_bytes=int(document["volumeBytes"]),
                segment_bytes=int(document["segmentBytes"]),
                chunker=dict(document["chunker"]),
                created_at=document["createdAt"],
            )
            for index, refs in document["segments"]:
                chunks = [ChunkRef(bytes.fromhex(digest), int(length)) for digest, length in refs]
                if any(len(ref.digest) != HASH_BYTES for ref in chunks):
                    raise ManifestError(f"{source}: segment {index} has a chunk hash of the wrong length")
                segment = Segment(int(index), chunks)
                expected = manifest.segment_length(segment.index)
                # A segment is stored whole or as zeros (no chunks): anything else restores wrong bytes.
                if chunks and segment.raw_length != expected:
                    raise ManifestError(
                        f"{source}: segment {index}'s chunks add up to {segment.raw_length} bytes, the segment "
                        f"holds {expected}; the manifest is damaged"
                    )
                manifest.segments[segment.index] = segment
        except ManifestError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise ManifestError(
                f"{source}: not a readable manifest ({type(error).__name__}: {error})"
            ) from error
        return manifest


def manifest_key(asset_id: str, recovery_point_id: str) -> str:
    return f"manifests/{asset_id}/{recovery_point_id}.json"

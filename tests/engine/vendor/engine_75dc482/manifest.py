"""Recovery point manifests: which chunks, in which order, rebuild a volume.

A manifest names chunks by hash only, never by pack location, so compaction can move chunks between packs
without touching any manifest. A volume is a sequence of fixed-size segments; a segment missing from the
manifest is all zeros (EBS snapshots are sparse). Chunking restarts at every segment boundary, which lets
an incremental backup re-chunk only the segments that hold changed blocks and copy the rest from its parent.

Integrity: a version-2 manifest ends in `"mac":"<hex>"`, a keyed BLAKE2b-256 (the vault's manifest key,
engine/vaultconfig.py) of the exact bytes before it, so any edit — even one that leaves valid JSON and
segments that add up — is refused on read. Version 1 (no MAC) is read only in vaults that predate the
vault configuration (plain chunk ids), where every manifest is version 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from tests.engine.vendor.engine_75dc482.chunking import HASH_BYTES

MANIFEST_VERSION = 2
UNSIGNED_VERSION = 1
_MAC_SUFFIX = re.compile(rb',"mac":"([0-9a-f]{64})"\}$')


def _mac(body: bytes, key: bytes) -> str:
    return hashlib.blake2b(body, digest_size=32, key=key).hexdigest()


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

    def to_json(self, mac_key: bytes) -> bytes:
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
        body = json.dumps(document, separators=(",", ":")).encode()
        return body[:-1] + b',"mac":"' + _mac(body, mac_key).encode() + b'"}'

    @classmethod
    def from_json(
        cls, raw: bytes, source: str = "manifest", mac_key: bytes | None = None, accept_unsigned: bool = False
    ) -> Manifest:
        try:
            document = json.loads(raw)
            version = document.get("version")
            if version == MANIFEST_VERSION:
                signed = _MAC_SUFFIX.search(raw)
                body = raw[: signed.start()] + b"}" if signed else b""
                if not (signed and mac_key and hmac.compare_digest(_mac(body, mac_key), signed.group(1).decode())):
                    raise ManifestError(
                        f"{source}: fails its integrity check (its MAC does not match the vault's key): it was "
                        "edited or damaged; nothing is restored from it"
                    )
            elif not (version == UNSIGNED_VERSION and accept_unsigned):
                raise ManifestError(
                    f"{source}: manifest version {version!r} is not supported here "
                    f"(this vault reads version {MANIFEST_VERSION}, with a MAC)"
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

"""The EBS snapshots a backup reads, made readable to the vault engine before its job is submitted.

The vault task role may call the EBS direct APIs only on snapshots tagged `elastio:resource = "true"`
(attribute-based access, src/elastio_pulumi/vault_documents.py), and customers' snapshots do not carry that tag. So
Background jobs adds it (and only it: that is all its role may do with ec2:CreateTags) to every snapshot the
engine will read: the source snapshot (ListSnapshotBlocks, GetSnapshotBlock) and, for an incremental backup,
the parent recovery point's snapshot (the first snapshot of ListChangedBlocks, engine/backup.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from elastio_contract.tags import RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE
from lambdas.shared import aws
from lambdas.shared.envelopes import CommandRejected

ENGINE_READABLE_TAG = {"Key": RESOURCE_TAG_KEY, "Value": RESOURCE_TAG_VALUE}
NOT_FOUND_CODES = ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed")


@dataclass(frozen=True)
class SnapshotRead:
    """A snapshot the engine will read, with how messages name it and what to do if it is not there."""

    snapshot_id: str
    named: str
    if_missing: str


def source_read(snapshot_id: str) -> SnapshotRead:
    return SnapshotRead(snapshot_id, f"source snapshot {snapshot_id!r}", "check the snapshotId")


def parent_read(snapshot_id: str, parent_recovery_point_id: str) -> SnapshotRead:
    return SnapshotRead(
        snapshot_id,
        f"snapshot {snapshot_id!r} of parent recovery point {parent_recovery_point_id!r}",
        "send backup.start without parentRecoveryPointId (the engine then reads the whole source snapshot; "
        "the vault still stores only chunks it does not have)",
    )


def has_engine_tag(snapshot: Mapping[str, Any]) -> bool:
    return ENGINE_READABLE_TAG in snapshot.get("Tags", [])


def unreadable_reason(snapshot: Mapping[str, Any]) -> str | None:
    """Why the EBS direct APIs cannot read this snapshot now, or None when they can."""
    if snapshot.get("StorageTier") == "archive":
        return "is archived; restore it to the standard tier (ec2 restore-snapshot-tier), then send the command again"
    state = snapshot.get("State", "completed")
    if state != "completed":
        return f"is {state}, not completed; send the command again once it is completed"
    return None


def describe_own_snapshot(read: SnapshotRead) -> dict[str, Any]:
    """The snapshot, if this account owns it in this region; otherwise a rejection naming it."""
    ec2 = aws.client("ec2")
    missing = CommandRejected(
        f"{read.named} is not a snapshot of this account in {ec2.meta.region_name}; {read.if_missing}")
    try:
        found = ec2.describe_snapshots(SnapshotIds=[read.snapshot_id], OwnerIds=["self"])["Snapshots"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in NOT_FOUND_CODES:
            raise missing from None
        raise
    if not found:  # another account's snapshot shared with this one: the owner filter leaves it out
        raise missing
    return found[0]


def make_readable_to_engine(reads: Iterable[SnapshotRead]) -> list[str]:
    """Check every snapshot the engine will read, then tag those without the tag; returns the ids tagged.

    Nothing is tagged unless all of them are usable. Tagging is idempotent (CreateTags sets the same value
    again), so a retried command simply repeats it.
    """
    to_tag = []
    for read in reads:
        snapshot = describe_own_snapshot(read)
        reason = unreadable_reason(snapshot)
        if reason:
            raise CommandRejected(f"{read.named} {reason}")
        if not has_engine_tag(snapshot) and read.snapshot_id not in to_tag:
            to_tag.append(read.snapshot_id)
    if to_tag:
        aws.client("ec2").create_tags(Resources=to_tag, Tags=[ENGINE_READABLE_TAG])
    return to_tag

"""Pure mapping from EC2/EBS events and Describe results to asset records (assets table items)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

INSTANCE, VOLUME, SNAPSHOT = "ec2:instance", "ebs:volume", "ebs:snapshot"

# EBS volume notification: (event, result) → volume state. Unlisted pairs keep the result as the state.
_VOLUME_STATE = {
    ("createVolume", "available"): "available",
    ("createVolume", "failed"): "error",
    ("deleteVolume", "deleted"): "deleted",
    ("attachVolume", "available"): "in-use",
    ("reattachVolume", "available"): "in-use",
    ("detachVolume", "available"): "available",
    ("modifyVolume", "completed"): "available",
}
_SNAPSHOT_STATE = {"succeeded": "completed", "failed": "error"}


# Within one second (EventBridge `time` has no finer resolution) the later step of a lifecycle wins.
_LIFECYCLE_RANK = {
    "pending": 1, "creating": 1, "running": 2, "available": 2, "in-use": 3, "completed": 3,
    "stopping": 4, "stopped": 5, "shutting-down": 6, "deleting": 6, "error": 6, "terminated": 7,
    "deleted": 8,
}


def lifecycle_rank(state: str) -> int:
    return _LIFECYCLE_RANK.get(state, 0)


@dataclass(frozen=True)
class Asset:
    asset_id: str
    asset_type: str
    state: str
    observed_at: str  # timestamp(): later observations sort after earlier ones
    detail: dict[str, Any] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        return {"assetId": self.asset_id, "assetType": self.asset_type, "state": self.state,
                "detail": self.detail, "updatedAt": self.observed_at, "stateRank": lifecycle_rank(self.state)}

    def summary(self) -> dict[str, str]:
        return {"assetId": self.asset_id, "assetType": self.asset_type, "state": self.state}


def timestamp(moment: datetime) -> str:
    """Fixed-width UTC timestamps, so string order is time order in DynamoDB conditions."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resource_id(arn: str) -> str:
    """`arn:aws:ec2:region:account:volume/vol-1` → `vol-1` (also accepts a bare id)."""
    return arn.rsplit("/", 1)[-1]


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def assets_from_event(detail_type: str, detail: dict[str, Any], resources: list[str],
                      time: datetime) -> list[Asset]:
    """The assets an EventBridge event is about; [] for events we do not track."""
    observed = timestamp(time)
    if detail_type == "EC2 Instance State-change Notification":
        return [Asset(detail["instance-id"], INSTANCE, detail["state"], observed)]
    if detail_type == "EBS Volume Notification":
        event, result = detail.get("event", ""), detail.get("result", "")
        state = _VOLUME_STATE.get((event, result), result or "unknown")
        facts = {"lastEvent": event, "cause": detail.get("cause", "")}
        volumes = [arn for arn in resources if ":volume/" in arn]
        return [Asset(resource_id(arn), VOLUME, state, observed, facts) for arn in volumes]
    if detail_type == "EBS Snapshot Notification":
        if detail.get("event") == "createSnapshots":  # multi-volume snapshot set
            return [_snapshot(s["snapshot_id"], s.get("status", ""), s.get("source", ""), "createSnapshots",
                              observed) for s in detail.get("snapshots", [])]
        if "snapshot_id" in detail:
            return [_snapshot(detail["snapshot_id"], detail.get("result", ""), detail.get("source", ""),
                              detail.get("event", ""), observed)]
    return []


def _snapshot(arn: str, result: str, source: str, event: str, observed: str) -> Asset:
    state = _SNAPSHOT_STATE.get(result, result or "unknown")
    facts = {"volumeId": resource_id(source), "lastEvent": event}
    return Asset(resource_id(arn), SNAPSHOT, state, observed, facts)


def instance_asset(instance: dict[str, Any], observed: str) -> Asset:
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    volumes = [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]
    return Asset(instance["InstanceId"], INSTANCE, instance["State"]["Name"], observed, {
        "instanceType": instance.get("InstanceType", ""),
        "availabilityZone": instance.get("Placement", {}).get("AvailabilityZone", ""),
        "volumeIds": volumes, "name": tags.get("Name", "")})


def volume_asset(volume: dict[str, Any], observed: str) -> Asset:
    return Asset(volume["VolumeId"], VOLUME, volume["State"], observed, {
        "sizeGiB": volume.get("Size", 0), "availabilityZone": volume.get("AvailabilityZone", ""),
        "encrypted": volume.get("Encrypted", False),
        "instanceIds": [a["InstanceId"] for a in volume.get("Attachments", [])]})


def snapshot_asset(snapshot: dict[str, Any], observed: str) -> Asset:
    return Asset(snapshot["SnapshotId"], SNAPSHOT, snapshot["State"], observed, {
        "volumeId": snapshot.get("VolumeId", ""), "sizeGiB": snapshot.get("VolumeSize", 0),
        "encrypted": snapshot.get("Encrypted", False), "startTime": _text(snapshot.get("StartTime", ""))})

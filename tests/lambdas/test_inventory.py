from __future__ import annotations

from datetime import UTC, datetime

import pytest

from elastio_contract import tables
from lambdas.inventory import handler as inventory_handler
from lambdas.inventory.assets import VOLUME, assets_from_event
from lambdas.inventory.handler import handler
from tests.lambdas.messages import command, eventbridge
from tests.lambdas.world import REGION, aws_client, aws_table, table_name

ACCOUNT = "123456789012"


def instance_event(instance_id: str, state: str, time: str = "2026-03-01T10:00:00Z") -> dict:
    return eventbridge("aws.ec2", "EC2 Instance State-change Notification",
                       {"instance-id": instance_id, "state": state},
                       [f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"], time)


def volume_event(volume_id: str, event: str, result: str) -> dict:
    return eventbridge("aws.ec2", "EBS Volume Notification",
                       {"event": event, "result": result, "cause": "", "request-id": "r-1"},
                       [f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume_id}"])


def asset(asset_id: str) -> dict | None:
    return aws_table(table_name(tables.ASSETS)).get_item(Key={"assetId": asset_id}).get("Item")


def test_instance_state_change_updates_asset_and_tells_tenant(world, context):
    handler(instance_event("i-0abc", "stopped"), context)
    (event,) = world.tenant_events()
    assert (asset("i-0abc")["assetType"], asset("i-0abc")["state"]) == ("ec2:instance", "stopped")
    assert event["type"] == "inventory.changed"
    assert event["payload"]["assets"] == [
        {"assetId": "i-0abc", "assetType": "ec2:instance", "state": "stopped"}]


def test_older_event_arriving_late_does_not_overwrite_newer_state(world, context):
    handler(instance_event("i-0abc", "stopped", "2026-03-01T10:05:00Z"), context)
    result = handler(instance_event("i-0abc", "running", "2026-03-01T10:00:00Z"), context)
    assert asset("i-0abc")["state"] == "stopped"
    assert result["ignored"] == 1 and len(world.tenant_events()) == 1


def test_volume_notification_records_volume_state(world, context):
    handler(volume_event("vol-0abc", "attachVolume", "available"), context)
    assert (asset("vol-0abc")["assetType"], asset("vol-0abc")["state"]) == ("ebs:volume", "in-use")


def test_snapshot_notification_records_completed_snapshot(world, context):
    handler(eventbridge("aws.ec2", "EBS Snapshot Notification", {
        "event": "createSnapshot", "result": "succeeded",
        "snapshot_id": f"arn:aws:ec2::{REGION}:snapshot/snap-0123456789abcdef0",
        "source": f"arn:aws:ec2::{REGION}:volume/vol-0abc"}, []), context)
    stored = asset("snap-0123456789abcdef0")
    assert (stored["state"], stored["detail"]["volumeId"]) == ("completed", "vol-0abc")


def test_multi_volume_snapshot_set_records_each_snapshot(world, context):
    handler(eventbridge("aws.ec2", "EBS Snapshot Notification", {
        "event": "createSnapshots", "result": "succeeded", "snapshots": [
            {"snapshot_id": f"arn:aws:ec2::{REGION}:snapshot/snap-1", "source": "vol-1",
             "status": "completed"},
            {"snapshot_id": f"arn:aws:ec2::{REGION}:snapshot/snap-2", "source": "vol-2",
             "status": "failed"}]},
        []), context)
    assert (asset("snap-1")["state"], asset("snap-2")["state"]) == ("completed", "error")


def test_untracked_event_changes_nothing(world, context):
    result = handler(eventbridge("aws.ec2", "EC2 Spot Instance Interruption Warning", {}, []), context)
    assert result["changed"] == 0 and world.tenant_events() == []


def test_malformed_event_is_an_error(world, context):
    with pytest.raises(Exception, match="time"):
        handler({"detail-type": "EBS Volume Notification", "source": "aws.ec2", "detail": {}}, context)


def test_refresh_records_instances_volumes_and_snapshots(world, context):
    ec2 = aws_client("ec2")
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    refresh = command("inventory.refresh", {})
    handler(refresh, context)
    assert asset(instance)["state"] == "running"
    assert (asset(volume)["state"], asset(volume)["detail"]["sizeGiB"]) == ("available", 8)
    assert asset(snapshot)["detail"]["volumeId"] == volume
    (event,) = world.tenant_events()
    assert event["correlationId"] == refresh["id"]
    assert event["payload"]["counts"]["ebs:snapshot"] == 1 and event["payload"]["counts"]["ec2:instance"] == 1


def test_refresh_follows_every_describe_page(world, context, monkeypatch):
    # moto pages DescribeInstances (not volumes or snapshots), so the instances prove the paging.
    monkeypatch.setattr(inventory_handler, "PAGE_SIZE", 5)
    ec2 = aws_client("ec2")
    # Seven reservations: moto pages by reservation.
    launched = [ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1) for _ in range(7)]
    instances = {reservation["Instances"][0]["InstanceId"] for reservation in launched}
    calls = []
    event_name = "provide-client-params.ec2.DescribeInstances"
    ec2.meta.events.register(event_name, lambda params, **_: calls.append(1), unique_id="count-pages")
    try:
        handler(command("inventory.refresh", {}), context)
    finally:
        ec2.meta.events.unregister(event_name, unique_id="count-pages")
    assert len(calls) == 2
    assert all(asset(i)["state"] == "running" for i in instances)


def test_refresh_marks_assets_no_longer_found_as_deleted(world, context):
    handler(instance_event("i-gone", "running", "2020-01-01T00:00:00Z"), context)
    world.tenant_events()
    handler(command("inventory.refresh", {}), context)
    assert asset("i-gone")["state"] == "deleted"
    assert world.tenant_events()[0]["payload"]["removed"] == ["i-gone"]


def test_unknown_volume_event_keeps_result_as_state():
    (volume,) = assets_from_event("EBS Volume Notification", {"event": "copyVolume", "result": "weird"},
                                  [f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-9"], datetime.now(UTC))
    assert (volume.asset_type, volume.state) == (VOLUME, "weird")

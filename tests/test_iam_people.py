"""The six policies for people, evaluated: ElastioLocalBackup snapshots only volumes the customer opted in with a
tag key of its own (issue 11)."""

from __future__ import annotations

import pytest

from components import iam_documents as docs
from components import naming
from components.constants import LOCAL_BACKUP_TAG_KEY
from tests.iam_requests import Request, is_allowed

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PEOPLE = docs.managed_policies(docs.AccountScope(ACCOUNT, (REGION,), naming.IamNaming()))
PERSON = f"arn:aws:iam::{ACCOUNT}:user/alice"
VOLUME = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"
INSTANCE = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
SNAPSHOT = f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"
NEW_SNAPSHOT_TAGS = {"aws:RequestTag/elastio:resource": "true", "aws:TagKeys": ["elastio:resource"]}


def _snapshot(action: str, volume_tags: dict[str, str], *extra: str) -> bool:
    """Every resource CreateSnapshot(s) authorises must be allowed: the source volume(s), the new snapshot(s)."""
    tags = {f"aws:ResourceTag/{k}": v for k, v in volume_tags.items()}
    requests = [Request(PERSON, action, VOLUME, tags), Request(PERSON, action, SNAPSHOT, NEW_SNAPSHOT_TAGS)]
    requests += [Request(PERSON, action, arn) for arn in extra]
    return all(is_allowed(r, [PEOPLE["ElastioLocalBackup"]]) for r in requests)


@pytest.mark.parametrize("action", ["ec2:CreateSnapshot", "ec2:CreateSnapshots"])
def test_local_backup_snapshots_a_volume_opted_in_with_its_tag(action):
    extra = [INSTANCE] if action == "ec2:CreateSnapshots" else []
    assert _snapshot(action, {LOCAL_BACKUP_TAG_KEY: "true"}, *extra)


@pytest.mark.parametrize(
    "volume_tags",
    [{}, {"elastio:resource": "true"}, {LOCAL_BACKUP_TAG_KEY: "false"}],
    ids=["untagged", "elastio-resource-only", "opted-out"],
)
@pytest.mark.parametrize("action", ["ec2:CreateSnapshot", "ec2:CreateSnapshots"])
def test_local_backup_cannot_snapshot_a_volume_not_opted_in(action, volume_tags):
    extra = [INSTANCE] if action == "ec2:CreateSnapshots" else []
    assert not _snapshot(action, volume_tags, *extra)


def test_the_opt_in_tag_grants_mount_and_restore_nothing_on_the_volume():
    # elastio:resource on a customer volume would let ElastioMountAndRestore attach and detach it.
    opted_in = Request(PERSON, "ec2:DetachVolume", VOLUME, {f"aws:ResourceTag/{LOCAL_BACKUP_TAG_KEY}": "true"})
    assert not is_allowed(opted_in, [PEOPLE["ElastioMountAndRestore"]])

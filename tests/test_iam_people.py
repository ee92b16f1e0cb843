"""The six policies for people, evaluated: ElastioLocalBackup snapshots only volumes the customer opted in with a
tag key of its own (issue 11)."""

from __future__ import annotations

import pytest

from elastio_pulumi import iam_documents as docs
from elastio_pulumi import naming
from elastio_pulumi import vault_documents as vault
from elastio_pulumi.constants import LOCAL_BACKUP_TAG_KEY
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


VAULT_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/vault-key"
CUSTOMER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/customer-key"
# A key policy that delegates to IAM, as the vault keys' and most customer keys' do.
DELEGATING = vault.key_policy(
    ACCOUNT,
    REGION,
    f"arn:aws:iam::{ACCOUNT}:role/ElastioVault-primary-euw1-task",
    f"elastio-primary-{ACCOUNT}-{REGION}",
)
VIA_EC2 = {"kms:ViaService": f"ec2.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}


@pytest.mark.parametrize("action", ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"])
def test_mount_and_restore_uses_the_vault_key_through_ec2_to_create_a_volume_from_a_restored_snapshot(action):
    context = {**VIA_EC2, "aws:ResourceTag/elastio:resource": "true", "kms:GrantIsForAWSResource": True}
    request = Request(PERSON, action, VAULT_KEY, context)
    assert is_allowed(request, [PEOPLE["ElastioMountAndRestore"]], key_policy=DELEGATING)
    direct = Request(PERSON, action, VAULT_KEY, {**context, "kms:ViaService": f"s3.{REGION}.amazonaws.com"})
    assert not is_allowed(direct, [PEOPLE["ElastioMountAndRestore"]], key_policy=DELEGATING)


def test_local_backup_reads_a_snapshot_encrypted_with_a_customer_key_through_ec2_only():
    through_ec2 = Request(PERSON, "kms:Decrypt", CUSTOMER_KEY, VIA_EC2)
    assert is_allowed(through_ec2, [PEOPLE["ElastioLocalBackup"]], key_policy=DELEGATING)
    directly = Request(PERSON, "kms:Decrypt", CUSTOMER_KEY, {"kms:CallerAccount": ACCOUNT})
    assert not is_allowed(directly, [PEOPLE["ElastioLocalBackup"]], key_policy=DELEGATING)

"""Vault data as AWS evaluates it (issue 11): packs and manifests are read, written and deleted by the vault's
task role only, read by the configured break-glass role, and refused to everyone else in the account (an
administrator included); reports stay readable to account principals whose IAM policies allow it.

Each case evaluates the principal's identity policies with the vault bucket policy (tests/iam_requests.py).
"""

from __future__ import annotations

import json

import pytest

from elastio_pulumi import iam_documents as docs
from elastio_pulumi import naming
from elastio_pulumi import vault_documents as vault
from plan import build_plan
from plan.fake_cloud import FakeCloud
from tests.components.test_vault_documents import BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN
from tests.components.test_vault_documents import SCOPE as VAULT
from tests.iam_requests import Request, is_allowed
from tests.support import example_stack_values

ACCOUNT = VAULT.account_id
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/ops/BreakGlass"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Administrator"
POLICY = vault.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN, BREAK_GLASS)
EVERYTHING = docs.document({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"})
TASK_POLICY = vault.task_role_policy(VAULT)
BOUNDARY = docs.default_permissions_boundary(docs.AccountScope(ACCOUNT, (VAULT.region,), naming.IamNaming()))
IN_ACCOUNT = {"s3:ResourceAccount": ACCOUNT}
DATA = [f"{BUCKET_ARN}/packs/0001.pack", f"{BUCKET_ARN}/manifests/vol-1/rp-1.json", f"{BUCKET_ARN}/other/x"]
REPORT = f"{BUCKET_ARN}/reports/integrity/2026-01-01T00-00-00Z.json"


def _allowed(principal: str, action: str, resource: str, identity: dict, boundary: dict | None = None) -> bool:
    request = Request(principal, action, resource, IN_ACCOUNT)
    return is_allowed(request, [identity], boundary=boundary, resource_policy=POLICY)


@pytest.mark.parametrize("resource", DATA)
@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
def test_the_task_role_reads_writes_and_deletes_vault_data_through_its_boundary(action, resource):
    assert _allowed(TASK_ROLE_ARN, action, resource, TASK_POLICY, BOUNDARY)


@pytest.mark.parametrize("resource", DATA)
def test_the_break_glass_role_reads_vault_data(resource):
    assert _allowed(BREAK_GLASS, "s3:GetObject", resource, EVERYTHING)


@pytest.mark.parametrize("resource", DATA)
@pytest.mark.parametrize("action", ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"])
def test_the_break_glass_role_cannot_change_or_delete_vault_data(action, resource):
    assert not _allowed(BREAK_GLASS, action, resource, EVERYTHING)


@pytest.mark.parametrize("resource", DATA)
@pytest.mark.parametrize(
    "action",
    ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
     "s3:BypassGovernanceRetention"],
)
def test_an_administrator_of_the_account_is_refused_vault_data(action, resource):
    assert not _allowed(ADMIN, action, resource, EVERYTHING)


def test_integrity_reports_stay_readable_to_a_person_with_full_admin():
    full_admin = docs.managed_policies(docs.AccountScope(ACCOUNT, (VAULT.region,), naming.IamNaming()))
    assert _allowed(f"arn:aws:iam::{ACCOUNT}:user/alice", "s3:GetObject", REPORT, full_admin["ElastioFullAdmin"])


def test_without_a_break_glass_role_only_the_task_role_reads():
    alone = vault.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN)
    request = Request(BREAK_GLASS, "s3:GetObject", DATA[0], IN_ACCOUNT)
    assert not is_allowed(request, [EVERYTHING], resource_policy=alone)


def test_a_break_glass_role_of_another_account_is_refused_with_the_key_and_the_fix():
    with pytest.raises(ValueError, match=r"^elastio:iam\.breakGlassRoleArn: arn:aws:iam::999988887777:role/X .*"
                                         r"name a role of the account you deploy to$"):
        vault.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN, "arn:aws:iam::999988887777:role/X")


def test_the_planned_bucket_policies_name_the_configured_break_glass_role():
    values = example_stack_values()
    role = f"arn:aws:iam::{FakeCloud.ACCOUNT_ID}:role/BreakGlass"
    values["elastio:iam"] = {"breakGlassRoleArn": role}
    plan = build_plan("break-glass", stack_values=values)
    policies = [r for r in plan.resources if r.type == "aws:s3/bucketPolicy:BucketPolicy"]
    assert len(policies) == 3
    for record in policies:
        statements = json.loads(record.inputs["policy"])["Statement"]
        readers = next(s for s in statements if s["Sid"] == "DataReadOnlyByVaultRoles")
        assert role in readers["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
def test_a_bucket_of_the_vault_name_owned_by_another_account_gets_nothing_from_the_task_role(action):
    # S3 names are global: someone could own a bucket matching our name first (s3:ResourceAccount).
    foreign = Request(TASK_ROLE_ARN, action, DATA[0], {"s3:ResourceAccount": "999988887777"})
    assert not is_allowed(foreign, [TASK_POLICY])
    assert is_allowed(Request(TASK_ROLE_ARN, action, DATA[0], IN_ACCOUNT), [TASK_POLICY])


def test_integrity_reports_are_not_written_to_a_bucket_of_another_account():
    from elastio_pulumi import connector_documents as connector
    from tests.components.test_connector_documents import SCOPE as CONNECTOR

    role = f"arn:aws:iam::{CONNECTOR.account_id}:role/ElastioIntegrityChecks-euw1"
    policy = connector.function_role_policy(CONNECTOR, "integrity_checks")
    report = f"{CONNECTOR.vaults[0].bucket_arn}/reports/integrity/x.json"
    assert not is_allowed(Request(role, "s3:PutObject", report, {"s3:ResourceAccount": "999988887777"}), [policy])
    assert is_allowed(Request(role, "s3:PutObject", report, {"s3:ResourceAccount": CONNECTOR.account_id}), [policy])

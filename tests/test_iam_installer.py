"""ElastioInstaller as AWS evaluates it (issue 11): the routine updates of a deployed stack are allowed, every
escalation path the issue lists is denied, with the default boundary and with a customer's boundary.

Requests carry the condition keys AWS puts in their context (Service Authorization Reference): e.g.
iam:PermissionsBoundary on role writes, iam:PolicyARN on AttachRolePolicy, kms:BypassPolicyLockoutSafetyCheck
on PutKeyPolicy. tests/iam_requests.py evaluates them against the whole installer document.
"""

from __future__ import annotations

import pytest

from elastio_pulumi import iam_documents as docs
from elastio_pulumi import naming
from elastio_pulumi.constants import MANAGED_POLICY_NAMES
from tests.iam_requests import Request, is_allowed

ACCOUNT = "123456789012"
REGION = "eu-west-1"
IAM = naming.IamNaming(prefix="Acme-", suffix="-prod")
SCOPE = docs.AccountScope(ACCOUNT, ("us-east-1", REGION), IAM)
DEFAULT_BOUNDARY = docs.policy_arn(SCOPE, naming.default_boundary_name(IAM))
CUSTOMER_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/corporate/CorpBoundary"
INSTALLER = f"arn:aws:iam::{ACCOUNT}:role/{naming.installer_role_name(IAM)}"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


TENANT = role(naming.tenant_role_name(IAM))
FUNCTION = role(naming.function_role_name(IAM, "background_jobs", REGION))
VAULT_TASK = role(naming.vault_role_name(IAM, "primary", REGION, "task"))
DEFAULT = naming.DEFAULT_NAME_PREFIX
BUCKET = f"arn:aws:s3:::{naming.vault_bucket_name(DEFAULT, 'primary', ACCOUNT, REGION)}"
INDEX = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.vault_index_table_name(DEFAULT, 'primary')}"
JOBS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{naming.table_name(DEFAULT, naming.JOBS_TABLE)}"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGGED = {"aws:ResourceTag/elastio:resource": "true"}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
PEOPLE_POLICIES = [docs.policy_arn(SCOPE, naming.managed_policy_name(IAM, n)) for n in MANAGED_POLICY_NAMES]


def escalations(boundary: str) -> list[tuple[str, str, dict]]:
    """(action, resource, context) the installer must never be allowed."""
    bounded = {"iam:PermissionsBoundary": boundary}
    return [
        *[("iam:UpdateAssumeRolePolicy", arn, {}) for arn in (TENANT, FUNCTION, VAULT_TASK)],
        # The tenant role has no boundary by default: set ours, then write any inline policy.
        ("iam:PutRolePermissionsBoundary", TENANT, bounded),
        ("iam:PutRolePolicy", TENANT, bounded),
        ("iam:DeleteRolePermissionsBoundary", TENANT, bounded),
        *[("iam:AttachRolePolicy", arn, {**bounded, "iam:PolicyARN": ADMIN}) for arn in (FUNCTION, VAULT_TASK)],
        *[
            (action, arn, {})
            for arn in (*PEOPLE_POLICIES, boundary)
            for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion")
        ],
        # Roles other than the connector's and vaults' name patterns, or without the boundary.
        ("iam:CreateRole", role(IAM.name("ElastioBreakGlass")), bounded),
        ("iam:CreateRole", role("AnyOtherRole"), bounded),
        ("iam:CreateRole", FUNCTION, {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ("iam:PutRolePolicy", FUNCTION, {}),
        ("kms:PutKeyPolicy", KEY, {**TAGGED, "kms:BypassPolicyLockoutSafetyCheck": True}),
        *[
            (action, BUCKET, {"s3:ResourceAccount": ACCOUNT})
            for action in (
                "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
                "s3:PutBucketObjectLockConfiguration", "s3:PutEncryptionConfiguration",
                "s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration", "s3:DeleteBucket",
            )
        ],
        ("s3:GetObject", f"{BUCKET}/packs/1.pack", {"s3:ResourceAccount": ACCOUNT}),
        *[
            (action, table, {})
            for table in (INDEX, JOBS)
            for action in ("dynamodb:UpdateTimeToLive", "dynamodb:UpdateContinuousBackups", "dynamodb:DeleteTable")
        ],
    ]


def routine_updates(boundary: str) -> list[tuple[str, str, dict]]:
    """(action, resource, context) an update of a deployed stack needs."""
    bounded = {"iam:PermissionsBoundary": boundary}
    return [
        ("ecs:DeregisterTaskDefinition", "*", {}),
        ("ec2:AuthorizeSecurityGroupIngress", f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1", TAGGED),
        ("ec2:ModifySecurityGroupRules", f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1", TAGGED),
        ("sns:GetSubscriptionAttributes", "*", {}),
        ("sns:Unsubscribe", "*", {}),
        (
            "kms:CreateGrant",
            KEY,
            {**TAGGED, "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com", "kms:GrantIsForAWSResource": True},
        ),
        ("iam:PutRolePolicy", FUNCTION, bounded),
        ("iam:CreateRole", VAULT_TASK, bounded),
        ("iam:GetRole", TENANT, {}),
        # A change of elastio:tags retags every resource, the account roles included.
        *[(action, arn, {}) for arn in (TENANT, INSTALLER, FUNCTION) for action in ("iam:TagRole", "iam:UntagRole")],
        ("kms:PutKeyPolicy", KEY, TAGGED),
        ("s3:GetBucketPolicy", BUCKET, {"s3:ResourceAccount": ACCOUNT}),
    ]


BOUNDARIES = {"default-boundary": DEFAULT_BOUNDARY, "customer-boundary": CUSTOMER_BOUNDARY}


def _cases(table) -> list:
    return [
        pytest.param(boundary, *case, id=f"{label}-{case[0]}-{case[1].rsplit('/', 1)[-1]}")
        for label, boundary in BOUNDARIES.items()
        for case in table(boundary)
    ]


@pytest.mark.parametrize(("boundary", "action", "resource", "context"), _cases(escalations))
def test_an_escalation_path_is_denied_to_the_installer(boundary, action, resource, context):
    policy = docs.installer_policy(SCOPE, boundary)
    assert not is_allowed(Request(INSTALLER, action, resource, context), [policy])


@pytest.mark.parametrize(("boundary", "action", "resource", "context"), _cases(routine_updates))
def test_a_routine_update_is_allowed_to_the_installer(boundary, action, resource, context):
    policy = docs.installer_policy(SCOPE, boundary)
    assert is_allowed(Request(INSTALLER, action, resource, context), [policy])


def test_the_escalation_denies_hold_even_if_another_policy_grants_everything():
    # Explicit denies, not missing grants: a customer attaching more to the installer changes nothing.
    everything = docs.document({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"})
    for action, resource, context in escalations(DEFAULT_BOUNDARY):
        if action == "iam:CreateRole" and context.get("iam:PermissionsBoundary") == DEFAULT_BOUNDARY:
            continue  # other names with the boundary are bounded roles; only the installer's grant omits them
        request = Request(INSTALLER, action, resource, context)
        assert not is_allowed(request, [docs.installer_policy(SCOPE, DEFAULT_BOUNDARY), everything]), action

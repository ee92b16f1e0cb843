"""The default permissions boundary as AWS applies it: the calls the connector's functions and the vault engine
make pass through it (issue 11, "blocked calls"), and it grants nothing no bounded role's own policy grants.

Each request names the role that makes it, its resource and the condition keys AWS puts in its context
(Service Authorization Reference); tests/iam_requests.py evaluates identity policy ∩ boundary ∩ key policy.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from elastio_pulumi import connector_documents as connector
from elastio_pulumi import iam_documents as docs
from elastio_pulumi import naming
from elastio_pulumi import vault_documents as vault
from elastio_pulumi.constants import JOB_VAULT_TAG_KEY, SUPPORTED_REGIONS
from engine.vaultconfig import secret_context
from tests.components.test_connector_documents import SCOPE as CONNECTOR
from tests.components.test_vault_documents import LOG_GROUP_ARN, PRIVATE_IMAGE, TASK_ROLE_ARN
from tests.components.test_vault_documents import SCOPE as VAULT
from tests.iam_requests import Request, is_allowed

ACCOUNT = CONNECTOR.account_id
REGION = CONNECTOR.region
assert (VAULT.account_id, VAULT.region) == (ACCOUNT, REGION)
BOUNDARY = docs.default_permissions_boundary(docs.AccountScope(ACCOUNT, (REGION,), naming.IamNaming()))

SNAPSHOT = f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"
VOLUME = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"
AWS_EBS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aws-ebs-default"  # aws/ebs: no Elastio tag
VIA_EC2 = {"kms:ViaService": f"ec2.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
MARKER = {"aws:RequestTag/elastio:resource": "true", "aws:TagKeys": ["elastio:resource"]}
TAGGED_KEY = {"aws:ResourceTag/elastio:resource": "true"}
IN_ACCOUNT = {"s3:ResourceAccount": ACCOUNT}
PRIMARY = CONNECTOR.vaults[0]


def function_role(service: str) -> tuple[str, dict]:
    arn = f"arn:aws:iam::{ACCOUNT}:role/{naming.function_role_name(naming.IamNaming(), service, REGION)}"
    return arn, connector.function_role_policy(CONNECTOR, service)


TASK = (TASK_ROLE_ARN, vault.task_role_policy(VAULT))
VAULT_BUCKET = VAULT.bucket_arn.split(":::", 1)[1]
KEY_POLICY = vault.key_policy(ACCOUNT, REGION, TASK_ROLE_ARN, VAULT_BUCKET)
# A direct KMS request with the vault secret's encryption context (engine/vaultconfig.py).
SECRET = {
    **{f"kms:EncryptionContext:{k}": v for k, v in secret_context(VAULT_BUCKET).items()},
    "kms:EncryptionContextKeys": list(secret_context(VAULT_BUCKET)),
    "kms:CallerAccount": ACCOUNT,
}

# (who, action, resource, context, key policy of the resource when it is a KMS key)
BLOCKED_BEFORE = [
    # backup.start marks the customer's snapshot for the engine (lambdas/background_jobs/snapshots.py).
    ("background_jobs", "ec2:CreateTags", SNAPSHOT, MARKER, None),
    ("background_jobs", "batch:TagResource", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/j-1",
     {"aws:RequestTag/elastio:vault": "primary", "aws:TagKeys": ["elastio:job-id", "elastio:vault"]}, None),
    ("background_jobs", "batch:TerminateJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/j-1",
     {f"aws:ResourceTag/{JOB_VAULT_TAG_KEY}": "primary"}, None),
    # Restore to an availability zone.
    ("task", "ec2:CreateVolume", VOLUME, {"aws:RequestTag/elastio:resource": "true"}, None),
    ("task", "ec2:CreateVolume", SNAPSHOT, {"aws:RequestTag/elastio:resource": "true"}, None),
    ("task", "ec2:CreateTags", VOLUME, {"ec2:CreateAction": "CreateVolume", **MARKER}, None),
    ("task", "s3:GetObjectRetention", f"{VAULT.bucket_arn}/packs/1.pack", IN_ACCOUNT, None),
    # EBS direct APIs and CreateVolume with the vault key (restores) and a source snapshot's key (aws/ebs).
    *[
        ("task", action, key, {**VIA_EC2, **tags}, policy)
        for key, tags, policy in ((VAULT.key_arn, TAGGED_KEY, KEY_POLICY), (AWS_EBS_KEY, {}, None))
        for action in ("kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey",
                       "kms:ReEncryptFrom", "kms:ReEncryptTo")
    ],
    ("task", "kms:CreateGrant", VAULT.key_arn, {**VIA_EC2, **TAGGED_KEY, "kms:GrantIsForAWSResource": True},
     KEY_POLICY),
    ("task", "kms:CreateGrant", AWS_EBS_KEY, {**VIA_EC2, "kms:GrantIsForAWSResource": True}, None),
    # The vault's first job makes the vault secret, every later job decrypts it: directly, not through S3.
    ("task", "kms:GenerateDataKey", VAULT.key_arn, {**SECRET, **TAGGED_KEY}, KEY_POLICY),
    ("task", "kms:Decrypt", VAULT.key_arn, {**SECRET, **TAGGED_KEY}, KEY_POLICY),
    # Integrity checks.
    ("integrity_checks", "sns:GetTopicAttributes", CONNECTOR.topic_arn(), {}, None),
    ("integrity_checks", "batch:DescribeJobQueues", "*", {}, None),
    ("integrity_checks", "batch:DescribeComputeEnvironments", "*", {}, None),
    ("integrity_checks", "batch:DescribeJobDefinitions", "*", {}, None),
    ("integrity_checks", "ecs:DescribeClusters", PRIMARY.cluster_arn, {}, None),
    ("integrity_checks", "s3:GetEncryptionConfiguration", PRIMARY.bucket_arn, IN_ACCOUNT, None),
    ("integrity_checks", "kms:GetKeyRotationStatus", PRIMARY.key_arn, TAGGED_KEY, None),
    # Provisioner (task ARNs name their cluster).
    *[
        ("provisioner", action, PRIMARY.cluster_arn.replace(":cluster/", ":task/") + "/0a1b2c",
         {"ecs:cluster": PRIMARY.cluster_arn}, None)
        for action in ("ecs:DescribeTasks", "ecs:StopTask")
    ],
]


def _role(who: str) -> tuple[str, dict]:
    return TASK if who == "task" else function_role(who)


@pytest.mark.parametrize(
    ("who", "action", "resource", "context", "key_policy"),
    BLOCKED_BEFORE,
    ids=[f"{c[0]}-{c[1]}-{c[2].rsplit('/', 1)[-1]}" for c in BLOCKED_BEFORE],
)
def test_a_call_the_code_makes_passes_the_boundary(who, action, resource, context, key_policy):
    principal, policy = _role(who)
    request = Request(principal, action, resource, context)
    assert is_allowed(request, [policy], key_policy=key_policy), "the role's own policy does not grant it"
    assert is_allowed(request, [policy], boundary=BOUNDARY, key_policy=key_policy), "the boundary blocks it"


def test_terminating_a_job_without_the_vault_tag_is_outside_the_boundary():
    other_job = Request(function_role("background_jobs")[0], "batch:TerminateJob",
                        f"arn:aws:batch:{REGION}:{ACCOUNT}:job/not-ours")
    assert not is_allowed(other_job, [docs.document(docs.statement("Any", ["batch:TerminateJob"], "*"))],
                          boundary=BOUNDARY)


def test_snapshot_marking_cannot_add_another_tag_through_the_boundary():
    principal, policy = function_role("background_jobs")
    extra = Request(principal, "ec2:CreateTags", SNAPSHOT, {**MARKER, "aws:TagKeys": ["elastio:resource", "Owner"]})
    anything = docs.document(docs.statement("Any", ["ec2:CreateTags"], "*"))
    assert not is_allowed(extra, [anything], boundary=BOUNDARY)


# --- nothing wider than the roles ----------------------------------------------------------------------


def _bounded_role_documents() -> list[dict]:
    functions = [connector.function_role_policy(CONNECTOR, f) for f in naming.FUNCTIONS]
    return [*functions, vault.task_role_policy(VAULT), vault.execution_role_policy(LOG_GROUP_ARN, [PRIVATE_IMAGE])]


def _allowed_actions(document: dict) -> set[str]:
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    return {a for s in allows for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_boundary_allows_no_action_that_no_bounded_role_is_granted():
    granted = set().union(*map(_allowed_actions, _bounded_role_documents()))
    wider = {a for a in _allowed_actions(BOUNDARY) if not any(fnmatchcase(g, a) for g in granted)}
    assert wider == set()  # e.g. ec2:CreateSnapshot on any volume, ec2:DeleteSnapshot


def test_every_action_a_bounded_role_is_granted_is_within_the_boundary():
    granted = set().union(*map(_allowed_actions, _bounded_role_documents()))
    outside = {g for g in granted if not any(fnmatchcase(g, a) for a in _allowed_actions(BOUNDARY))}
    assert outside == set()


def test_the_boundary_is_the_same_for_one_region_and_for_eleven():
    # The installer may not rewrite the boundary, so adding a region must not need a new version of it.
    eleven = docs.default_permissions_boundary(docs.AccountScope(ACCOUNT, SUPPORTED_REGIONS, naming.IamNaming()))
    assert eleven == BOUNDARY


def test_the_boundary_fits_iams_quota_at_eleven_regions_with_the_longest_names():
    scope = docs.AccountScope(ACCOUNT, SUPPORTED_REGIONS, naming.IamNaming("P" * 10, "S" * 10))
    assert docs.policy_size(docs.default_permissions_boundary(scope)) <= docs.MANAGED_POLICY_MAX_CHARS

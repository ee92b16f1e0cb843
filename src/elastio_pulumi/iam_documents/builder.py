"""What the account-level IAM documents share: the names of the tables, queues and services they address,
the statement and document builders, ARNs scoped to an AccountScope, the statements more than one
document grants, and IAM's size quota with the split that keeps a document under it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from elastio_pulumi import naming
from elastio_pulumi.constants import (
    DEPLOYMENT_TAG_KEY,
    MANAGED_POLICY_NAMES,
    PARTITION,
    RESOURCE_TAG_KEY,
    RESOURCE_TAG_VALUE,
)

# Queue and table purposes are named once, in naming.py; the documents here import them from this module.
from elastio_pulumi.naming import (  # noqa: F401 - re-exported to the other document modules
    ASSETS_TABLE,
    COMMANDS_DLQ,
    COMMANDS_QUEUE,
    FAILED_INVOCATIONS_QUEUE,
    JOBS_TABLE,
    QUEUES,
    RECOVERY_POINTS_TABLE,
    TENANT_EVENTS_QUEUE,
    VAULTS_TABLE,
)

VERSION = "2012-10-17"


LAMBDA_SERVICE = "lambda.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
BATCH_SERVICE = "batch.amazonaws.com"

# Tagged elastio:resource = true, by any deployment: only for what is not one deployment's own (the customer's
# snapshots that any deployment's Background jobs marks readable for its engine), and for Denies that protect
# every deployment's keys. A deployment's own resources are addressed by own_tagged.
TAGGED = {"StringEquals": {f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE}}
REQUEST_TAGGED = {"StringEquals": {f"aws:RequestTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE}}


def merge_conditions(*conditions: dict) -> dict:
    """One Condition block of several (operator -> key -> value): all of them must hold."""
    merged: dict = {}
    for condition in conditions:
        for operator, keys in condition.items():
            merged.setdefault(operator, {}).update(keys)
    return merged


def _tag_key(key: str, request: bool) -> str:
    return f"aws:{'RequestTag' if request else 'ResourceTag'}/{key}"


def own_deployment(name_prefix: str, *, request: bool = False) -> dict:
    """The deployment's elastio:deployment tag (its name prefix) on the resource, or in a create request.

    Every deployment's code tags what it makes with it, so the tag tells two deployments of one account apart
    where elastio:resource does not. The default deployment (elastio) also takes what carries no deployment tag
    (StringEqualsIfExists: true when the key is absent, IAM User Guide, "...IfExists condition operators"): the
    resources its earlier versions made (restored volumes and snapshots, Batch jobs, and its keys and security
    groups until `pulumi up` tags them) and the requests of an engine image older than its job definition. No
    other deployment's resource lacks the tag, so this reaches none of theirs; any other deployment requires it
    (StringEquals: false when the key is absent)."""
    operator = "StringEqualsIfExists" if name_prefix == naming.DEFAULT_NAME_PREFIX else "StringEquals"
    return {operator: {_tag_key(DEPLOYMENT_TAG_KEY, request): name_prefix}}


def own_tagged(name_prefix: str, *, request: bool = False) -> dict:
    """Tagged as Elastio's (elastio:resource = true) and as this deployment's (own_deployment); `request`: the
    tags of a create call (aws:RequestTag), else the resource's own (aws:ResourceTag)."""
    marker = {"StringEquals": {_tag_key(RESOURCE_TAG_KEY, request): RESOURCE_TAG_VALUE}}
    return merge_conditions(marker, own_deployment(name_prefix, request=request))


def not_another_deployments(name_prefix: str) -> dict:
    """Any resource but another deployment's: for grants on whatever key a customer's snapshot is encrypted with
    (the customer's keys and aws/ebs carry no elastio:deployment tag; another deployment's vault keys do)."""
    return {"StringEqualsIfExists": {_tag_key(DEPLOYMENT_TAG_KEY, False): name_prefix}}

# Read-only EC2 inventory: these actions support no resource-level permissions, so "*" is the only form.
EC2_INVENTORY_READ: tuple[str, ...] = (
    "ec2:DescribeInstances",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:DescribeTags",
)


@dataclass(frozen=True)
class AccountScope:
    """What every account-level document is scoped to."""

    account_id: str  # 12 digits
    regions: tuple[str, ...]  # the configured regions, named where a condition carries them (kms:ViaService)
    iam: naming.IamNaming  # prefix/suffix for IAM names, and the deployment's name prefix

    @property
    def name_prefix(self) -> str:
        """The deployment's name prefix (elastio:namePrefix): every regional name the documents address starts
        with `<name_prefix>-`, and no other deployment's does (naming.py says why)."""
        return self.iam.name_prefix


# --- small builders ------------------------------------------------------------------------------------


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str] | str,
    condition: dict | None = None,
    effect: str = "Allow",
) -> dict:
    stmt: dict = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else list(dict.fromkeys(resources)),
    }
    if condition:
        stmt["Condition"] = condition
    return stmt


def document(*statements: dict | None) -> dict:
    """A policy document of the statements given; None (a statement a setting leaves out) is skipped."""
    return {"Version": VERSION, "Statement": [s for s in statements if s]}


# Regional ARNs name every region with "*": the account and the <prefix>-* names already scope them, and one
# ARN per configured region made the installer and boundary documents outgrow IAM's size quotas (6,144
# characters per managed policy) at 11 regions. Where a region list is cheap and matters (kms:ViaService),
# the configured regions are still named.
ANY_REGION = "*"


def regional_arns(scope: AccountScope, service: str, resource: str) -> list[str]:
    return [naming.arn(service, ANY_REGION, scope.account_id, resource)]


def queue_arns(scope: AccountScope, *purposes: str) -> list[str]:
    names = [naming.queue_name(scope.name_prefix, purpose) for purpose in purposes]
    return [arn for name in names for arn in regional_arns(scope, "sqs", name)]


def table_arns(scope: AccountScope, *tables: str, indexes: bool = True) -> list[str]:
    arns = []
    for table in tables:
        base = regional_arns(scope, "dynamodb", f"table/{naming.table_name(scope.name_prefix, table)}")
        arns += base
        if indexes:
            arns += [f"{arn}/index/*" for arn in base]
    return arns


def all_table_arns(scope: AccountScope) -> list[str]:
    """Connector tables and every vault's index table (all named <prefix>-*), with their indexes."""
    base = regional_arns(scope, "dynamodb", f"table/{scope.name_prefix}-*")
    return base + [f"{arn}/index/*" for arn in base]


def key_arns(scope: AccountScope) -> list[str]:
    # KMS key ARNs carry a random id, so keys are told apart by the elastio:resource tag instead.
    return regional_arns(scope, "kms", "key/*")


def alias_arns(scope: AccountScope) -> list[str]:
    return regional_arns(scope, "kms", f"alias/{scope.name_prefix}-*")


def vault_bucket_arns(scope: AccountScope, objects: str | None = None) -> list[str]:
    """Vault buckets (<prefix>-<vault>-<account>-<region>); with `objects`, the object keys under them."""
    bucket = naming.vault_bucket_name(scope.name_prefix, "*", scope.account_id, ANY_REGION)
    buckets = [f"arn:{PARTITION}:s3:::{bucket}"]
    return buckets if objects is None else [f"{bucket}/{objects}" for bucket in buckets]


def function_arns(scope: AccountScope) -> list[str]:
    return regional_arns(scope, "lambda", f"function:{scope.name_prefix}-*")


def function_log_group_arns(scope: AccountScope) -> list[str]:
    """Log groups of the connector's functions and of the vaults' Batch jobs and ScaleZ server tasks."""
    groups = regional_arns(scope, "logs", f"log-group:/aws/lambda/{scope.name_prefix}-*") + regional_arns(
        scope, "logs", f"log-group:{naming.vault_log_group_name(scope.name_prefix, '*')}"
    )
    return groups + [f"{group}:log-stream:*" for group in groups]


def function_role_arns(scope: AccountScope) -> list[str]:
    # Role names end in a region code (naming.function_role_name); any region's role of each function.
    return [
        naming.iam_arn(scope.account_id, f"role/{naming.function_role_name(scope.iam, fn, naming.ANY)}")
        for fn in naming.FUNCTIONS
    ]


def vault_role_arns(scope: AccountScope) -> list[str]:
    # Vault names are not part of the account scope: the pattern keeps prefix, marker and suffix fixed.
    any_ = naming.ANY
    return [naming.iam_arn(scope.account_id, f"role/{naming.vault_role_name(scope.iam, any_, any_, any_)}")]


def elastio_role_arn_pattern(scope: AccountScope) -> str:
    """<prefix><Root>*<suffix>: every role the program creates, and the roles of any other deployment whose root
    extends this one's (Elastio* also matches ElastiostagingTenant). For Deny statements only; grants name the
    roles by elastio_role_arns."""
    return naming.iam_arn(scope.account_id, f"role/{scope.iam.name('*')}")


def elastio_role_arns(scope: AccountScope) -> list[str]:
    """Every role this deployment creates, and no other deployment's: each pattern continues the root with a
    capital (Tenant, Router-..., Vault-...), which no other root's names do there (naming.py)."""
    return [
        role_arn(scope, naming.tenant_role_name(scope.iam)),
        role_arn(scope, naming.installer_role_name(scope.iam)),
        *function_role_arns(scope),
        *vault_role_arns(scope),
    ]


def elastio_policy_arn_pattern(scope: AccountScope) -> str:
    """Like elastio_role_arn_pattern, for managed policies: Deny statements only."""
    return naming.iam_arn(scope.account_id, f"policy/{scope.iam.name('*')}")


def elastio_policy_arns(scope: AccountScope) -> list[str]:
    """Every managed policy this deployment creates (the default boundary, the installer's parts and the six
    policies for people), and no other deployment's."""
    return [
        policy_arn(scope, naming.default_boundary_name(scope.iam)),
        policy_arn(scope, naming.installer_policy_name(scope.iam, "*")),
        *(policy_arn(scope, naming.managed_policy_name(scope.iam, base)) for base in MANAGED_POLICY_NAMES),
    ]


def role_arn(scope: AccountScope, name: str) -> str:
    return naming.iam_arn(scope.account_id, f"role/{name}")


def policy_arn(scope: AccountScope, name: str) -> str:
    return naming.iam_arn(scope.account_id, f"policy/{name}")


def batch_arns(scope: AccountScope, kind: str) -> list[str]:
    return regional_arns(scope, "batch", f"{kind}/{scope.name_prefix}-*")


def snapshot_arns(scope: AccountScope) -> list[str]:
    # EBS snapshot ARNs have an empty account field: arn:aws:ec2:<region>::snapshot/<id>.
    return [f"arn:{PARTITION}:ec2:{ANY_REGION}::snapshot/*"]


def ec2_arns(scope: AccountScope, kind: str) -> list[str]:
    return regional_arns(scope, "ec2", f"{kind}/*")


def deny_unless_tagged(
    sid: str, actions: Sequence[str], resources: Sequence[str], name_prefix: str, *, request: bool = False
) -> list[dict]:
    """Deny on the resources that lack the Elastio tag or carry another deployment's (own_tagged, as Denies):
    narrows an Allow that names several resource types of one action (the tag condition must hold only for one
    of them). Two statements, as either tag alone denies. Only for roles Elastio owns: a Deny in a policy
    attached to people would also override their other grants."""
    marker = _tag_key(RESOURCE_TAG_KEY, request)
    deployment = _tag_key(DEPLOYMENT_TAG_KEY, request)
    other = {"StringNotEquals": {deployment: name_prefix}}  # negated operator: also true when the tag is absent
    if name_prefix == naming.DEFAULT_NAME_PREFIX:
        other["Null"] = {deployment: "false"}  # the default deployment's own may lack the tag (own_deployment)
    return [
        statement(sid, actions, resources, {"StringNotEquals": {marker: RESOURCE_TAG_VALUE}}, effect="Deny"),
        statement(f"{sid}OfThisDeployment", actions, resources, other, effect="Deny"),
    ]


def ecs_cluster_arns(scope: AccountScope) -> list[str]:
    return regional_arns(scope, "ecs", f"cluster/{scope.name_prefix}-*")


def kms_via(service: str, scope: AccountScope) -> dict:
    """The kms:ViaService condition naming `service` in each of the deployment's regions."""
    return {"StringEquals": {"kms:ViaService": [f"{service}.{region}.amazonaws.com" for region in scope.regions]}}


# --- statements several documents grant ---------------------------------------------------------------


def write_tagged_snapshots(scope: AccountScope) -> list[dict]:
    """Create snapshots through the EBS direct APIs, only tagged for Elastio (ebs:StartSnapshot takes the tag
    from the request; the later block writes see it on the snapshot)."""
    return [
        statement(
            "StartTaggedSnapshots",
            ["ebs:StartSnapshot"],
            snapshot_arns(scope),
            own_tagged(scope.name_prefix, request=True),
        ),
        statement(
            "WriteTaggedSnapshotBlocks",
            ["ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"],
            snapshot_arns(scope),
            own_tagged(scope.name_prefix),
        ),
    ]


def kms_via_sqs(sid: str, scope: AccountScope) -> dict:
    # Encrypted queues need the caller to use the key; ViaService keeps it to SQS requests in our regions.
    return statement(
        sid,
        ["kms:GenerateDataKey", "kms:Decrypt"],
        key_arns(scope),
        merge_conditions(kms_via("sqs", scope), own_tagged(scope.name_prefix)),
    )


def tag_on_create(scope: AccountScope, create_actions: list[str], resources: list[str] | None = None) -> dict:
    return statement(
        "TagOnCreate",
        ["ec2:CreateTags"],
        resources or snapshot_arns(scope) + regional_arns(scope, "ec2", "volume/*"),
        {"StringEquals": {"ec2:CreateAction": create_actions}},
    )


def mark_snapshots_readable(snapshots: list[str]) -> dict:
    """backup.start tags the (existing, customer's) snapshots a backup reads with elastio:resource=true, which
    the EBS direct API grants require (lambdas/background_jobs/snapshots.py): that one tag with that one
    value, nothing else. Not ec2:CreateAction: that key is only in the request when tagging on create."""
    return statement(
        "MarkSnapshotsReadable",
        ["ec2:CreateTags"],
        snapshots,
        {**REQUEST_TAGGED, "ForAllValues:StringEquals": {"aws:TagKeys": [RESOURCE_TAG_KEY]}},
    )


# What the EBS direct APIs and EC2 ask KMS for, as the caller, through ec2.<region>.amazonaws.com, when they
# read an encrypted snapshot (encrypted with aws/ebs or a customer key), write one (StartSnapshot with
# Encrypted and KmsKeyArn) or create a volume from one; CreateGrant only for a grant EC2 makes for its own use
# (https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-permissions.html, "Permissions to use AWS KMS keys").
EBS_KEY_USE: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncrypt*",
)


def keys_via_ebs(keys: list[str], via_ec2: dict) -> list[dict]:
    """`via_ec2`: the kms:ViaService condition naming EC2 (one region's name, or ec2.*.amazonaws.com)."""
    return [
        statement("KeysViaEbs", EBS_KEY_USE, keys, via_ec2),
        statement(
            "GrantsForEbs",
            ["kms:CreateGrant"],
            keys,
            merge_conditions(via_ec2, {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
        ),
    ]


def account_keys_via_ebs(scope: AccountScope) -> list[dict]:
    # Source snapshots may be encrypted with any key of the account (aws/ebs has no Elastio tag): no tag scope.
    # For the boundary only, which must fit one policy's quota: the vault task role's own grant leaves out
    # another deployment's keys (vault_documents.task_role_policy, not_another_deployments).
    return keys_via_ebs(key_arns(scope), {"StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"}})


def in_account_s3(account_id: str) -> dict:
    """S3 names are global: a bucket of our name pattern that another account owns must never be read or
    written (s3:ResourceAccount, supported by every S3 action the documents grant)."""
    return {"StringEquals": {"s3:ResourceAccount": account_id}}


# --- IAM's size quota ---------------------------------------------------------------------------------


# IAM counts a policy's characters without white space; a managed policy may hold 6,144. The margin leaves
# room for a longer prefix/suffix than the one the parts were counted with.
MANAGED_POLICY_MAX_CHARS = 6144
_SPLIT_AT = MANAGED_POLICY_MAX_CHARS - 400


def policy_size(document: dict) -> int:
    """The size IAM checks against its quotas: the JSON text without white space."""
    return len("".join(json.dumps(document).split()))


def split_document(whole: dict, limit: int = _SPLIT_AT) -> list[dict]:
    """The statements of `whole` in as few documents of at most `limit` characters as fit, in order."""
    parts: list[list[dict]] = [[]]
    for item in whole["Statement"]:
        if parts[-1] and policy_size(document(*parts[-1], item)) > limit:
            parts.append([])
        parts[-1].append(item)
    return [document(*statements) for statements in parts]

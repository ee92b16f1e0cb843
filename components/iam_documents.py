"""The account-level IAM documents: trust policies, the tenant and installer permissions, the default
permissions boundary and the six customer-attachable managed policies.

Every function is pure and returns a dict ready for `json.dumps`. Regional resources are addressed by their
fixed elastio-* names (components/naming.py) where they have one, in this account and any region (`*`, see
ANY_REGION); kms:ViaService conditions still name the configured regions. Tag conditions
(`elastio:resource` = `true`) are used only where the service authorization reference lists
`aws:ResourceTag` (or `ec2:CreateAction`/`aws:RequestTag`) for that action: a condition key an action does not
support is absent from the request, so an Allow that needs it never matches and a Deny that needs it never
fires. Where tags are not supported (SQS send, S3 bucket deletion, DynamoDB tables) the ARN pattern scopes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from components import naming
from components.constants import MANAGED_POLICY_NAMES, PARTITION, RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE

VERSION = "2012-10-17"

# Tables the Elastio functions write; the customer-facing policies read a subset of them.
JOBS_TABLE = "jobs"
RECOVERY_POINTS_TABLE = "recovery-points"
ASSETS_TABLE = "assets"
VAULTS_TABLE = "vaults"

COMMANDS_QUEUE = "commands"
COMMANDS_DLQ = "commands-dlq"
FAILED_INVOCATIONS_QUEUE = "failed-invocations"
TENANT_EVENTS_QUEUE = "tenant-events"
QUEUES: tuple[str, ...] = (COMMANDS_QUEUE, COMMANDS_DLQ, FAILED_INVOCATIONS_QUEUE, TENANT_EVENTS_QUEUE)

LAMBDA_SERVICE = "lambda.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
BATCH_SERVICE = "batch.amazonaws.com"

TAGGED = {"StringEquals": {f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE}}
REQUEST_TAGGED = {"StringEquals": {f"aws:RequestTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE}}

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
    iam: naming.IamNaming  # prefix/suffix for IAM names


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


def document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


# Regional ARNs name every region with "*": the account and the elastio-* names already scope them, and one
# ARN per configured region made the installer and boundary documents outgrow IAM's size quotas (6,144
# characters per managed policy) at 11 regions. Where a region list is cheap and matters (kms:ViaService),
# the configured regions are still named.
ANY_REGION = "*"


def _regional(scope: AccountScope, service: str, resource: str) -> list[str]:
    return [naming.arn(service, ANY_REGION, scope.account_id, resource)]


def queue_arns(scope: AccountScope, *purposes: str) -> list[str]:
    return [arn for purpose in purposes for arn in _regional(scope, "sqs", naming.queue_name(purpose))]


def table_arns(scope: AccountScope, *tables: str, indexes: bool = True) -> list[str]:
    arns = []
    for table in tables:
        base = _regional(scope, "dynamodb", f"table/{naming.table_name(table)}")
        arns += base
        if indexes:
            arns += [f"{arn}/index/*" for arn in base]
    return arns


def all_table_arns(scope: AccountScope) -> list[str]:
    """Connector tables and every vault's index table (all named elastio-*), with their indexes."""
    base = _regional(scope, "dynamodb", f"table/{naming.NAME_ROOT}-*")
    return base + [f"{arn}/index/*" for arn in base]


def key_arns(scope: AccountScope) -> list[str]:
    # KMS key ARNs carry a random id, so keys are told apart by the elastio:resource tag instead.
    return _regional(scope, "kms", "key/*")


def alias_arns(scope: AccountScope) -> list[str]:
    return _regional(scope, "kms", f"alias/{naming.NAME_ROOT}-*")


def vault_bucket_arns(scope: AccountScope, objects: str | None = None) -> list[str]:
    """Vault buckets (elastio-<vault>-<account>-<region>); with `objects`, the object keys under them."""
    buckets = [f"arn:{PARTITION}:s3:::{naming.vault_bucket_name('*', scope.account_id, ANY_REGION)}"]
    return buckets if objects is None else [f"{bucket}/{objects}" for bucket in buckets]


def function_arns(scope: AccountScope) -> list[str]:
    return _regional(scope, "lambda", f"function:{naming.NAME_ROOT}-*")


def function_log_group_arns(scope: AccountScope) -> list[str]:
    """Log groups of the connector's functions and of the vaults' Batch jobs and ScaleZ server tasks."""
    groups = _regional(scope, "logs", f"log-group:/aws/lambda/{naming.NAME_ROOT}-*") + _regional(
        scope, "logs", f"log-group:{naming.vault_log_group_name('*')}"
    )
    return groups + [f"{group}:log-stream:*" for group in groups]


def function_role_arns(scope: AccountScope) -> list[str]:
    # Role names end in a region code (naming.function_role_name); any region's role of each function.
    return [
        naming.iam_arn(scope.account_id, f"role/{scope.iam.name(f'Elastio{naming.pascal(fn)}-*')}")
        for fn in naming.FUNCTIONS
    ]


def vault_role_arns(scope: AccountScope) -> list[str]:
    # Vault names are not part of the account scope: the pattern keeps prefix, marker and suffix fixed.
    return [naming.iam_arn(scope.account_id, f"role/{scope.iam.name('ElastioVault-*')}")]


def elastio_role_arn_pattern(scope: AccountScope) -> str:
    """Every role the program creates: <prefix>Elastio...<suffix>."""
    return naming.iam_arn(scope.account_id, f"role/{scope.iam.name('Elastio*')}")


def elastio_policy_arn_pattern(scope: AccountScope) -> str:
    return naming.iam_arn(scope.account_id, f"policy/{scope.iam.name('Elastio*')}")


def role_arn(scope: AccountScope, name: str) -> str:
    return naming.iam_arn(scope.account_id, f"role/{name}")


def policy_arn(scope: AccountScope, name: str) -> str:
    return naming.iam_arn(scope.account_id, f"policy/{name}")


def _batch_arns(scope: AccountScope, kind: str) -> list[str]:
    return _regional(scope, "batch", f"{kind}/{naming.NAME_ROOT}-*")


def snapshot_arns(scope: AccountScope) -> list[str]:
    # EBS snapshot ARNs have an empty account field: arn:aws:ec2:<region>::snapshot/<id>.
    return [f"arn:{PARTITION}:ec2:{ANY_REGION}::snapshot/*"]


def _ec2(scope: AccountScope, kind: str) -> list[str]:
    return _regional(scope, "ec2", f"{kind}/*")


def deny_unless_tagged(
    sid: str, actions: Sequence[str], resources: Sequence[str], *, request: bool = False
) -> dict:
    """Deny on the resources that lack the Elastio tag: narrows an Allow that names several resource types
    of one action (the tag condition must hold only for one of them). Only for roles Elastio owns: a Deny in
    a policy attached to people would also override their other grants."""
    key = f"aws:{'RequestTag' if request else 'ResourceTag'}/{RESOURCE_TAG_KEY}"
    return statement(sid, actions, resources, {"StringNotEquals": {key: RESOURCE_TAG_VALUE}}, effect="Deny")


def _ecs_cluster_arns(scope: AccountScope) -> list[str]:
    return _regional(scope, "ecs", f"cluster/{naming.NAME_ROOT}-*")


def _via(service: str, scope: AccountScope) -> list[str]:
    return [f"{service}.{region}.amazonaws.com" for region in scope.regions]


# --- trust ---------------------------------------------------------------------------------------------


def _write_tagged_snapshots(scope: AccountScope) -> list[dict]:
    """Create snapshots through the EBS direct APIs, only tagged for Elastio (ebs:StartSnapshot takes the tag
    from the request; the later block writes see it on the snapshot)."""
    return [
        statement("StartTaggedSnapshots", ["ebs:StartSnapshot"], snapshot_arns(scope), REQUEST_TAGGED),
        statement(
            "WriteTaggedSnapshotBlocks",
            ["ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"],
            snapshot_arns(scope),
            TAGGED,
        ),
    ]


def tenant_principal(tenant_account_id: str, tenant_role_arn: str | None) -> str:
    """The tenant's role when configured, else the tenant account's root (any principal it delegates to)."""
    return tenant_role_arn or naming.iam_arn(tenant_account_id, "root")


def _trust_statement(sid: str, principals: str | list[str], condition: dict | None = None) -> dict:
    stmt: dict = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return stmt


def tenant_trust_policy(tenant_principal_arn: str, external_id: str) -> dict:
    """Only the tenant principal, and only with the external ID (confused-deputy protection)."""
    if not external_id:
        raise ValueError("external_id is empty: the tenant trust needs an sts:ExternalId condition")
    if "*" in tenant_principal_arn:
        raise ValueError(
            f"tenant principal {tenant_principal_arn!r} has a wildcard: name one account or role"
        )
    return document(
        _trust_statement(
            "TenantAssumesWithExternalId",
            tenant_principal_arn,
            {"StringEquals": {"sts:ExternalId": external_id}},
        )
    )


def installer_trust_policy(
    tenant_principal_arn: str, external_id: str, installer_principals: Sequence[str]
) -> dict:
    """The tenant with its external ID, plus the configured installer principals (e.g. a CI role)."""
    trust = tenant_trust_policy(tenant_principal_arn, external_id)
    wildcards = [p for p in installer_principals if "*" in p]
    if wildcards:
        raise ValueError(f"installer principals {wildcards} have wildcards: name each principal ARN")
    if installer_principals:
        trust["Statement"].append(
            _trust_statement("InstallerPrincipalsAssume", sorted(set(installer_principals)))
        )
    return trust


# --- ElastioTenant ---------------------------------------------------------------------------------------


def tenant_access_policy(scope: AccountScope) -> dict:
    """ElastioTenant: send commands, read replies and job results; nothing else."""
    return document(
        statement(
            "SendCommands",
            ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            queue_arns(scope, COMMANDS_QUEUE),
        ),
        statement(
            "ReceiveTenantEvents",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueUrl",
                "sqs:GetQueueAttributes",
            ],
            queue_arns(scope, TENANT_EVENTS_QUEUE),
        ),
        statement(
            "ReadJobsAndRecoveryPoints",
            ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
            table_arns(scope, JOBS_TABLE, RECOVERY_POINTS_TABLE),
        ),
        _kms_via_sqs("UseConnectorKeyViaSqs", scope),
    )


def _kms_via_sqs(sid: str, scope: AccountScope) -> dict:
    # Encrypted queues need the caller to use the key; ViaService keeps it to SQS requests in our regions.
    return statement(
        sid,
        ["kms:GenerateDataKey", "kms:Decrypt"],
        key_arns(scope),
        {
            "StringEquals": {
                "kms:ViaService": _via("sqs", scope),
                f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE,
            }
        },
    )


# --- ElastioInstaller ----------------------------------------------------------------------------------


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


def installer_policies(scope: AccountScope, boundary_arn: str) -> list[dict]:
    """The installer's permissions as managed policies that each fit IAM's size quota (attach them all)."""
    return split_document(installer_policy(scope, boundary_arn))


# Changes to the connector's security groups and endpoints: allowed on the network's resources, and then
# narrowed by a Deny to the ones tagged for Elastio.
_NETWORK_CHANGES = (
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:DeleteSecurityGroup",
    "ec2:ModifyVpcEndpoint",
    "ec2:DeleteVpcEndpoints",
)


def installer_policy(scope: AccountScope, boundary_arn: str) -> dict:
    """ElastioInstaller: create and update the connector and vaults, never delete their data or escape the
    permissions boundary."""
    account = scope.account_id
    elastio_roles = elastio_role_arn_pattern(scope)
    installer_role = role_arn(scope, naming.installer_role_name(scope.iam))
    installer_access = policy_arn(scope, naming.installer_policy_name(scope.iam, "*"))
    with_boundary = {"ArnEquals": {"iam:PermissionsBoundary": boundary_arn}}
    return document(
        statement(
            "ManageQueues",
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
                "sqs:ListQueueTags",
            ],
            queue_arns(scope, *QUEUES),
        ),
        statement(
            "ManageTables",
            [
                "dynamodb:CreateTable",
                "dynamodb:UpdateTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:ListTagsOfResource",
            ],
            all_table_arns(scope),
        ),
        statement(
            # The program writes each vault's record (aws.dynamodb.TableItem) and removes it with the vault.
            "WriteVaultRecords",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            table_arns(scope, VAULTS_TABLE, indexes=False),
        ),
        statement(
            "ManageFunctions",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:ListVersionsByFunction",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:GetPolicy",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
            ],
            function_arns(scope),
        ),
        statement(
            "ManageLayers",
            ["lambda:PublishLayerVersion", "lambda:GetLayerVersion", "lambda:DeleteLayerVersion"],
            _regional(scope, "lambda", f"layer:{naming.NAME_ROOT}-*")
            + _regional(scope, "lambda", f"layer:{naming.NAME_ROOT}-*:*"),
        ),
        statement(
            # CreateEventSourceMapping names no resource; the function ARN condition scopes it.
            "CreateEventSourceMappings",
            ["lambda:CreateEventSourceMapping"],
            "*",
            {"ArnLike": {"lambda:FunctionArn": function_arns(scope)}},
        ),
        statement(
            "ManageEventSourceMappings",
            [
                "lambda:GetEventSourceMapping",
                "lambda:UpdateEventSourceMapping",
                "lambda:DeleteEventSourceMapping",
            ],
            _regional(scope, "lambda", "event-source-mapping:*"),
            {"ArnLike": {"lambda:FunctionArn": function_arns(scope)}},
        ),
        statement(
            "ManageFunctionLogGroups",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
            ],
            function_log_group_arns(scope),
        ),
        statement(
            # CreateKey names no resource; the request tag marks the new key as Elastio's. Tagging stays on
            # tagged keys (below): tagging a customer's key would hand the installer its key policy.
            "CreateTaggedKeys",
            ["kms:CreateKey"],
            "*",
            REQUEST_TAGGED,
        ),
        statement(
            "ManageTaggedKeys",
            [
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:PutKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:EnableKeyRotation",
                "kms:ListResourceTags",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            key_arns(scope),
            TAGGED,
        ),
        statement(
            "ManageAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            alias_arns(scope) + key_arns(scope),
        ),
        deny_unless_tagged(
            "AliasesOnlyOnTaggedKeys", ["kms:CreateAlias", "kms:UpdateAlias"], key_arns(scope)
        ),
        statement("ListAliases", ["kms:ListAliases"], "*"),
        statement(
            "ManageVaultBuckets",
            [
                "s3:CreateBucket",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetBucketPolicy",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:GetBucketTagging",
                "s3:PutBucketTagging",
                "s3:GetBucketVersioning",
                "s3:PutBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:GetBucketPublicAccessBlock",
                "s3:PutBucketPublicAccessBlock",
                "s3:GetBucketOwnershipControls",
                "s3:PutBucketOwnershipControls",
                "s3:GetLifecycleConfiguration",
                "s3:GetBucketObjectLockConfiguration",
                "s3:PutBucketObjectLockConfiguration",
                "s3:GetBucketAcl",
                "s3:GetBucketCORS",
                "s3:GetBucketWebsite",
                "s3:GetBucketLogging",
                "s3:GetReplicationConfiguration",
                "s3:GetBucketRequestPayment",
                "s3:GetAccelerateConfiguration",
            ],
            vault_bucket_arns(scope),
        ),
        statement(
            "ManageBatch",
            [
                "batch:CreateComputeEnvironment",
                "batch:UpdateComputeEnvironment",
                "batch:DeleteComputeEnvironment",
                "batch:CreateJobQueue",
                "batch:UpdateJobQueue",
                "batch:DeleteJobQueue",
                "batch:RegisterJobDefinition",
                "batch:DeregisterJobDefinition",
                "batch:TagResource",
                "batch:UntagResource",
                "batch:ListTagsForResource",
            ],
            _batch_arns(scope, "compute-environment")
            + _batch_arns(scope, "job-queue")
            + _batch_arns(scope, "job-definition"),
        ),
        statement(
            "DescribeBatchAndEcs",
            [
                "batch:DescribeComputeEnvironments",
                "batch:DescribeJobQueues",
                "batch:DescribeJobDefinitions",
                "ecs:DescribeTaskDefinition",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeRouteTables",
                "ec2:DescribePrefixLists",
                "ec2:DescribeNetworkInterfaces",
                "logs:DescribeLogGroups",
            ],
            "*",
        ),
        statement(
            "ManageClusters",
            [
                "ecs:CreateCluster",
                "ecs:DeleteCluster",
                "ecs:DescribeClusters",
                "ecs:UpdateCluster",
                "ecs:UpdateClusterSettings",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:ListTagsForResource",
            ],
            _ecs_cluster_arns(scope),
        ),
        statement(
            "RegisterTaskDefinitions",
            ["ecs:RegisterTaskDefinition", "ecs:TagResource"],
            _regional(scope, "ecs", f"task-definition/{naming.NAME_ROOT}-*:*"),
        ),
        statement(
            "CreateSecurityGroups",
            ["ec2:CreateSecurityGroup"],
            _ec2(scope, "security-group") + _ec2(scope, "vpc"),
        ),
        deny_unless_tagged(
            "NewSecurityGroupsTagged",
            ["ec2:CreateSecurityGroup"],
            _ec2(scope, "security-group"),
            request=True,
        ),
        statement(
            # The endpoints of the PrivateLink setup, placed in the customer's network.
            "CreateVpcEndpoints",
            ["ec2:CreateVpcEndpoint"],
            _ec2(scope, "vpc-endpoint")
            + _ec2(scope, "vpc")
            + _ec2(scope, "subnet")
            + _ec2(scope, "route-table")
            + _ec2(scope, "security-group"),
        ),
        deny_unless_tagged(
            "NewEndpointsTagged", ["ec2:CreateVpcEndpoint"], _ec2(scope, "vpc-endpoint"), request=True
        ),
        statement(
            "TagOnCreate",
            ["ec2:CreateTags"],
            _ec2(scope, "security-group") + _ec2(scope, "security-group-rule") + _ec2(scope, "vpc-endpoint"),
            {
                "StringEquals": {
                    "ec2:CreateAction": [
                        "CreateSecurityGroup",
                        "CreateVpcEndpoint",
                        "AuthorizeSecurityGroupEgress",
                    ]
                }
            },
        ),
        statement(
            "ManageNetworkResources",
            list(_NETWORK_CHANGES),
            _ec2(scope, "security-group")
            + _ec2(scope, "security-group-rule")
            + _ec2(scope, "vpc-endpoint")
            + _ec2(scope, "subnet")
            + _ec2(scope, "route-table"),
        ),
        deny_unless_tagged(
            "OnlyTaggedNetworkResources",
            [*_NETWORK_CHANGES, "ec2:CreateVpcEndpoint"],
            _ec2(scope, "security-group") + _ec2(scope, "vpc-endpoint"),
        ),
        statement(
            "ManageEventRules",
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:DescribeRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:ListTargetsByRule",
                "events:TagResource",
                "events:UntagResource",
                "events:ListTagsForResource",
            ],
            _regional(scope, "events", f"rule/{naming.NAME_ROOT}-*"),
        ),
        statement(
            "ManageAlerts",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ],
            _regional(scope, "sns", f"{naming.NAME_ROOT}-*")
            + _regional(scope, "cloudwatch", f"alarm:{naming.NAME_ROOT}-*"),
        ),
        statement(
            "CreateRolesOnlyWithBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
            ],
            elastio_roles,
            with_boundary,
        ),
        statement(
            "ManageElastioRoles",
            [
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:DeleteRole",
            ],
            elastio_roles,
        ),
        statement(
            "ManageElastioPolicies",
            [
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            elastio_policy_arn_pattern(scope),
        ),
        statement(
            "PassFunctionRoles",
            ["iam:PassRole"],
            function_role_arns(scope),
            {"StringEquals": {"iam:PassedToService": LAMBDA_SERVICE}},
        ),
        statement(
            "PassVaultRoles",
            ["iam:PassRole"],
            vault_role_arns(scope),
            {"StringEquals": {"iam:PassedToService": [ECS_TASKS_SERVICE, BATCH_SERVICE]}},
        ),
        statement(
            # Batch and ECS run with their service-linked roles, created on first use.
            "CreateServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            naming.iam_arn(account, "role/aws-service-role/*"),
            {"StringEquals": {"iam:AWSServiceName": [BATCH_SERVICE, "ecs.amazonaws.com"]}},
        ),
        # --- guarantees: explicit Deny wins over any other policy attached to the installer ---
        statement(
            "DenyRolesWithoutBoundary",
            ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            naming.iam_arn(account, "role/*"),
            {"ArnNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
            effect="Deny",
        ),
        statement(
            "DenyRemovingBoundaries",
            ["iam:DeleteRolePermissionsBoundary"],
            naming.iam_arn(account, "role/*"),
            effect="Deny",
        ),
        statement(
            # Rewriting the boundary or the installer's own policy would lift every limit at once.
            "DenyChangingBoundaryAndOwnPolicy",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            [boundary_arn, installer_access],
            effect="Deny",
        ),
        statement(
            "DenyChangingOwnRole",
            [
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRole",
                "iam:PutRolePermissionsBoundary",
            ],
            installer_role,
            effect="Deny",
        ),
        statement(
            # s3:DeleteBucket and object actions support no aws:ResourceTag: the bucket names scope them.
            # Object reads and writes are denied too, so rewriting a bucket policy (the installer may)
            # cannot grant the installer the data: an explicit Deny wins over a bucket policy's Allow.
            # Lifecycle rules are not granted at all (an expiration rule deletes every object).
            "DenyVaultData",
            [
                "s3:DeleteBucket",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:PutLifecycleConfiguration",
            ],
            vault_bucket_arns(scope) + vault_bucket_arns(scope, "*"),
            effect="Deny",
        ),
        statement(
            # Every connector and vault table is named elastio-*; the name holds even before tags are read.
            "DenyDeletingTables",
            ["dynamodb:DeleteTable", "dynamodb:DeleteBackup"],
            all_table_arns(scope),
            effect="Deny",
        ),
        statement(
            "DenyDestroyingTaggedKeys",
            ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DeleteImportedKeyMaterial"],
            key_arns(scope),
            TAGGED,
            effect="Deny",
        ),
        statement(
            # Without this, untagging a key would take it out of the deny above.
            "DenyRemovingKeyMarkerTag",
            ["kms:UntagResource", "kms:TagResource"],
            key_arns(scope),
            {
                "StringEquals": {f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE},
                "ForAnyValue:StringEquals": {"aws:TagKeys": [RESOURCE_TAG_KEY]},
            },
            effect="Deny",
        ),
    )


# --- default permissions boundary ----------------------------------------------------------------------

# IAM write access of every kind; the boundary denies all of it to the roles it caps.
IAM_CHANGES: tuple[str, ...] = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Put*",
    "iam:Remove*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)


def default_permissions_boundary(scope: AccountScope) -> dict:
    """The most any connector or vault role (and the tenant role) may ever do: the union of the services'
    needs on Elastio resources. It grants nothing by itself; it caps."""
    return document(
        statement(
            "FunctionLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            function_log_group_arns(scope),
        ),
        statement(
            "Queues",
            [
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            queue_arns(scope, *QUEUES),
        ),
        statement(
            # Expiry and compaction delete items (recovery points, index entries), never tables.
            "Tables",
            [
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
            ],
            all_table_arns(scope),
        ),
        statement("InvokeServices", ["lambda:InvokeFunction"], function_arns(scope)),
        statement(
            "SubmitJobs",
            ["batch:SubmitJob", "batch:TagResource"],
            _batch_arns(scope, "job-queue")
            + _batch_arns(scope, "job-definition")
            + _regional(scope, "batch", "job/*"),
        ),
        statement(
            "TerminateJobs", ["batch:TerminateJob", "batch:CancelJob"], _regional(scope, "batch", "job/*")
        ),
        statement(
            "ReadJobsAndInventory",
            ["batch:DescribeJobs", "batch:ListJobs", "ecs:DescribeTaskDefinition", *EC2_INVENTORY_READ],
            "*",
        ),
        statement(
            "RunVaultServer",
            ["ecs:RunTask"],
            _regional(scope, "ecs", f"task-definition/{naming.NAME_ROOT}-*:*"),
            {"ArnLike": {"ecs:cluster": _ecs_cluster_arns(scope)}},
        ),
        statement(
            "StopVaultServer",
            ["ecs:StopTask", "ecs:DescribeTasks"],
            _regional(scope, "ecs", f"task/{naming.NAME_ROOT}-*/*"),
            {"ArnLike": {"ecs:cluster": _ecs_cluster_arns(scope)}},
        ),
        statement(
            "PassVaultRoles",
            ["iam:PassRole"],
            vault_role_arns(scope),
            {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
        ),
        statement(
            # Compaction rewrites packs and deletes the old ones: object deletion, never bucket deletion.
            "VaultObjects",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            vault_bucket_arns(scope, "*"),
        ),
        statement("ListVaultBuckets", ["s3:ListBucket"], vault_bucket_arns(scope)),
        statement(
            "UseTaggedKeys",
            ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            key_arns(scope),
            TAGGED,
        ),
        statement(
            "ReadTaggedSnapshotBlocks",
            ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"],
            snapshot_arns(scope),
            TAGGED,
        ),
        *_write_tagged_snapshots(scope),
        statement(
            "SnapshotVolumes",
            ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
            snapshot_arns(scope) + _ec2(scope, "volume") + _ec2(scope, "instance"),
        ),
        deny_unless_tagged(
            "NewSnapshotsTagged",
            ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
            snapshot_arns(scope),
            request=True,
        ),
        _tag_on_create(scope, ["CreateSnapshot", "CreateSnapshots"]),
        statement(
            # Only the temporary snapshots Elastio made.
            "DeleteTaggedSnapshots",
            ["ec2:DeleteSnapshot"],
            snapshot_arns(scope),
            TAGGED,
        ),
        statement("PublishAlerts", ["sns:Publish"], _regional(scope, "sns", f"{naming.NAME_ROOT}-*")),
        statement(
            "Telemetry",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringEquals": {"cloudwatch:namespace": "Elastio"}},
        ),
        statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        statement("PullImagesAuth", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "PullImages",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            _regional(scope, "ecr", "repository/*"),
        ),
        statement("DenyIamChanges", IAM_CHANGES, "*", effect="Deny"),
    )


def _create_tagged_snapshots(scope: AccountScope) -> dict:
    return statement(
        "CreateTaggedSnapshots",
        ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
        snapshot_arns(scope),
        REQUEST_TAGGED,
    )


def _snapshot_source_volumes(scope: AccountScope) -> dict:
    # The source volumes are the customer's (not tagged by Elastio); snapshotting them only reads them.
    return statement(
        "SnapshotCustomerVolumes",
        ["ec2:CreateSnapshot", "ec2:CreateSnapshots"],
        _regional(scope, "ec2", "volume/*") + _regional(scope, "ec2", "instance/*"),
    )


def _tag_on_create(scope: AccountScope, create_actions: list[str]) -> dict:
    return statement(
        "TagOnCreate",
        ["ec2:CreateTags"],
        snapshot_arns(scope) + _regional(scope, "ec2", "volume/*"),
        {"StringEquals": {"ec2:CreateAction": create_actions}},
    )


# --- the six managed policies (for people) ---------------------------------------------------------------


def _send_commands(scope: AccountScope) -> list[dict]:
    """Every operation is a command on the queue; IAM cannot tell command types apart, so each policy grants
    sending, and differs in what it may read and which AWS APIs it may call directly."""
    return [
        statement(
            "SendCommands",
            ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            queue_arns(scope, COMMANDS_QUEUE),
        ),
        _kms_via_sqs("UseConnectorKeyViaSqs", scope),
    ]


def _read_tables(scope: AccountScope, *tables: str) -> dict:
    return statement(
        "ReadElastioTables",
        ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
        table_arns(scope, *tables),
    )


def _inventory_read() -> dict:
    return statement("ReadInventory", EC2_INVENTORY_READ, "*")


def agentless_backup_and_restore(scope: AccountScope) -> dict:
    """For: starting backups of EC2 instances and EBS volumes and restores (backup.start, restore.start),
    with read access to inventory, recovery points and job progress."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE),
        _inventory_read(),
    )


def _dead_letters(scope: AccountScope) -> list[dict]:
    """Inspect failed commands and move them back to the command queue (redrive)."""
    return [
        statement(
            "InspectAndRedriveFailedCommands",
            [
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:StartMessageMoveTask",
                "sqs:ListMessageMoveTasks",
            ],
            queue_arns(scope, COMMANDS_DLQ, FAILED_INVOCATIONS_QUEUE),
        ),
        _kms_via_sqs_decrypt("ReadDeadLettersViaSqs", scope),
    ]


def backup_admin(scope: AccountScope) -> dict:
    """For: running backups and managing them: expiring recovery points, reading every Elastio table, and
    inspecting and redriving commands that failed (the command and failed-invocation dead-letter queues)."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE, VAULTS_TABLE),
        *_dead_letters(scope),
        _inventory_read(),
    )


def full_admin(scope: AccountScope) -> dict:
    """For: administering everything Elastio: all commands (including vault server start and stop), every
    table, dead-letter queues, function logs, Batch jobs and ECS tasks, and the vaults' integrity reports;
    still no data deletion."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, RECOVERY_POINTS_TABLE, JOBS_TABLE, VAULTS_TABLE),
        *_dead_letters(scope),
        statement(
            "ReadFunctionLogs",
            ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            function_log_group_arns(scope),
        ),
        statement(
            "ReadFunctions",
            ["lambda:GetFunction", "lambda:GetFunctionConfiguration"],
            function_arns(scope),
        ),
        statement(
            "ReadJobsAndTasks",
            [
                "batch:DescribeJobs",
                "batch:ListJobs",
                "batch:DescribeJobQueues",
                "ecs:DescribeTaskDefinition",
                *EC2_INVENTORY_READ,
            ],
            "*",
        ),
        statement(
            "ReadVaultServerTasks",
            ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:DescribeClusters"],
            _ecs_cluster_arns(scope)
            + _regional(scope, "ecs", f"task/{naming.NAME_ROOT}-*/*")
            + _regional(scope, "ecs", f"container-instance/{naming.NAME_ROOT}-*/*"),
        ),
        statement(
            "ListVaultReports",
            ["s3:ListBucket"],
            vault_bucket_arns(scope),
            {"StringLike": {"s3:prefix": ["reports/*"]}},
        ),
        statement("ReadVaultReports", ["s3:GetObject"], vault_bucket_arns(scope, "reports/*")),
        statement(
            "DecryptReportsViaS3",
            ["kms:Decrypt"],
            key_arns(scope),
            {
                "StringEquals": {
                    "kms:ViaService": _via("s3", scope),
                    f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE,
                }
            },
        ),
    )


def jobs_admin(scope: AccountScope) -> dict:
    """For: following and cancelling jobs (job.status, job.cancel) and reading the jobs table and Batch job
    details."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, JOBS_TABLE),
        statement("ReadBatchJobs", ["batch:DescribeJobs", "batch:ListJobs"], "*"),
    )


def local_backup(scope: AccountScope) -> dict:
    """For: backing up to a vault from this account: snapshotting volumes (tagged for Elastio), reading those
    snapshots through the EBS direct APIs, and sending backup.start."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, ASSETS_TABLE, JOBS_TABLE),
        _inventory_read(),
        _create_tagged_snapshots(scope),
        _snapshot_source_volumes(scope),
        _tag_on_create(scope, ["CreateSnapshot", "CreateSnapshots"]),
        statement(
            "ReadTaggedSnapshotBlocks",
            ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"],
            snapshot_arns(scope),
            TAGGED,
        ),
    )


def mount_and_restore(scope: AccountScope) -> dict:
    """For: restoring and mounting recovery points: writing restored snapshots through the EBS direct APIs,
    creating volumes from them and attaching them, all on resources tagged elastio:resource."""
    return document(
        *_send_commands(scope),
        _read_tables(scope, RECOVERY_POINTS_TABLE, JOBS_TABLE),
        _inventory_read(),
        *_write_tagged_snapshots(scope),
        statement(
            "CreateTaggedVolumes",
            ["ec2:CreateVolume"],
            _regional(scope, "ec2", "volume/*"),
            REQUEST_TAGGED,
        ),
        statement(
            "FromTaggedSnapshots",
            ["ec2:CreateVolume"],
            snapshot_arns(scope),
            TAGGED,
        ),
        _tag_on_create(scope, ["CreateVolume"]),
        statement(
            "AttachTaggedVolumes",
            ["ec2:AttachVolume", "ec2:DetachVolume"],
            _regional(scope, "ec2", "volume/*"),
            TAGGED,
        ),
        statement(
            # The target instance is the customer's own; the volume statement above carries the tag scope.
            "AttachToInstances",
            ["ec2:AttachVolume", "ec2:DetachVolume"],
            _regional(scope, "ec2", "instance/*"),
        ),
    )


def _kms_via_sqs_decrypt(sid: str, scope: AccountScope) -> dict:
    return statement(
        sid,
        ["kms:Decrypt"],
        key_arns(scope),
        {
            "StringEquals": {
                "kms:ViaService": _via("sqs", scope),
                f"aws:ResourceTag/{RESOURCE_TAG_KEY}": RESOURCE_TAG_VALUE,
            }
        },
    )


MANAGED_POLICY_BUILDERS: dict[str, Callable[[AccountScope], dict]] = {
    "ElastioAgentlessBackupAndRestore": agentless_backup_and_restore,
    "ElastioBackupAdmin": backup_admin,
    "ElastioFullAdmin": full_admin,
    "ElastioJobsAdmin": jobs_admin,
    "ElastioLocalBackup": local_backup,
    "ElastioMountAndRestore": mount_and_restore,
}


def managed_policies(scope: AccountScope) -> dict[str, dict]:
    """The six managed policies, keyed by their base names (constants.MANAGED_POLICY_NAMES)."""
    return {name: MANAGED_POLICY_BUILDERS[name](scope) for name in MANAGED_POLICY_NAMES}


def managed_policy_purposes() -> dict[str, str]:
    """Base name → the one-line "For: ..." of each managed policy (for the README and descriptions)."""
    return {
        name: " ".join(MANAGED_POLICY_BUILDERS[name].__doc__.split()).removeprefix("For: ")
        for name in MANAGED_POLICY_NAMES
    }

"""ElastioInstaller: what deploying and updating the connector and vaults may do, split into managed
policies that fit IAM's size quota.
"""

from __future__ import annotations

from elastio_pulumi import naming
from elastio_pulumi.constants import RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE
from elastio_pulumi.iam_documents.builder import (
    BATCH_SERVICE,
    ECS_TASKS_SERVICE,
    LAMBDA_SERVICE,
    QUEUES,
    TAGGED,
    VAULTS_TABLE,
    AccountScope,
    alias_arns,
    all_table_arns,
    batch_arns,
    deny_unless_tagged,
    document,
    ec2_arns,
    ecs_cluster_arns,
    elastio_policy_arn_pattern,
    elastio_policy_arns,
    elastio_role_arn_pattern,
    elastio_role_arns,
    function_arns,
    function_log_group_arns,
    function_role_arns,
    in_account_s3,
    key_arns,
    merge_conditions,
    own_tagged,
    queue_arns,
    regional_arns,
    role_arn,
    split_document,
    statement,
    table_arns,
    vault_bucket_arns,
    vault_role_arns,
)


def installer_policies(scope: AccountScope, boundary_arn: str) -> list[dict]:
    """The installer's permissions as managed policies that each fit IAM's size quota (attach them all)."""
    return split_document(installer_policy(scope, boundary_arn))


# Changes to the connector's security groups and endpoints: allowed on the network's resources, and then
# narrowed by a Deny to the ones tagged for Elastio.
_NETWORK_CHANGES = (
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:ModifySecurityGroupRules",  # updates of an aws.vpc.SecurityGroupEgressRule
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
    tenant_role = role_arn(scope, naming.tenant_role_name(scope.iam))
    service_roles = function_role_arns(scope) + vault_role_arns(scope)
    with_boundary = {"ArnEquals": {"iam:PermissionsBoundary": boundary_arn}}
    prefix = scope.name_prefix
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
            # Not CreateTable: a new table needs UpdateContinuousBackups (point-in-time recovery), which only the
            # operator may call (DenyWeakeningTables), so adding a region or a vault is the operator's run.
            "ManageTables",
            [
                "dynamodb:UpdateTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTimeToLive",
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
            regional_arns(scope, "lambda", f"layer:{scope.name_prefix}-*")
            + regional_arns(scope, "lambda", f"layer:{scope.name_prefix}-*:*"),
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
            regional_arns(scope, "lambda", "event-source-mapping:*"),
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
            own_tagged(prefix, request=True),
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
            own_tagged(prefix),
        ),
        statement(
            # Updating a table encrypted with a customer managed key: DynamoDB asks for a grant as the caller.
            "GrantsForTables",
            ["kms:CreateGrant"],
            key_arns(scope),
            merge_conditions(
                own_tagged(prefix),
                {
                    "StringLike": {"kms:ViaService": "dynamodb.*.amazonaws.com"},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            ),
        ),
        statement(
            "ManageAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            alias_arns(scope) + key_arns(scope),
        ),
        *deny_unless_tagged(
            "AliasesOnlyOnTaggedKeys", ["kms:CreateAlias", "kms:UpdateAlias"], key_arns(scope), prefix
        ),
        statement("ListAliases", ["kms:ListAliases"], "*"),
        statement(
            # Read (refresh) and retag the vault buckets; every setting that protects the data is the operator's
            # to change (DenyWeakeningVaultBuckets), so creating a vault bucket is the operator's run too.
            "ReadVaultBuckets",
            [
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetBucketPolicy",
                "s3:GetBucketTagging",
                "s3:PutBucketTagging",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketOwnershipControls",
                "s3:GetLifecycleConfiguration",
                "s3:GetBucketObjectLockConfiguration",
                "s3:GetBucketAcl",
                "s3:GetBucketCORS",
                "s3:GetBucketWebsite",
                "s3:GetBucketLogging",
                "s3:GetReplicationConfiguration",
                "s3:GetBucketRequestPayment",
                "s3:GetAccelerateConfiguration",
            ],
            vault_bucket_arns(scope),
            in_account_s3(scope.account_id),
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
            batch_arns(scope, "compute-environment")
            + batch_arns(scope, "job-queue")
            + batch_arns(scope, "job-definition"),
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
            ecs_cluster_arns(scope),
        ),
        statement(
            "RegisterTaskDefinitions",
            ["ecs:RegisterTaskDefinition", "ecs:TagResource"],
            regional_arns(scope, "ecs", f"task-definition/{scope.name_prefix}-*:*"),
        ),
        # A new server image or role replaces the task definition's revision, and the old one is deregistered.
        # DeregisterTaskDefinition supports no resource-level permissions (Service Authorization Reference).
        statement("DeregisterTaskDefinitions", ["ecs:DeregisterTaskDefinition"], "*"),
        statement(
            "CreateSecurityGroups",
            ["ec2:CreateSecurityGroup"],
            ec2_arns(scope, "security-group") + ec2_arns(scope, "vpc"),
        ),
        *deny_unless_tagged(
            "NewSecurityGroupsTagged",
            ["ec2:CreateSecurityGroup"],
            ec2_arns(scope, "security-group"),
            prefix,
            request=True,
        ),
        statement(
            # The endpoints of the PrivateLink setup, placed in the customer's network.
            "CreateVpcEndpoints",
            ["ec2:CreateVpcEndpoint"],
            ec2_arns(scope, "vpc-endpoint")
            + ec2_arns(scope, "vpc")
            + ec2_arns(scope, "subnet")
            + ec2_arns(scope, "route-table")
            + ec2_arns(scope, "security-group"),
        ),
        *deny_unless_tagged(
            "NewEndpointsTagged", ["ec2:CreateVpcEndpoint"], ec2_arns(scope, "vpc-endpoint"), prefix, request=True
        ),
        statement(
            "TagOnCreate",
            ["ec2:CreateTags"],
            [
                *ec2_arns(scope, "security-group"),
                *ec2_arns(scope, "security-group-rule"),
                *ec2_arns(scope, "vpc-endpoint"),
            ],
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
            ec2_arns(scope, "security-group")
            + ec2_arns(scope, "security-group-rule")
            + ec2_arns(scope, "vpc-endpoint")
            + ec2_arns(scope, "subnet")
            + ec2_arns(scope, "route-table"),
        ),
        *deny_unless_tagged(
            "OnlyTaggedNetworkResources",
            [*_NETWORK_CHANGES, "ec2:CreateVpcEndpoint"],
            ec2_arns(scope, "security-group") + ec2_arns(scope, "vpc-endpoint"),
            prefix,
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
            regional_arns(scope, "events", f"rule/{scope.name_prefix}-*"),
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
            regional_arns(scope, "sns", f"{scope.name_prefix}-*")
            + regional_arns(scope, "cloudwatch", f"alarm:{scope.name_prefix}-*"),
        ),
        statement(
            # Alert e-mail subscriptions are read on refresh and removed when an address leaves the config; neither
            # action supports resource-level permissions.
            "ManageAlertSubscriptions",
            ["sns:GetSubscriptionAttributes", "sns:Unsubscribe"],
            "*",
        ),
        statement(
            # Only the roles the connector and the vaults create, by their exact name patterns, and only with the
            # boundary. Permissions are inline role policies: nothing is ever attached
            # (DenyTrustChangesAndAttachedPolicies).
            "CreateServiceRolesOnlyWithBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
            ],
            service_roles,
            with_boundary,
        ),
        statement(
            "ManageServiceRoles",
            ["iam:UpdateRole", "iam:DeleteRole"],
            service_roles,
        ),
        statement(
            # Refresh reads every Elastio role, the account roles included, and a change of the stack's tags
            # retags them (no IAM condition here reads a role's tags). By this deployment's own names: another
            # deployment's roles in the account are not the installer's (issue 16).
            "ReadAndTagElastioRoles",
            [
                "iam:TagRole",
                "iam:UntagRole",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
            ],
            elastio_role_arns(scope),
        ),
        statement(
            # The boundary, the six policies for people and the installer's own are written by the operator's
            # run (DenyChangingElastioPolicies); the installer reads and retags them.
            "ReadElastioPolicies",
            [
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            elastio_policy_arns(scope),
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
            # Also no inline or attached policy on a role without it, whatever else the installer is granted.
            "DenyRolesWithoutBoundary",
            ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:AttachRolePolicy"],
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
            # A new version of the boundary, of the installer's own policies or of a policy people hold would lift
            # a limit at once (the customer's boundary, when configured, is named too).
            "DenyChangingElastioPolicies",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            [boundary_arn, elastio_policy_arn_pattern(scope)],
            effect="Deny",
        ),
        statement(
            # The installer's own role, and the tenant's: the tenant role has no boundary unless the customer
            # configures one, so setting ours and then any inline policy would be a two-step escalation.
            "DenyChangingAccountRoles",
            [
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRole",
                "iam:PutRolePermissionsBoundary",
            ],
            [installer_role, tenant_role],
            effect="Deny",
        ),
        statement(
            # Who may assume an Elastio role is fixed when it is created; managed policies are never attached to
            # one (the program uses inline policies only), so attaching e.g. AdministratorAccess is refused.
            "DenyTrustChangesAndAttachedPolicies",
            ["iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"],
            elastio_roles,
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
            # Each of these weakens a vault after creation: its bucket policy (who may read and delete), versioning
            # (suspended, a deletion is final), object lock, encryption, the public access block, ownership (ACLs).
            # They are the operator's own credentials' job (README, "What the installer can and cannot do").
            "DenyWeakeningVaultBuckets",
            [
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketVersioning",
                "s3:PutBucketObjectLockConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketOwnershipControls",
            ],
            vault_bucket_arns(scope),
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
            # A TTL on the index (e.g. on its epoch attribute) would empty it; without point-in-time recovery a
            # damaged table cannot be restored. Both are the operator's, and so is creating a table with PITR.
            "DenyWeakeningTables",
            ["dynamodb:UpdateTimeToLive", "dynamodb:UpdateContinuousBackups"],
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
        statement(
            # The safety check keeps a key policy from locking out the caller; skipping it is never needed here.
            "DenyBypassingKeyPolicyLockoutCheck",
            ["kms:PutKeyPolicy", "kms:CreateKey"],
            "*",
            {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}},
            effect="Deny",
        ),
    )

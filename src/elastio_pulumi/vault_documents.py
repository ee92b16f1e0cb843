"""A vault's policy documents, job definitions and vaults-table record, as pure functions.

Nothing here calls Pulumi or AWS: src/elastio_pulumi/vault.py resolves the ARNs and hands them in as plain strings,
so every document is tested as plain Python. Each document names this one vault's resources (and the
region's recovery-points and jobs tables, which the connector shares between its vaults); the only `*`
resource is ecr:GetAuthorizationToken, which AWS cannot scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elastio_contract import kms as kms_contract
from elastio_contract import tables as contract_tables
from elastio_contract.tags import deployment_tag
from elastio_pulumi import naming
from elastio_pulumi.constants import PARTITION, RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE
from elastio_pulumi.iam_documents import (
    ECS_TASKS_SERVICE,
    TAGGED,
    document,
    in_account_s3,
    keys_via_ebs,
    statement,
)
from elastio_pulumi.iam_documents.builder import merge_conditions, not_another_deployments, own_tagged

# Reports (integrity checks, scans) live under their own prefix of the vault bucket: readable to account
# principals with IAM permission, unlike packs and manifests (bucket_policy).
REPORTS_PREFIX = "reports/"
INTEGRITY_REPORTS_PREFIX = f"{REPORTS_PREFIX}integrity/"  # lambdas/integrity_checks/handler.py writes here


_PRIVATE_ECR = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)


@dataclass(frozen=True)
class VaultScope:
    """The resolved identifiers every vault document is scoped to."""

    vault_name: str
    region: str
    account_id: str
    bucket_arn: str
    key_arn: str
    index_table_arn: str
    jobs_table_arn: str
    recovery_points_table_arn: str
    connector_key_arn: str
    catalog_function_arn: str
    log_group_arn: str
    name_prefix: str = naming.DEFAULT_NAME_PREFIX
    """The deployment's name prefix: the elastio:deployment tag value the task role's EC2/EBS grants require."""


# --- helpers --------------------------------------------------------------------------------------------

def _root(account_id: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:root"


def _via(service: str, region: str) -> dict:
    return {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}}


# The vault secret's encryption context (elastio_contract.kms, which the engine uses too; docs/CONTRACT.md
# "Vault bucket layout"): the only context the task role may use the vault key with directly.
SECRET_CONTEXT_BUCKET = kms_contract.SECRET_CONTEXT_BUCKET
SECRET_CONTEXT_PURPOSE = kms_contract.SECRET_CONTEXT_PURPOSE
SECRET_PURPOSE = kms_contract.SECRET_PURPOSE


def bucket_name_of(bucket_arn: str) -> str:
    return bucket_arn.split(":::", 1)[1]


def _vault_secret_context(bucket_name: str) -> dict[str, str]:
    """Condition keys of a KMS request carrying the vault secret's encryption context
    (kms:EncryptionContext:<key>, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
    A request must carry both pairs; KMS binds a ciphertext to its whole context, so a data key of S3 or
    DynamoDB (whose contexts name other keys) never decrypts with this one."""
    return {
        f"kms:EncryptionContext:{SECRET_CONTEXT_BUCKET}": bucket_name,
        f"kms:EncryptionContext:{SECRET_CONTEXT_PURPOSE}": SECRET_PURPOSE,
    }


def snapshot_arns(region: str) -> list[str]:
    # EBS snapshot ARNs have no account field: arn:aws:ec2:<region>::snapshot/<id>.
    return [f"arn:{PARTITION}:ec2:{region}::snapshot/*"]


# --- trust -----------------------------------------------------------------------------------------------

def ecs_tasks_trust_policy(account_id: str, region: str) -> dict:
    """Both vault roles are assumed by ECS tasks (Batch on Fargate runs ECS tasks); the source conditions stop
    another account's tasks from using them (confused deputy)."""
    return document(
        {
            "Sid": "EcsTasksOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": ECS_TASKS_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{PARTITION}:ecs:{region}:{account_id}:*"},
            },
        }
    )


# --- identity policies -----------------------------------------------------------------------------------

# HeadObject is authorised as GetObject; it returns an object's lock retain-until date (compaction reads it)
# only to a caller that also has GetObjectRetention.
ENGINE_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectRetention"]
# The vault's table keeps small state only (the compaction lock, the GC generation); the dedup index is held in
# S3 (engine/index.py), so no batch or scan call touches the table.
# Scan: only `rebuild-index` of a vault upgraded from the DynamoDB index reads the old per-chunk items once.
ENGINE_INDEX_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
ENGINE_JOB_ACTIONS = ["dynamodb:UpdateItem"]
RECOVERY_POINTS_INDEX = contract_tables.RECOVERY_POINTS_BY_VAULT
VAULT_KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey"]
SNAPSHOT_READ = ["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks", "ebs:GetSnapshotBlock"]
SNAPSHOT_WRITE = ["ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"]


def volume_arns(region: str, account_id: str) -> list[str]:
    return [f"arn:{PARTITION}:ec2:{region}:{account_id}:volume/*"]


def _via_ec2(region: str) -> dict:
    return {"StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"}}


def _keys_of_region(region: str, account_id: str) -> list[str]:
    # The vault key (restored snapshots) and whatever key a source snapshot is encrypted with (aws/ebs or the
    # customer's own): only through EC2/EBS in this region, which is all the condition lets through.
    return [f"arn:{PARTITION}:kms:{region}:{account_id}:key/*"]


def task_role_policy(scope: VaultScope) -> dict:
    """The engine (Batch jobs) and the ScaleZ server: this vault's data, its job records, the expired recovery
    points compaction removes, the Catalog call, and the EBS direct APIs on snapshots Elastio tagged."""
    points = scope.recovery_points_table_arn
    in_account = in_account_s3(scope.account_id)
    own, own_request = own_tagged(scope.name_prefix), own_tagged(scope.name_prefix, request=True)
    return document(
        statement("VaultObjects", ENGINE_OBJECT_ACTIONS, [f"{scope.bucket_arn}/*"], in_account),
        statement("ListVault", ["s3:ListBucket"], [scope.bucket_arn], in_account),
        statement(
            # Only through S3 and DynamoDB in this region: the key protects packs and the index, nothing else.
            "VaultKeyViaS3",
            VAULT_KEY_USE,
            [scope.key_arn],
            _via("s3", scope.region),
        ),
        statement("VaultKeyViaDynamoDB", VAULT_KEY_USE, [scope.key_arn], _via("dynamodb", scope.region)),
        statement(
            # Directly, for one thing: the vault secret (keys of chunk ids and manifest MACs), made once with
            # GenerateDataKey and decrypted by every later job (engine/vaultconfig.py).
            "VaultSecret",
            VAULT_KEY_USE,
            [scope.key_arn],
            {"StringEquals": _vault_secret_context(bucket_name_of(scope.bucket_arn))},
        ),
        statement("DedupIndex", ENGINE_INDEX_ACTIONS, [scope.index_table_arn]),
        statement("JobProgress", ENGINE_JOB_ACTIONS, [scope.jobs_table_arn]),
        # The compact job finds the expired points of its vault through the index, then deletes those items
        # (conditionally on status = expired, engine/expiry.py); the table is the region's, keyed by asset.
        statement("FindExpiredRecoveryPoints", ["dynamodb:Query"], [f"{points}/index/{RECOVERY_POINTS_INDEX}"]),
        statement("ForgetExpiredRecoveryPoints", ["dynamodb:DeleteItem"], [points]),
        statement(
            # The jobs and recovery-points tables are encrypted with the connector key.
            "ConnectorTablesKey",
            [*VAULT_KEY_USE, "kms:Encrypt"],
            [scope.connector_key_arn],
            _via("dynamodb", scope.region),
        ),
        statement("RegisterRecoveryPoints", ["lambda:InvokeFunction"], [scope.catalog_function_arn]),
        # Reads: any snapshot marked elastio:resource (Background jobs of any deployment marks the customer's
        # snapshots it backs up, and may mark any); writes and creates: only the deployment's own restores.
        statement("ReadTaggedSnapshotBlocks", SNAPSHOT_READ, snapshot_arns(scope.region), TAGGED),
        statement("StartTaggedSnapshots", ["ebs:StartSnapshot"], snapshot_arns(scope.region), own_request),
        statement("WriteTaggedSnapshotBlocks", SNAPSHOT_WRITE, snapshot_arns(scope.region), own),
        # A restore to an availability zone creates a volume from the restored snapshot. The request-tag
        # condition holds for both resources of the call: only volumes tagged as Elastio's are created.
        statement(
            "CreateTaggedVolumes",
            ["ec2:CreateVolume"],
            [*volume_arns(scope.region, scope.account_id), *snapshot_arns(scope.region)],
            own_request,
        ),
        statement(
            "TagVolumesOnCreate",
            ["ec2:CreateTags"],
            volume_arns(scope.region, scope.account_id),
            {"StringEquals": {"ec2:CreateAction": "CreateVolume"}},
        ),
        *keys_via_ebs(
            _keys_of_region(scope.region, scope.account_id),
            merge_conditions(_via_ec2(scope.region), not_another_deployments(scope.name_prefix)),
        ),
    )


def required_create_tags(name_prefix: str) -> dict[str, str]:
    """Tags the engine must put on what it creates (restored snapshots and volumes) for the statements above."""
    return {RESOURCE_TAG_KEY: RESOURCE_TAG_VALUE, **deployment_tag(name_prefix)}


def ecr_repository_arn(image: str) -> str | None:
    """The private ECR repository an image lives in, or None for public registries (no IAM needed to pull)."""
    match = _PRIVATE_ECR.match(image)
    if not match:
        return None
    return f"arn:{PARTITION}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def execution_role_policy(log_group_arn: str, images: list[str]) -> dict:
    """What ECS needs to start the vault's tasks: write to the vault log group, pull private ECR images."""
    statements = [
        statement(
            "VaultLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:log-stream:*"]
        ),
    ]
    repositories = sorted({arn for arn in map(ecr_repository_arn, images) if arn})
    if repositories:
        statements += [
            # GetAuthorizationToken supports no resource-level permissions.
            statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
            statement(
                "PullImages",
                ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                repositories,
            ),
        ]
    return document(*statements)


# --- resource policies -----------------------------------------------------------------------------------

def key_policy(account_id: str, region: str, task_role_arn: str, bucket_name: str) -> dict:
    """The account administers the key (so IAM policies, bounded by the permissions boundary, decide who else
    may use it: a key that only named roles may manage is lost when they are); the task role uses it through
    S3 and DynamoDB, and directly only with the vault secret's encryption context of `bucket_name`."""
    return document(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": _root(account_id)},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "VaultTaskUsesKey",
            "Effect": "Allow",
            "Principal": {"AWS": task_role_arn},
            "Action": [*VAULT_KEY_USE, "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [f"s3.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"],
                    "kms:CallerAccount": account_id,
                }
            },
        },
        {
            "Sid": "VaultTaskVaultSecret",
            "Effect": "Allow",
            "Principal": {"AWS": task_role_arn},
            "Action": VAULT_KEY_USE,
            "Resource": "*",
            "Condition": {"StringEquals": {**_vault_secret_context(bucket_name), "kms:CallerAccount": account_id}},
        },
        # Restores write snapshots encrypted with this key through the EBS direct APIs and create volumes from
        # them: EC2 uses the key on the task role's behalf.
        *(
            {**grant, "Sid": f"VaultTask{grant['Sid']}", "Principal": {"AWS": task_role_arn}}
            for grant in keys_via_ebs(["*"], _via_ec2(region))
        ),
    )


# Reading vault data (packs, manifests, whatever the engine keeps beside them): the task role, and a
# break-glass role if configured. Changing or deleting it: the task role alone.
DATA_READS = ["s3:GetObject", "s3:GetObjectVersion"]
DATA_CHANGES = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
]


def _account_of(role_arn: str) -> str:
    return role_arn.split(":")[4]


def bucket_policy(
    bucket_arn: str,
    key_arn: str,
    task_role_arn: str,
    break_glass_role_arn: str | None = None,
) -> dict:
    """Deny plain HTTP; deny writes that ask for any encryption but SSE-KMS with the vault key; and keep the
    vault's data to the vault: every principal but the task role (and the break-glass role, for reading) is
    refused the objects outside reports/, whatever its IAM policies grant (an administrator included: the
    operator who must empty a bucket removes this policy first, docs/networking-and-data.md).

    Writes that send no encryption headers get the bucket default (the vault key), so they pass; the `Null`
    conditions keep UploadPart (authorized as s3:PutObject, without the headers) working. The data denies name
    principals with aws:PrincipalArn, not NotPrincipal: for a role session NotPrincipal must list the session
    ARN too, and a bounded role's requests would be refused
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html)."""
    if break_glass_role_arn and _account_of(break_glass_role_arn) != _account_of(task_role_arn):
        raise ValueError(
            f"elastio:iam.breakGlassRoleArn: {break_glass_role_arn} is not a role of this account "
            f"({_account_of(task_role_arn)}): name a role of the account you deploy to"
        )
    everyone = {"AWS": "*"}
    data = {"NotResource": f"{bucket_arn}/{REPORTS_PREFIX}*"}
    readers = [task_role_arn, *([break_glass_role_arn] if break_glass_role_arn else [])]
    return document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": everyone,
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOtherEncryption",
            "Effect": "Deny",
            "Principal": everyone,
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption": "false"},
            },
        },
        {
            "Sid": "DenyOtherKeys",
            "Effect": "Deny",
            "Principal": everyone,
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
        },
        {
            "Sid": "DataReadOnlyByVaultRoles",
            "Effect": "Deny",
            "Principal": "*",
            "Action": DATA_READS,
            **data,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers}},
        },
        {
            "Sid": "DataChangedOnlyByTaskRole",
            "Effect": "Deny",
            "Principal": "*",
            "Action": DATA_CHANGES,
            **data,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": task_role_arn}},
        },
    )

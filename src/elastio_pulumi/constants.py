"""Facts of the Elastio design that every part of the program agrees on (one source of truth each).

Facts the deployed functions and the engine share live in elastio_contract; the tags are re-exported here."""

from elastio_contract import tags as contract_tags

# The regions the reference document lists as supported; more are added on customer request.
SUPPORTED_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "ap-south-1",
    "ap-southeast-2",
    "ca-central-1",
)

# Short region codes keep global IAM names (64 characters at most) within limits for every region.
REGION_CODES: dict[str, str] = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "eu-west-1": "euw1",
    "eu-west-2": "euw2",
    "eu-west-3": "euw3",
    "eu-central-1": "euc1",
    "ap-south-1": "aps1",
    "ap-southeast-2": "apse2",
    "ca-central-1": "cac1",
}

MAX_VAULTS_PER_REGION = 4

# Every taggable resource carries this tag; IAM conditions scope destructive actions to it (elastio_contract).
RESOURCE_TAG_KEY = contract_tags.RESOURCE_TAG_KEY
RESOURCE_TAG_VALUE = contract_tags.RESOURCE_TAG_VALUE
# Every taggable resource also carries its deployment's name prefix under this tag (elastio_contract), which every
# grant on a deployment's own tagged resources requires too (iam_documents.builder.own_tagged).
DEPLOYMENT_TAG_KEY = contract_tags.DEPLOYMENT_TAG_KEY
# Customers opt their own volumes in to ElastioLocalBackup's snapshots with this tag (value RESOURCE_TAG_VALUE).
# A key of its own: elastio:resource on a customer volume would also hand ElastioMountAndRestore attach/detach.
LOCAL_BACKUP_TAG_KEY = "elastio:local-backup"
# Every Batch job the connector submits carries the vault it runs for under this tag (lambdas/shared/jobs.py
# sets it on SubmitJob); job ARNs name no queue, so IAM scopes batch:TerminateJob to jobs with this tag.
JOB_VAULT_TAG_KEY = contract_tags.JOB_VAULT_TAG_KEY

# All supported regions are in the commercial partition.
PARTITION = "aws"

# The six customer-attachable managed policies of the account stack.
MANAGED_POLICY_NAMES: tuple[str, ...] = (
    "ElastioAgentlessBackupAndRestore",
    "ElastioBackupAdmin",
    "ElastioFullAdmin",
    "ElastioJobsAdmin",
    "ElastioLocalBackup",
    "ElastioMountAndRestore",
)

# IAM limits (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
IAM_ROLE_NAME_MAX = 64
IAM_POLICY_NAME_MAX = 128
S3_BUCKET_NAME_MAX = 63

VAULT_NAME_MAX = 20

# --- VPC endpoints of the vault tasks (elastio_pulumi.networking creates them) --------------------------
# Service suffix -> why the vault tasks need it.
INTERFACE_SERVICES: dict[str, str] = {
    "ecr.api": "image manifests for the worker and server images",
    "ecr.dkr": "image layer pulls (the layers themselves come from S3 through the gateway endpoint)",
    "logs": "task logs (awslogs driver)",
    "sts": "the task role's credentials for the AWS SDK",
    "kms": "the vault key (data keys for S3 and the index table)",
    "ebs": "EBS direct APIs: reading snapshot blocks, writing restored snapshots",
    "ec2": "DescribeSnapshots and restore targets",
    "lambda": "the engine's recovery-point.register call to the Catalog",
    "ecs": "the ScaleZ server task's cluster API calls",
}
GATEWAY_SERVICES: tuple[str, ...] = ("s3", "dynamodb")
# The short names `regions[].network.existingEndpoints` (NetworkArgs.existing_endpoints) may list.
ENDPOINT_SERVICES: tuple[str, ...] = (*GATEWAY_SERVICES, *INTERFACE_SERVICES)

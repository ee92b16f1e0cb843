"""Vault: one isolated, deduplicated backup namespace in a region, a child of its region's CloudConnector.

Reads like the vault half of the regional stack: the roles (the key policy names the task role), the key,
the bucket for packed chunk data and the dedup index blobs, the vault's small-state table, then the compute
that runs on demand only (a Fargate Batch environment with a job queue and the four engine job definitions,
an ECS cluster and the ScaleZ server task definition). Nothing here runs or bills by the hour while idle.

Documents come from elastio_pulumi.vault_documents (pure); this module only wires them. The bucket, the index
table and the key are `retain_on_delete`, and so is everything that protects them (the key's alias, the
bucket's policy, public access block, encryption default, versioning, lifecycle, ownership controls and
object-lock configuration): `pulumi destroy` (or a vault rename, which replaces them) removes them from the
stack but leaves them, guarded as they were, in the account. With `options.adoptRetained` a redeploy imports
them by name instead of failing on the names they hold (docs/networking-and-data.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from elastio_contract.tables import VAULT_TABLE_KEY
from elastio_contract.vault_record import VaultRecord
from elastio_pulumi import job_definitions, naming, retained, vault_documents
from elastio_pulumi.args import (
    ConnectorOptions,
    IamArgs,
    NetworkArgs,
    Problems,
    VaultSpec,
    iam_name_problems,
    region_problems,
)
from elastio_pulumi.connector_documents import VaultRefs
from elastio_pulumi.job_definitions import JOB_TYPES, SERVER_SIZE, EngineSettings
from elastio_pulumi.rules import image_in_region
from elastio_pulumi.tags import deployment_tags
from elastio_pulumi.vault_documents import VaultScope

# Upper bound of the Batch environment, not a reservation: Fargate starts tasks per job and bills per task.
MAX_VCPUS = 64
# Deleted and rewritten packs (and merged index blobs) stay as noncurrent versions this long: a day to undo a
# bad compaction. Compaction rewrites packs once a fifth of them is dead (engine/compact.py), so every day of
# noncurrent versions keeps about 5 days of new data twice (cost/usage.py); an update of the lifecycle
# configuration, never a replacement of the bucket.
NONCURRENT_VERSION_DAYS = 1
ABORT_MULTIPART_DAYS = 1
KEY_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class VaultArgs:
    vault: VaultSpec
    region: str
    network: NetworkArgs
    """The region's network; vault.subnet_ids overrides network.subnet_ids."""
    account_id: Input[str]
    permissions_boundary_arn: Input[str]
    """Attached to both vault roles."""
    jobs_table_name: Input[str]
    jobs_table_arn: Input[str]
    recovery_points_table_name: Input[str]
    recovery_points_table_arn: Input[str]
    """The compact job removes the recovery points the Catalog expired (query by vault, then delete)."""
    connector_key_arn: Input[str]
    """The connector tables' key: the engine updates its job record and removes expired recovery points."""
    catalog_function_name: Input[str]
    catalog_function_arn: Input[str]
    security_group_id: Input[str]
    """The region's vault-task security group (no inbound, HTTPS out), shared by the connector's vaults."""
    iam: IamArgs = IamArgs()
    options: ConnectorOptions = ConnectorOptions()
    tags: Mapping[str, str] = field(default_factory=dict)
    """Already merged (elastio_pulumi.tags.merged_tags); the vault adds its deployment tag (deployment_tags)."""
    name_prefix: str = naming.DEFAULT_NAME_PREFIX
    """The deployment's name prefix (elastio:namePrefix): every name the vault creates starts with it."""

    def __post_init__(self):
        problems = Problems("VaultArgs")
        for problem in naming.name_prefix_arg_problems(self.name_prefix):
            problems.add(problem)
        region_problems(problems, self.region, self.network, [self.vault], self.options)
        if not problems.found:
            iam = self.iam.naming(self.name_prefix)
            iam_name_problems(problems, naming.vault_iam_names(iam, self.vault.name, self.region))
        problems.raise_any()


@dataclass(frozen=True)
class VaultOutputs:
    """A vault as its region sees it, resolved: the one projection the connector reads (by name)."""

    name: str
    region: str
    bucket_name: str
    bucket_arn: str
    key_arn: str
    index_table_name: str
    index_table_arn: str
    job_queue_arn: str
    job_definition_arns: dict[str, str]
    cluster_arn: str
    server_task_definition_arn: str
    security_group_id: str
    subnet_ids: tuple[str, ...]
    assign_public_ip: bool
    task_role_arn: str
    execution_role_arn: str

    def refs(self) -> VaultRefs:
        """What the connector's function roles are scoped to."""
        return VaultRefs(
            name=self.name,
            bucket_arn=self.bucket_arn,
            key_arn=self.key_arn,
            index_table_arn=self.index_table_arn,
            job_queue_arn=self.job_queue_arn,
            job_definition_arns=tuple(self.job_definition_arns[kind] for kind in sorted(self.job_definition_arns)),
            cluster_arn=self.cluster_arn,
            server_task_definition_arn=self.server_task_definition_arn,
            task_role_arn=self.task_role_arn,
            execution_role_arn=self.execution_role_arn,
        )

    def record(self) -> VaultRecord:
        """The vault's item in the connector's vaults table (elastio_contract)."""
        return VaultRecord(
            vaultName=self.name,
            region=self.region,
            bucketName=self.bucket_name,
            kmsKeyArn=self.key_arn,
            indexTableName=self.index_table_name,
            jobQueueArn=self.job_queue_arn,
            jobDefinitions=dict(self.job_definition_arns),
            clusterArn=self.cluster_arn,
            serverTaskDefinitionArn=self.server_task_definition_arn,
            subnetIds=list(self.subnet_ids),
            securityGroupId=self.security_group_id,
            assignPublicIp=self.assign_public_ip,
        )


class Vault(pulumi.ComponentResource):
    # Registered outputs (register_outputs below) and `outputs`, the one projection the connector reads.
    bucket_name: Output[str]
    key_arn: Output[str]
    index_table_name: Output[str]
    job_queue_arn: Output[str]
    cluster_arn: Output[str]
    task_role_arn: Output[str]
    outputs: Output[VaultOutputs]
    # Known from the arguments before anything runs.
    vault_name: str
    region: str
    subnet_ids: list[Input[str]]
    assign_public_ip: bool

    def __init__(self, name: str, args: VaultArgs, opts: ResourceOptions | None = None):
        super().__init__("elastio:vault:Vault", name, None, opts)
        child = ResourceOptions(parent=self)
        # Backups must outlive the stack: destroy or replacement forgets these resources, it does not delete.
        keep = functools.partial(retained.keep, self, args.options.adopt_retained)
        vault = args.vault.name
        region = args.region
        tags = deployment_tags(args.tags, args.name_prefix)
        self.vault_name = vault
        self.region = region
        self.subnet_ids = list(args.vault.subnet_ids or args.network.subnet_ids)
        self.assign_public_ip = args.network.assign_public_ip
        iam_names = args.iam.naming(args.name_prefix)
        prefix = args.name_prefix
        account_id = Output.from_input(args.account_id)

        # --- roles (first: the key policy names the task role, and KMS rejects unknown principals) -------
        trust = account_id.apply(lambda acct: _json(vault_documents.ecs_tasks_trust_policy(acct, region)))

        def role(kind: str, description: str) -> aws.iam.Role:
            return aws.iam.Role(
                f"{name}-{kind}-role",
                name=naming.vault_role_name(iam_names, vault, region, kind),
                description=description,
                assume_role_policy=trust,
                permissions_boundary=args.permissions_boundary_arn,
                max_session_duration=3600,
                tags=tags,
                opts=child,
            )

        task_role = role("task", f"Elastio vault {vault} engine jobs and ScaleZ server: its own data only.")
        exec_role = role("exec", f"ECS starts Elastio vault {vault} tasks with it: image pulls and logs.")

        # --- key -------------------------------------------------------------------------------------------
        alias_name = naming.vault_key_alias_name(prefix, vault)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Elastio vault {vault}: packs, manifests and the dedup index.",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=Output.all(account_id, task_role.arn).apply(
                lambda v: _json(
                    vault_documents.key_policy(
                        v[0], region, v[1], naming.vault_bucket_name(prefix, vault, v[0], region)
                    )
                )
            ),
            tags=tags,
            opts=keep(
                lambda: retained.key_id_by_alias(self, alias_name), retained.KEY_INPUTS_STALE_AFTER_DESTROY
            ),
        )
        # Key ids are random: the alias is how a key kept after `pulumi destroy` is found (and adopted) again.
        aws.kms.Alias(f"{name}-key-alias", name=alias_name, target_key_id=key.key_id, opts=keep(alias_name))

        # --- bucket ----------------------------------------------------------------------------------------
        lock = args.vault.object_lock
        bucket_name = account_id.apply(lambda acct: naming.vault_bucket_name(prefix, vault, acct, region))
        def adopt_bucket() -> str:
            return naming.vault_bucket_name(prefix, vault, retained.known(args.account_id), region)

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            force_destroy=False,
            tags=tags,
            # Object Lock is turned on by the lock configuration below, which S3 accepts on an existing
            # versioned bucket. `objectLockEnabled` on the bucket is replace-on-change, so it stays as each
            # bucket was created (stacks deployed before this set it at creation): never a new bucket.
            opts=keep(adopt_bucket, ignore_changes=["objectLockEnabled"]),
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=keep(adopt_bucket),
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=keep(adopt_bucket),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=keep(adopt_bucket),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    # One data key per bucket instead of one KMS call per object: packs are many and large.
                    bucket_key_enabled=True,
                )
            ],
            opts=keep(adopt_bucket),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=Output.all(bucket.arn, key.arn, task_role.arn).apply(
                lambda v: _json(vault_documents.bucket_policy(v[0], v[1], v[2], args.iam.break_glass_role_arn))
            ),
            # The public access block first, so the policy is never checked against an unguarded bucket.
            opts=keep(adopt_bucket, depends_on=[public_access, ownership]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(  # noqa: E501
                        days_after_initiation=ABORT_MULTIPART_DAYS
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    # Compaction deletes packs; in a versioned bucket that only hides them until this runs.
                    id="expire-deleted-packs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(  # noqa: E501
                        noncurrent_days=NONCURRENT_VERSION_DAYS
                    ),
                ),
            ],
            opts=keep(adopt_bucket, depends_on=[versioning]),
        )
        if lock:
            # S3 enables Object Lock on an existing bucket once versioning is on (Amazon S3 User Guide,
            # "Configuring S3 Object Lock" > "Enable Object Lock on an existing S3 bucket"; pulumi-aws
            # BucketObjectLockConfiguration "can be used to enable Object Lock for new and existing buckets"),
            # so the bucket comes through its versioning: the lock is applied after it, on new and old vaults.
            # Object Lock cannot be turned off again, and a COMPLIANCE retention cannot be shortened or removed.
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-bucket-object-lock",
                bucket=versioning.bucket,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=lock.mode, days=lock.days
                    )
                ),
                opts=keep(adopt_bucket),
            )

        # --- small state (compaction lock, GC generation) ---------------------------------------------------
        # Named and keyed as when it held the dedup index (one item per chunk): renaming or rekeying it would
        # replace a data-bearing resource. The index itself is index blobs in the bucket (engine/index.py).
        index_table = aws.dynamodb.Table(
            f"{name}-index",
            name=naming.vault_index_table_name(prefix, vault),
            billing_mode="PAY_PER_REQUEST",
            hash_key=VAULT_TABLE_KEY.hash_key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=VAULT_TABLE_KEY.hash_key, type="S")],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=key.arn
            ),
            tags=tags,
            opts=keep(naming.vault_index_table_name(prefix, vault)),
        )

        # --- logs and role permissions ---------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.vault_log_group_name(prefix, vault),
            retention_in_days=args.options.log_retention_days,
            tags=tags,
            opts=child,
        )
        scope = Output.all(
            account_id=account_id,
            bucket_arn=bucket.arn,
            key_arn=key.arn,
            index_table_arn=index_table.arn,
            jobs_table_arn=args.jobs_table_arn,
            connector_key_arn=args.connector_key_arn,
            catalog_function_arn=args.catalog_function_arn,
            log_group_arn=log_group.arn.apply(_without_star),
            recovery_points_table_arn=args.recovery_points_table_arn,
        ).apply(lambda v: VaultScope(vault_name=vault, region=region, name_prefix=prefix, **v))
        aws.iam.RolePolicy(
            f"{name}-task-policy",
            name="ElastioVaultTask",
            role=task_role.name,
            policy=scope.apply(lambda s: _json(vault_documents.task_role_policy(s))),
            opts=child,
        )
        # `{region}` in an image names this region's registry (a PrivateLink region reaches only its own).
        worker_image = image_in_region(args.options.worker_image, region)
        server_image = image_in_region(args.options.server_image, region)
        images = [worker_image, server_image]
        aws.iam.RolePolicy(
            f"{name}-exec-policy",
            name="ElastioVaultExecution",
            role=exec_role.name,
            policy=log_group.arn.apply(
                lambda arn: _json(vault_documents.execution_role_policy(_without_star(arn), images))
            ),
            opts=child,
        )

        # --- compute, on demand only -----------------------------------------------------------------------
        compute = aws.batch.ComputeEnvironment(
            f"{name}-compute",
            name=naming.vault_resource_name(prefix, vault),
            type="MANAGED",
            # Fargate has no minimum vCPUs: nothing runs, and nothing bills, until a job is submitted.
            compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                type=args.options.compute_type,
                max_vcpus=MAX_VCPUS,
                subnets=self.subnet_ids,
                security_group_ids=[args.security_group_id],
            ),
            tags=tags,
            opts=child,
        )
        job_queue = aws.batch.JobQueue(
            f"{name}-queue",
            name=naming.vault_resource_name(prefix, vault),
            state="ENABLED",
            priority=1,
            compute_environment_orders=[
                aws.batch.JobQueueComputeEnvironmentOrderArgs(order=1, compute_environment=compute.arn)
            ],
            tags=tags,
            opts=child,
        )
        settings = Output.all(
            bucket_name=bucket.bucket,
            key_arn=key.arn,
            index_table_name=index_table.name,
            jobs_table_name=args.jobs_table_name,
            catalog_function_name=args.catalog_function_name,
            task_role_arn=task_role.arn,
            execution_role_arn=exec_role.arn,
            recovery_points_table_name=args.recovery_points_table_name,
        ).apply(
            lambda v: EngineSettings(
                vault_name=vault, region=region, image=worker_image, deployment=prefix,
                log_group_name=naming.vault_log_group_name(prefix, vault), assign_public_ip=self.assign_public_ip, **v,
            )
        )
        job_definition_arns: dict[str, Output[str]] = {}
        for job_type in JOB_TYPES:
            definition = aws.batch.JobDefinition(
                f"{name}-{job_type}",
                name=naming.vault_job_definition_name(prefix, vault, job_type),
                type="container",
                platform_capabilities=["FARGATE"],
                container_properties=settings.apply(
                    lambda s, job_type=job_type: _json(job_definitions.container_properties(job_type, s))
                ),
                parameters=job_definitions.job_parameter_defaults(job_type) or None,
                retry_strategy=aws.batch.JobDefinitionRetryStrategyArgs(
                    attempts=job_definitions.JOB_RETRY_ATTEMPTS,
                    evaluate_on_exits=_retry_only_when_reclaimed(),
                ),
                timeout=aws.batch.JobDefinitionTimeoutArgs(
                    attempt_duration_seconds=job_definitions.JOB_TIMEOUT_SECONDS
                ),
                propagate_tags=True,
                tags=tags,
                opts=child,
            )
            job_definition_arns[job_type] = definition.arn

        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=naming.vault_resource_name(prefix, vault),
            # Container Insights bills per metric; the server runs rarely and logs to the vault log group.
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="disabled")],
            tags=tags,
            opts=child,
        )
        # No ECS service: the Provisioner runs this task on `server.start` and stops it on `server.stop`.
        server_task = aws.ecs.TaskDefinition(
            f"{name}-server",
            family=naming.vault_resource_name(prefix, vault, "server"),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(int(SERVER_SIZE.vcpu) * 1024),
            memory=SERVER_SIZE.memory_mib,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            task_role_arn=task_role.arn,
            execution_role_arn=exec_role.arn,
            container_definitions=settings.apply(
                lambda s: _json(job_definitions.server_container_definitions(s, server_image))
            ),
            tags=tags,
            opts=child,
        )

        self.bucket_name = bucket.bucket
        self.key_arn = key.arn
        self.index_table_name = index_table.name
        self.job_queue_arn = job_queue.arn
        self.cluster_arn = cluster.arn
        self.task_role_arn = task_role.arn
        # Everything the region needs of this vault, in one projection read by name.
        self.outputs: Output[VaultOutputs] = Output.all(
            bucket_name=bucket.bucket,
            bucket_arn=bucket.arn,
            key_arn=key.arn,
            index_table_name=index_table.name,
            index_table_arn=index_table.arn,
            job_queue_arn=job_queue.arn,
            job_definition_arns=Output.all(**job_definition_arns),
            cluster_arn=cluster.arn,
            server_task_definition_arn=server_task.arn,
            security_group_id=args.security_group_id,
            subnet_ids=Output.all(*self.subnet_ids),
            task_role_arn=task_role.arn,
            execution_role_arn=exec_role.arn,
        ).apply(
            lambda v: VaultOutputs(
                name=vault, region=region, assign_public_ip=self.assign_public_ip,
                **{**v, "subnet_ids": tuple(v["subnet_ids"])},
            )
        )
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "key_arn": self.key_arn,
                "index_table_name": self.index_table_name,
                "job_queue_arn": self.job_queue_arn,
                "cluster_arn": self.cluster_arn,
                "task_role_arn": self.task_role_arn,
            }
        )


# The stopped reason of a task Fargate Spot reclaims: "Your Spot Task was interrupted." (Amazon ECS Developer
# Guide, "AWS Fargate capacity providers", the task state change event of a Fargate Spot interruption). Batch
# globs allow letters, digits, '.', ':' and white space with one '*' only at the end (AWS Batch API reference,
# EvaluateOnExit; the provider refuses anything else at preview), so the rule matches that prefix.
FARGATE_SPOT_INTERRUPTED = "Your Spot Task was interrupted*"
# The stopped reason when the EC2 host under a task goes away (AWS Batch User Guide, "Automated job retries").
HOST_TERMINATED = "Host EC2*"


def _retry_only_when_reclaimed() -> list[aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs]:
    # A Spot reclaim or host loss is worth a retry; a job that exited on its own failed for a reason a retry
    # would repeat.
    return [
        aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(action="RETRY", on_status_reason=HOST_TERMINATED),
        aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(
            action="RETRY", on_status_reason=FARGATE_SPOT_INTERRUPTED
        ),
        aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(action="EXIT", on_reason="*"),
    ]


def _without_star(log_group_arn: str) -> str:
    # The provider reports log group ARNs without the ":*" suffix; strip it if a mock or older state has it.
    return log_group_arn.removesuffix(":*")


def _json(document: Any) -> str:
    return json.dumps(document)

"""The Vault component under pulumi mocks, planned on its own (the connector's plan covers it in context).

One module-scoped run plans two vaults: `primary` (private subnets, public images, no object lock) and
`locked` (its own subnets, public IP, object lock, private ECR images), and records what they register.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pytest
from pulumi import ResourceOptions
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from elastio_contract import environment as env_names
from elastio_contract import tables
from elastio_pulumi.args import ConnectorOptions, IamArgs, NetworkArgs, ObjectLock, VaultSpec
from elastio_pulumi.tags import merged_tags
from elastio_pulumi.vault import Vault, VaultArgs
from plan.fake_cloud import FakeCloud
from plan.graph import PlannedResource

ACCOUNT = FakeCloud.ACCOUNT_ID
REGION = "us-east-1"
PRIVATE_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/scalez-worker:1.2.3"
NETWORK = NetworkArgs(
    vpc_id="vpc-0a1b2c3d4e5f60718",
    subnet_ids=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
)
PUBLIC_NETWORK = NetworkArgs(
    vpc_id="vpc-0a1b2c3d4e5f60718", subnet_ids=["subnet-0a1b2c3d4e5f60001"], assign_public_ip=True
)
LOCKED_SUBNET = "subnet-0a1b2c3d4e5f60009"
TAGS = merged_tags({"team": "platform"})
SHARED_SECURITY_GROUP = "sg-0a1b2c3d4e5f60718"  # the connector's vault-tasks group


@dataclass
class VaultRun:
    resources: list[PlannedResource]
    records: dict[str, dict] = field(default_factory=dict)
    vaults: dict[str, Vault] = field(default_factory=dict)

    def of(self, vault_component: str) -> list[PlannedResource]:
        """The custom resources under one vault component."""
        urn = next(
            r.urn for r in self.resources if r.type == "elastio:vault:Vault" and r.name == vault_component
        )
        return [r for r in self.resources if r.parent == urn]

    def one(self, vault_component: str, typ: str) -> PlannedResource:
        found = [r for r in self.of(vault_component) if r.type == typ]
        assert len(found) == 1, f"{len(found)} {typ} under {vault_component}"
        return found[0]


def _args(vault: VaultSpec, network: NetworkArgs, options: ConnectorOptions) -> VaultArgs:
    return VaultArgs(
        vault=vault,
        region=REGION,
        network=network,
        options=options,
        iam=IamArgs(name_prefix="Acme"),
        account_id=ACCOUNT,
        permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/ElastioPermissionsBoundary",
        jobs_table_name="elastio-jobs",
        jobs_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-jobs",
        recovery_points_table_name="elastio-recovery-points",
        recovery_points_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-recovery-points",
        connector_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/connector",
        catalog_function_name="elastio-catalog",
        catalog_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:elastio-catalog",
        security_group_id=SHARED_SECURITY_GROUP,
        tags=TAGS,
    )


class _Recorder(pulumi_mocks.MockMonitor):
    """Records registrations with the fields these tests read (plan.runner's monitor does the same for
    whole stacks; this one keeps the vault tests independent of the runner's internals)."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        self.recorded.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                region=None,
                inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=sorted(request.ignoreChanges),
                property_dependencies={k: sorted(d.urns) for k, d in request.propertyDependencies.items()},
                custom=bool(request.custom),
            )
        )
        return response


def plan_vaults() -> VaultRun:
    cloud = FakeCloud()
    monitor = _Recorder(cloud)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    run = VaultRun(resources=[])
    try:
        pulumi.runtime.set_mocks(cloud, project="elastio", stack="vault-test", preview=True, monitor=monitor)
        provider = aws.Provider("aws-us-east-1", region=REGION)
        opts = ResourceOptions(providers=[provider])
        run.vaults["primary"] = Vault(
            "vault-primary", _args(VaultSpec(name="primary"), NETWORK, ConnectorOptions()), opts=opts
        )
        run.vaults["locked"] = Vault(
            "vault-locked",
            _args(
                VaultSpec(
                    name="locked",
                    subnet_ids=[LOCKED_SUBNET],
                    object_lock=ObjectLock(mode="COMPLIANCE", days=30),
                ),
                PUBLIC_NETWORK,
                ConnectorOptions(worker_image=PRIVATE_IMAGE, compute_type="FARGATE_SPOT"),
            ),
            opts=opts,
        )
        for key, vault in run.vaults.items():
            vault.outputs.apply(lambda o, key=key: run.records.__setitem__(key, o.record().to_dynamodb()))
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    run.resources = monitor.recorded
    return run


@pytest.fixture(scope="module")
def run() -> VaultRun:
    return plan_vaults()


def _policy(resource: PlannedResource, key: str = "policy") -> dict:
    return json.loads(resource.inputs[key])


# --- shape and counts ------------------------------------------------------------------------------------

def test_vault_without_object_lock_registers_the_lean_resource_set(run):
    counts = Counter(r.type for r in run.of("vault-primary"))
    assert counts == {
        "aws:iam/role:Role": 2,
        "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:kms/key:Key": 1,
        "aws:kms/alias:Alias": 1,
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:dynamodb/table:Table": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:batch/computeEnvironment:ComputeEnvironment": 1,
        "aws:batch/jobQueue:JobQueue": 1,
        "aws:batch/jobDefinition:JobDefinition": 4,
        "aws:ecs/cluster:Cluster": 1,
        "aws:ecs/taskDefinition:TaskDefinition": 1,
    }


def test_object_lock_adds_only_the_lock_configuration(run):
    primary = Counter(r.type for r in run.of("vault-primary"))
    locked = Counter(r.type for r in run.of("vault-locked"))
    assert locked - primary == {"aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": 1}


def test_no_ecs_service_or_always_on_compute(run):
    types = {r.type for r in run.resources}
    assert "aws:ecs/service:Service" not in types
    assert not any(t.startswith("aws:ec2/instance") or "natGateway" in t for t in types)


def test_every_taggable_child_carries_the_merged_tags_and_its_deployment(run):
    import inspect

    # The vault adds its deployment's tag (the Args' name_prefix, default elastio) itself, explicitly: the IAM
    # grants on a deployment's keys, snapshots and volumes require it, and provider default tags are invisible
    # here.
    expected = {**TAGS, "elastio:deployment": "elastio"}

    for resource in run.of("vault-primary") + run.of("vault-locked"):
        module, cls = resource.type.split(":")[1].split("/")[0], resource.type.rsplit(":", 1)[1]
        pkg = {"lambda": "lambda_"}.get(module, module)
        taggable = "tags" in inspect.signature(getattr(getattr(aws, pkg), cls)._internal_init).parameters
        if taggable:
            assert resource.inputs.get("tags") == expected, resource.name


# --- data protection -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "typ", ["aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:kms/key:Key"]
)
def test_data_bearing_resources_are_retained_on_delete(run, typ):
    assert run.one("vault-primary", typ).retain_on_delete


# What keeps retained data safe and findable: left behind, it must stay as it was (a deleted encryption default
# falls back to SSE-S3, a deleted lifecycle lets noncurrent versions pile up, a deleted alias loses the key).
GUARDS = {
    "aws:kms/alias:Alias",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
}


def test_everything_that_guards_retained_data_is_retained_and_nothing_else(run):
    data = {"aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:kms/key:Key"}
    for vault in ("vault-primary", "vault-locked"):
        kept = {r.type for r in run.of(vault) if r.retain_on_delete}
        present = {r.type for r in run.of(vault)}
        assert kept == (data | GUARDS) & present, vault


def test_each_vault_key_has_an_alias_that_finds_it_after_destroy(run):
    alias = run.one("vault-primary", "aws:kms/alias:Alias")
    key = run.one("vault-primary", "aws:kms/key:Key")
    assert alias.inputs["name"] == "alias/elastio-vault-primary"
    assert alias.property_dependencies["targetKeyId"] == [key.urn]


def test_key_rotates(run):
    assert run.one("vault-primary", "aws:kms/key:Key").inputs["enableKeyRotation"] is True


def test_bucket_encrypts_with_the_vault_key_and_bucket_key(run):
    rule = run.one(
        "vault-primary",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).inputs["rules"][0]
    key_arn = run.one("vault-primary", "aws:kms/key:Key")
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].endswith(f"/{key_arn.name}")
    assert rule["bucketKeyEnabled"] is True


def test_bucket_blocks_all_public_access(run):
    inputs = run.one("vault-primary", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(inputs[flag] is True for flag in flags)


def test_bucket_is_versioned_and_owner_enforced(run):
    versioning = run.one("vault-primary", "aws:s3/bucketVersioning:BucketVersioning").inputs
    ownership = run.one("vault-primary", "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_name_is_the_contract_name(run):
    bucket = run.one("vault-primary", "aws:s3/bucket:Bucket").inputs
    assert bucket["bucket"] == f"elastio-primary-{ACCOUNT}-{REGION}"
    assert bucket["forceDestroy"] is False


def test_bucket_policy_is_tls_only(run):
    policy = _policy(run.one("vault-primary", "aws:s3/bucketPolicy:BucketPolicy"))
    tls = [
        s for s in policy["Statement"] if s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert tls and tls[0]["Effect"] == "Deny"


def test_lifecycle_aborts_uploads_and_expires_noncurrent_versions(run):
    rules = run.one(
        "vault-primary", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ).inputs["rules"]
    assert any(r.get("abortIncompleteMultipartUpload", {}).get("daysAfterInitiation") for r in rules)
    assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays") for r in rules)
    assert all(r["status"] == "Enabled" for r in rules)


def test_object_lock_follows_the_vault_config_without_touching_the_bucket(run):
    # The lock is turned on by its configuration (S3 accepts it on an existing versioned bucket); the
    # bucket's own objectLockEnabled is replace-on-change, so no bucket sets it and each keeps what it has.
    for vault in ("vault-primary", "vault-locked"):
        bucket = run.one(vault, "aws:s3/bucket:Bucket")
        assert "objectLockEnabled" not in bucket.inputs and "objectLockEnabled" in bucket.ignore_changes
    lock = run.one("vault-locked", "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    retention = lock.inputs["rule"]["defaultRetention"]
    assert (lock.inputs["objectLockEnabled"], retention["mode"], retention["days"]) == ("Enabled", "COMPLIANCE", 30)


def test_index_table_is_on_demand_with_pitr_and_the_vault_key(run):
    table = run.one("vault-primary", "aws:dynamodb/table:Table").inputs
    key = run.one("vault-primary", "aws:kms/key:Key")
    assert table["name"] == "elastio-primary-index"
    assert table["hashKey"] == "chunkHash"
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["serverSideEncryption"]["kmsKeyArn"].endswith(f"/{key.name}")


# --- compute -------------------------------------------------------------------------------------------

def test_compute_environment_is_fargate_and_idle_at_rest(run):
    primary = run.one("vault-primary", "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    locked = run.one("vault-locked", "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    assert primary["computeResources"]["type"] == "FARGATE"
    assert locked["computeResources"]["type"] == "FARGATE_SPOT"
    # Fargate takes no minVcpus/desiredVcpus; any value there would keep capacity running.
    resources = primary["computeResources"]
    assert not resources.get("minVcpus") and not resources.get("desiredVcpus")


def test_vault_subnets_override_the_region_network(run):
    primary = run.one("vault-primary", "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    locked = run.one("vault-locked", "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    assert primary["computeResources"]["subnets"] == list(NETWORK.subnet_ids)
    assert locked["computeResources"]["subnets"] == [LOCKED_SUBNET]
    assert run.vaults["locked"].subnet_ids == [LOCKED_SUBNET]


def test_vault_tasks_use_the_connector_security_group_and_the_record_names_it(run):
    compute = run.one("vault-primary", "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    assert compute["computeResources"]["securityGroupIds"] == [SHARED_SECURITY_GROUP]
    assert run.records["primary"]["securityGroupId"] == {"S": SHARED_SECURITY_GROUP}


def test_job_definitions_run_the_engine_on_fargate_with_the_contract_environment(run):
    definitions = [r for r in run.of("vault-primary") if r.type == "aws:batch/jobDefinition:JobDefinition"]
    assert sorted(d.inputs["name"] for d in definitions) == [
        "elastio-primary-backup",
        "elastio-primary-compact",
        "elastio-primary-restore",
        "elastio-primary-scan",
    ]
    for definition in definitions:
        assert definition.inputs["platformCapabilities"] == ["FARGATE"]
        props = json.loads(definition.inputs["containerProperties"])
        env = {e["name"]: e["value"] for e in props["environment"]}
        assert env[env_names.VAULT_BUCKET] == f"elastio-primary-{ACCOUNT}-{REGION}"
        assert env[env_names.INDEX_TABLE] == "elastio-primary-index"
        assert env[env_names.TABLE_VARIABLES[tables.JOBS]] == "elastio-jobs"
        assert env[env_names.TABLE_VARIABLES[tables.RECOVERY_POINTS]] == "elastio-recovery-points"
        assert env[env_names.CATALOG_FUNCTION] == "elastio-catalog"
        assert props["jobRoleArn"].endswith(":role/AcmeElastioVault-primary-use1-task")
        assert props["executionRoleArn"].endswith(":role/AcmeElastioVault-primary-use1-exec")
        assert props["command"][:3] == ["python", "-m", "engine"]
        assert props["networkConfiguration"]["assignPublicIp"] == "DISABLED"
        assert props["logConfiguration"]["options"]["awslogs-group"] == "/elastio/vaults/primary"


def test_public_subnet_vault_tasks_get_a_public_ip(run):
    backup = next(
        r for r in run.of("vault-locked") if r.type == "aws:batch/jobDefinition:JobDefinition"
        and r.inputs["name"].endswith("-backup")
    )
    network = json.loads(backup.inputs["containerProperties"])["networkConfiguration"]
    assert network["assignPublicIp"] == "ENABLED"
    assert run.records["locked"]["assignPublicIp"] == {"BOOL": True}


def test_server_task_definition_is_fargate_with_the_server_image(run):
    task = run.one("vault-primary", "aws:ecs/taskDefinition:TaskDefinition").inputs
    containers = json.loads(task["containerDefinitions"])
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["networkMode"] == "awsvpc"
    assert containers[0]["image"] == ConnectorOptions().server_image
    assert not containers[0].get("portMappings")


def test_both_roles_carry_the_permissions_boundary(run):
    roles = [r for r in run.of("vault-primary") if r.type == "aws:iam/role:Role"]
    assert {r.inputs["permissionsBoundary"] for r in roles} == {
        f"arn:aws:iam::{ACCOUNT}:policy/ElastioPermissionsBoundary"
    }


def test_key_policy_names_the_task_role_not_a_wildcard(run):
    policy = _policy(run.one("vault-primary", "aws:kms/key:Key"))
    principals = [s["Principal"]["AWS"] for s in policy["Statement"]]
    assert "*" not in principals
    assert f"arn:aws:iam::{ACCOUNT}:role/AcmeElastioVault-primary-use1-task" in principals


def test_private_ecr_worker_image_is_pullable_by_the_execution_role_only_from_its_repository(run):
    policy = _policy(
        next(r for r in run.of("vault-locked") if r.type == "aws:iam/rolePolicy:RolePolicy"
             and r.inputs["name"] == "ElastioVaultExecution")
    )
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullImages")
    assert pull["Resource"] == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/scalez-worker"]


# --- the vaults-table record -----------------------------------------------------------------------------

def test_record_holds_every_contract_attribute(run):
    record = run.records["primary"]
    assert set(record) == {
        "vaultName", "region", "bucketName", "kmsKeyArn", "indexTableName", "jobQueueArn", "jobDefinitions",
        "clusterArn", "serverTaskDefinitionArn", "subnetIds", "securityGroupId", "assignPublicIp",
    }
    assert record["vaultName"] == {"S": "primary"}
    assert record["bucketName"] == {"S": f"elastio-primary-{ACCOUNT}-{REGION}"}
    assert set(record["jobDefinitions"]["M"]) == {"backup", "restore", "scan", "compact"}
    assert record["subnetIds"] == {"L": [{"S": s} for s in NETWORK.subnet_ids]}


def test_record_parses_as_the_services_read_it(run):
    # The functions validate vault items with lambdas.shared.vaults.VaultRecord; an item it rejects would
    # make every job command fail at run time.
    from boto3.dynamodb.types import TypeDeserializer

    from lambdas.shared.vaults import VaultRecord

    plain = {k: TypeDeserializer().deserialize(v) for k, v in run.records["locked"].items()}
    record = VaultRecord.from_item(plain)
    compact = record.job_definition("compact").rsplit(":", 1)[0]
    assert compact.endswith("job-definition/elastio-locked-compact")
    assert record.subnetIds == [LOCKED_SUBNET]

"""The vault's documents as plain Python: least privilege (parliament), resource policies, job definitions."""

from __future__ import annotations

import pytest

from elastio_contract.vault_record import VaultRecord
from elastio_pulumi import job_definitions as jobs
from elastio_pulumi import vault_documents as docs
from engine.vaultconfig import secret_context
from tests.iam_requests import Request, is_allowed
from tests.parliament_known import findings, raw_issues

ACCOUNT = "111122223333"
REGION = "eu-west-1"
BUCKET = f"elastio-primary-{ACCOUNT}-{REGION}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ElastioVault-primary-euw1-task"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/elastio/vaults/primary"
SCOPE = docs.VaultScope(
    vault_name="primary",
    region=REGION,
    account_id=ACCOUNT,
    bucket_arn=BUCKET_ARN,
    key_arn=KEY_ARN,
    index_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-primary-index",
    jobs_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-jobs",
    recovery_points_table_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/elastio-recovery-points",
    connector_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/connector",
    catalog_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:elastio-catalog",
    log_group_arn=LOG_GROUP_ARN,
)
PRIVATE_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/scalez-worker@sha256:" + "a" * 64
SETTINGS = jobs.EngineSettings(
    vault_name="primary",
    region=REGION,
    image="public.ecr.aws/elastio/scalez-worker:1.0.0",
    bucket_name=f"elastio-primary-{ACCOUNT}-{REGION}",
    key_arn=KEY_ARN,
    index_table_name="elastio-primary-index",
    jobs_table_name="elastio-jobs",
    recovery_points_table_name="elastio-recovery-points",
    catalog_function_name="elastio-catalog",
    task_role_arn=TASK_ROLE_ARN,
    execution_role_arn=TASK_ROLE_ARN.replace("-task", "-exec"),
    log_group_name="/elastio/vaults/primary",
    assign_public_ip=False,
    deployment="elastio",
)

# Actions that change or delete something: never on "*".
WRITE_PREFIXES = ("Put", "Delete", "Update", "Create", "Start", "Complete", "BatchWrite", "Abort", "Invoke")
IDENTITY_POLICIES = {
    "task": docs.task_role_policy(SCOPE),
    "exec-private-images": docs.execution_role_policy(LOG_GROUP_ARN, [PRIVATE_IMAGE]),
    "exec-public-images": docs.execution_role_policy(LOG_GROUP_ARN, [SETTINGS.image]),
}


def _actions(stmt: dict) -> list[str]:
    return [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]


def _resources(stmt: dict) -> list[str]:
    return [stmt["Resource"]] if isinstance(stmt["Resource"], str) else stmt["Resource"]


# --- identity policies -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(IDENTITY_POLICIES))
def test_identity_policy_has_no_parliament_findings(name):
    assert findings(f"vault-{name}", IDENTITY_POLICIES[name]) == []


def test_parliament_would_flag_a_widened_task_policy():
    everything = docs.statement("Everything", ["s3:*"], "*")
    widened = docs.document(everything, *docs.task_role_policy(SCOPE)["Statement"])
    assert raw_issues(widened)


@pytest.mark.parametrize("name", sorted(IDENTITY_POLICIES))
def test_no_write_action_on_a_wildcard_resource(name):
    for stmt in IDENTITY_POLICIES[name]["Statement"]:
        if "*" in _resources(stmt):
            writes = [
                a for a in _actions(stmt) if a.split(":")[1].startswith(WRITE_PREFIXES) or a.endswith("*")
            ]
            assert writes == [], stmt["Sid"]


def test_task_policy_names_only_this_vaults_data():
    resources = {r for stmt in IDENTITY_POLICIES["task"]["Statement"] for r in _resources(stmt)}
    assert f"{BUCKET_ARN}/*" in resources and BUCKET_ARN in resources
    assert not any("elastio-*" in r or r.startswith("arn:aws:s3:::*") for r in resources)


def test_task_may_not_delete_the_bucket_or_tables():
    actions = {a for stmt in IDENTITY_POLICIES["task"]["Statement"] for a in _actions(stmt)}
    destructive = {"s3:DeleteBucket", "s3:PutBucketPolicy", "dynamodb:DeleteTable", "kms:ScheduleKeyDeletion"}
    assert not actions & destructive


def test_task_uses_keys_only_through_s3_dynamodb_and_ec2_of_its_region_or_for_the_vault_secret():
    # EC2 for the EBS direct APIs and CreateVolume on encrypted snapshots (restores, encrypted sources); directly
    # only with the vault secret's encryption context (test_the_task_role_uses_the_vault_key_directly_...).
    services = [f"{s}.{REGION}.amazonaws.com" for s in ("s3", "dynamodb", "ec2")]
    for stmt in IDENTITY_POLICIES["task"]["Statement"]:
        if any(a.startswith("kms:") for a in _actions(stmt)):
            conditions = stmt["Condition"]["StringEquals"]
            if "kms:ViaService" in conditions:
                assert conditions["kms:ViaService"] in services
            else:
                context = {k.removeprefix("kms:EncryptionContext:"): v for k, v in conditions.items()}
                assert context == secret_context(BUCKET) and _resources(stmt) == [KEY_ARN]


def test_task_ebs_actions_are_regional_and_tag_conditioned():
    for stmt in IDENTITY_POLICIES["task"]["Statement"]:
        if any(a.startswith("ebs:") for a in _actions(stmt)):
            assert _resources(stmt) == [f"arn:aws:ec2:{REGION}::snapshot/*"]
            tag_keys = set(stmt["Condition"]["StringEquals"])
            assert tag_keys & {"aws:ResourceTag/elastio:resource", "aws:RequestTag/elastio:resource"}


def test_task_invokes_only_the_catalog():
    invoke = [s for s in IDENTITY_POLICIES["task"]["Statement"] if "lambda:InvokeFunction" in _actions(s)]
    assert [_resources(s) for s in invoke] == [[SCOPE.catalog_function_arn]]


def test_engine_job_record_access_is_update_only():
    jobs = [s for s in IDENTITY_POLICIES["task"]["Statement"] if SCOPE.jobs_table_arn in _resources(s)]
    assert [sorted(_actions(s)) for s in jobs] == [["dynamodb:UpdateItem"]]


def test_engine_reads_recovery_points_only_through_the_by_vault_index_and_deletes_only_items():
    points = SCOPE.recovery_points_table_arn
    grants = {
        (a, r) for s in IDENTITY_POLICIES["task"]["Statement"] for a in _actions(s) for r in _resources(s)
        if r.startswith(points)
    }
    assert grants == {("dynamodb:Query", f"{points}/index/byVault"), ("dynamodb:DeleteItem", points)}


def test_public_images_need_no_ecr_permissions():
    actions = {a for s in IDENTITY_POLICIES["exec-public-images"]["Statement"] for a in _actions(s)}
    assert not any(a.startswith("ecr:") for a in actions)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/worker:1.0",
            "arn:aws:ecr:us-west-2:123456789012:repository/team/worker",
        ),
        (PRIVATE_IMAGE, f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/scalez-worker"),
        ("public.ecr.aws/elastio/scalez-worker:1.0.0", None),
        ("ghcr.io/elastio/worker:1", None),
    ],
)
def test_ecr_repository_arn_of_an_image(image, expected):
    assert docs.ecr_repository_arn(image) == expected


def test_execution_role_writes_only_the_vault_log_streams():
    logs = [s for s in IDENTITY_POLICIES["exec-public-images"]["Statement"] if s["Sid"] == "VaultLogs"]
    assert logs[0]["Resource"] == [f"{LOG_GROUP_ARN}:log-stream:*"]


def test_roles_trust_only_this_accounts_ecs_tasks():
    trust = docs.ecs_tasks_trust_policy(ACCOUNT, REGION)["Statement"]
    assert len(trust) == 1
    assert trust[0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert trust[0]["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"


# --- resource policies -----------------------------------------------------------------------------------

def test_key_policy_has_no_wildcard_principal():
    for stmt in docs.key_policy(ACCOUNT, REGION, TASK_ROLE_ARN, BUCKET)["Statement"]:
        assert stmt["Principal"]["AWS"] != "*"


def test_key_policy_lets_the_task_role_use_the_key_only_via_s3_and_dynamodb_of_its_account():
    statements = docs.key_policy(ACCOUNT, REGION, TASK_ROLE_ARN, BUCKET)["Statement"]
    use = next(s for s in statements if s["Sid"] == "VaultTaskUsesKey")
    assert use["Principal"] == {"AWS": TASK_ROLE_ARN}
    assert not any(a in use["Action"] for a in ("kms:*", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"))
    assert use["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT
    assert sorted(use["Condition"]["StringEquals"]["kms:ViaService"]) == [
        f"dynamodb.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com",
    ]


def _direct(action: str, context: dict[str, str]) -> Request:
    """A KMS request the task role makes itself (no kms:ViaService) with this encryption context."""
    keys = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    keys |= {"kms:EncryptionContextKeys": list(context), "kms:CallerAccount": ACCOUNT}
    return Request(TASK_ROLE_ARN, action, KEY_ARN, keys)


@pytest.mark.parametrize("action", ["kms:GenerateDataKey", "kms:Decrypt"])
def test_the_task_role_uses_the_vault_key_directly_for_the_vault_secret_only(action):
    key_policy = docs.key_policy(ACCOUNT, REGION, TASK_ROLE_ARN, BUCKET)
    identity = [docs.task_role_policy(SCOPE)]

    def allowed(context):
        return is_allowed(_direct(action, context), identity, key_policy=key_policy)

    assert allowed(secret_context(BUCKET))
    assert not allowed({})
    assert not allowed({"aws:s3:arn": f"{BUCKET_ARN}/packs/0001.pack"})  # an object's data key: S3's to decrypt
    assert not allowed(secret_context(f"elastio-other-{ACCOUNT}-{REGION}"))
    assert not allowed({**secret_context(BUCKET), "elastio-purpose": "something-else"})


def test_key_is_administered_by_the_account_root_only():
    statements = docs.key_policy(ACCOUNT, REGION, TASK_ROLE_ARN, BUCKET)["Statement"]
    admin = next(s for s in statements if s["Action"] == "kms:*")
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_bucket_policy_only_denies_and_every_wildcard_principal_is_conditioned():
    for stmt in docs.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN)["Statement"]:
        assert stmt["Effect"] == "Deny"
        assert stmt["Condition"]


def test_bucket_policy_denies_plain_http_on_bucket_and_objects():
    tls = docs.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN)["Statement"][0]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"] and tls["Action"] == "s3:*"


def test_bucket_policy_denies_puts_naming_another_key_or_encryption():
    statements = {s["Sid"]: s for s in docs.bucket_policy(BUCKET_ARN, KEY_ARN, TASK_ROLE_ARN)["Statement"]}
    other_key = statements["DenyOtherKeys"]["Condition"]
    assert other_key["StringNotEquals"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}
    # Only when the header is sent: UploadPart and default-encrypted puts carry none.
    assert other_key["Null"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}
    other_sse = statements["DenyOtherEncryption"]["Condition"]
    assert other_sse["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}


# --- job definitions -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("job_type", "parameters"),
    [
        ("backup", ["jobId", "vaultName", "assetId", "snapshotId", "parentRecoveryPointId"]),
        ("restore", ["jobId", "vaultName", "assetId", "recoveryPointId", "target"]),
        ("scan", ["jobId", "vaultName", "assetId", "recoveryPointId"]),
        ("compact", ["jobId", "vaultName"]),
    ],
)
def test_job_command_passes_each_contract_parameter_as_a_batch_reference(job_type, parameters):
    command = jobs.job_command(job_type)
    assert command[:4] == ["python", "-m", "engine", job_type]
    assert [arg.removeprefix("Ref::") for arg in command[5::2]] == parameters
    # The engine's own parser takes the command as Batch runs it, each parameter under its own option.
    from engine.cli import build_parser

    values = {p: f"value-of-{p}" for p in parameters}
    parsed = vars(build_parser().parse_args([values.get(a.removeprefix("Ref::"), a) for a in command[3:]]))
    assert sorted(v for v in parsed.values() if isinstance(v, str) and v.startswith("value-of-")) == sorted(
        values.values()
    )


def test_only_optional_parameters_have_defaults():
    assert jobs.job_parameter_defaults("backup") == {"parentRecoveryPointId": ""}
    assert jobs.job_parameter_defaults("restore") == {}


# The payload model Background jobs validates each job command with (lambdas/shared/envelopes.py); the
# Catalog submits `compact` with no parameters beyond jobId and vaultName.
SUBMITTED_PAYLOADS = {"backup": "BackupStartPayload", "restore": "RestoreStartPayload", "scan": "ScanStartPayload"}


def always_submitted(job_type: str) -> set[str]:
    from lambdas.shared import envelopes

    submitted = {"jobId", "vaultName"}  # lambdas/shared/jobs.submit_job always sets these
    if job_type in SUBMITTED_PAYLOADS:
        fields = getattr(envelopes, SUBMITTED_PAYLOADS[job_type]).model_fields
        submitted |= {name for name, field in fields.items() if field.is_required()}
    return submitted


@pytest.mark.parametrize("job_type", jobs.JOB_TYPES)
def test_every_batch_reference_the_submitter_may_omit_has_a_default(job_type):
    references = {arg.removeprefix("Ref::") for arg in jobs.job_command(job_type) if arg.startswith("Ref::")}
    omittable = references - always_submitted(job_type)
    assert omittable <= set(jobs.job_parameter_defaults(job_type)), f"{job_type}: no default for these"


def test_the_default_check_finds_an_optional_parameter_without_a_default():
    # parentRecoveryPointId is optional in backup.start: without its default Batch could not fill the command.
    assert "parentRecoveryPointId" not in always_submitted("backup")


def test_container_properties_carry_the_engine_environment_of_the_contract():
    props = jobs.container_properties("backup", SETTINGS)
    env = {e["name"]: e["value"] for e in props["environment"]}
    # Literal names on purpose: this pins the wire contract with the worker image, which is released on its own
    # (options.workerImage names a version) and reads these names (docs/CONTRACT.md). Renaming one in
    # elastio_contract.environment would pass every test that imports the names and break deployed images.
    assert env == {
        "ELASTIO_VAULT_NAME": "primary",
        "ELASTIO_VAULT_BUCKET": SETTINGS.bucket_name,
        "ELASTIO_VAULT_KMS_KEY_ARN": KEY_ARN,
        "ELASTIO_INDEX_TABLE": "elastio-primary-index",
        "ELASTIO_TABLE_JOBS": "elastio-jobs",
        "ELASTIO_TABLE_RECOVERY_POINTS": "elastio-recovery-points",
        "ELASTIO_CATALOG_FUNCTION": "elastio-catalog",
        "ELASTIO_DEPLOYMENT": "elastio",
    }


# Fargate's valid vCPU -> memory (MiB) ranges.
FARGATE_MEMORY = {"0.25": (512, 2048), "0.5": (1024, 4096), "1": (2048, 8192), "2": (4096, 16384)}


@pytest.mark.parametrize("job_type", jobs.JOB_TYPES)
def test_job_sizes_are_valid_fargate_combinations(job_type):
    size = jobs.JOB_SIZES[job_type]
    low, high = FARGATE_MEMORY[size.vcpu]
    assert low <= int(size.memory_mib) <= high and int(size.memory_mib) % 1024 == 0


def test_a_backup_job_has_a_vcpu_for_each_pipeline_process_and_memory_for_what_they_hold():
    # engine/pipeline.py: CPU_WORKERS processes chunk, hash and compress; the main process orchestrates I/O.
    from engine.backup import EngineSettings as Engine
    from engine.pipeline import CPU_WORKERS, segments_in_flight

    size = jobs.JOB_SIZES["backup"]
    assert float(size.vcpu) == CPU_WORKERS + 1
    engine = Engine()
    held = segments_in_flight(engine.pipeline, engine.lookup_window_bytes, engine.segment_bytes)
    # Each segment in flight exists up to three times (the main process's queued copy, the pickled message,
    # the worker's), plus ~64 MiB per worker interpreter with zstd and FastCDC loaded.
    pipeline_mib = 3 * held * engine.segment_bytes / 2**20 + 64 * CPU_WORKERS
    assert pipeline_mib <= 0.05 * int(size.memory_mib)


def test_container_logs_go_to_the_vault_log_group_per_job_type():
    options = jobs.container_properties("scan", SETTINGS)["logConfiguration"]["options"]
    assert options == {"awslogs-group": "/elastio/vaults/primary", "awslogs-region": REGION,
                       "awslogs-stream-prefix": "scan"}


# --- record ------------------------------------------------------------------------------------------------

def test_record_item_is_typed_dynamodb_json():
    record = VaultRecord(
        vaultName="primary", region=REGION, bucketName=SETTINGS.bucket_name, kmsKeyArn=KEY_ARN,
        indexTableName="elastio-primary-index", jobQueueArn="arn:q",
        jobDefinitions={"scan": "arn:s", "backup": "arn:b"}, clusterArn="arn:c",
        serverTaskDefinitionArn="arn:t", subnetIds=["subnet-1", "subnet-2"], securityGroupId="sg-1",
        assignPublicIp=False,
    )
    item = record.to_dynamodb()
    assert item["jobDefinitions"] == {"M": {"backup": {"S": "arn:b"}, "scan": {"S": "arn:s"}}}
    assert item["subnetIds"] == {"L": [{"S": "subnet-1"}, {"S": "subnet-2"}]}
    assert item["assignPublicIp"] == {"BOOL": False}
    assert all(len(value) == 1 for value in item.values())  # one DynamoDB type tag per attribute

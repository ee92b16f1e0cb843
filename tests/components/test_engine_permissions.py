"""The seam between engine/ and the vault's task role and job definitions: every AWS call the engine makes is
allowed on the resource it touches, the role allows nothing else, the job environment configures every
table the engine reads, and what a restore creates carries the tag the role's conditions require.
"""

from __future__ import annotations

import dataclasses

import pytest

from elastio_pulumi import job_definitions as jobs
from elastio_pulumi import vault_documents as docs
from engine.config import EngineEnvironment
from engine.restore import restore_tags
from tests.components.aws_calls import ROOT, actions_in, allows
from tests.components.test_connector_documents import allowed
from tests.components.test_vault_documents import SCOPE, SETTINGS

ENGINE_SERVICES = ("s3", "dynamodb", "lambda", "ebs", "ec2", "kms")
# Listed actions no boto3 call in engine/ names: HeadObject returns the object-lock retain-until date only
# with GetObjectRetention, and CreateVolume's TagSpecifications are authorised as CreateTags.
NOT_IN_SOURCE = {"s3:GetObjectRetention", "ec2:CreateTags"}


def calls(scope: docs.VaultScope) -> dict[str, list[str]]:
    """IAM action of each call the engine makes (engine/README.md, docs/CONTRACT.md) -> resources touched."""
    objects = [
        f"{scope.bucket_arn}/packs/0001.pack", f"{scope.bucket_arn}/manifests/vol-1/rp-1.json",
        f"{scope.bucket_arn}/index/b-0001.idx", f"{scope.bucket_arn}/gc/0000000001.json",
    ]
    index = [scope.index_table_arn]
    points = scope.recovery_points_table_arn
    snapshot = f"arn:aws:ec2:{scope.region}::snapshot/snap-0123456789abcdef0"
    volume = f"arn:aws:ec2:{scope.region}:{scope.account_id}:volume/vol-0123456789abcdef0"
    return {
        "s3:GetObject": objects,
        "s3:PutObject": objects,
        "s3:DeleteObject": objects,
        "s3:GetObjectRetention": objects,
        "s3:ListBucket": [scope.bucket_arn],
        "dynamodb:GetItem": index,
        "dynamodb:Scan": index,  # rebuild-index of an upgraded vault: the old per-chunk items
        "dynamodb:UpdateItem": index + [scope.jobs_table_arn],
        "dynamodb:DeleteItem": index + [points],
        "dynamodb:Query": [f"{points}/index/byVault"],
        "lambda:InvokeFunction": [scope.catalog_function_arn],
        **{
            f"ebs:{a}": [snapshot]
            for a in (
                "ListSnapshotBlocks", "ListChangedBlocks", "GetSnapshotBlock", "StartSnapshot",
                "PutSnapshotBlock", "CompleteSnapshot",
            )
        },
        "ec2:CreateVolume": [volume, snapshot],
        "ec2:CreateTags": [volume],
        # Directly, not through S3: the vault secret's data key, made once and decrypted by every later job,
        # always with the secret's encryption context (engine/vaultconfig.py).
        "kms:GenerateDataKey": [scope.key_arn],
        "kms:Decrypt": [scope.key_arn],
    }


# The vault and connector keys are used by S3 and DynamoDB on the engine's behalf; EC2 uses the vault key and a
# source snapshot's key for the EBS direct APIs and CreateVolume (components.iam_documents.EBS_KEY_USE).
ON_ITS_BEHALF = {
    "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncrypt*", "kms:CreateGrant",
}


def engine_sources():
    return sorted((ROOT / "engine").glob("*.py"))


def test_every_engine_call_is_allowed_on_the_resource_it_touches():
    policy = docs.task_role_policy(SCOPE)
    missing = [
        (action, resource)
        for action, resources in calls(SCOPE).items()
        for resource in resources
        if not allows(policy, action, resource)
    ]
    assert missing == []


def test_the_old_images_index_calls_are_refused_so_its_backups_restores_and_scans_stop_at_their_first_lookup():
    """A job queued before `pulumi up` runs the engine from before the S3 index (engine/README.md, "Upgrading a
    vault"): its lookups and entry writes were BatchGetItem and BatchWriteItem on the vault's table."""
    policy = docs.task_role_policy(SCOPE)
    for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"):
        assert not allows(policy, action, SCOPE.index_table_arn), action


def test_the_task_role_allows_no_action_the_engine_does_not_call():
    granted = {action for action, _ in allowed(docs.task_role_policy(SCOPE))}
    assert granted - set(calls(SCOPE)) - ON_ITS_BEHALF == set()


def test_the_calls_table_lists_every_aws_call_in_the_engine():
    assert actions_in(engine_sources(), ENGINE_SERVICES, ("engine",)) - set(calls(SCOPE)) == set()


def test_the_calls_table_lists_nothing_the_engine_no_longer_calls():
    in_code = actions_in(engine_sources(), ENGINE_SERVICES, ("engine",))
    assert set(calls(SCOPE)) - NOT_IN_SOURCE - in_code == set()


def test_a_compact_job_reads_the_recovery_points_table_from_its_job_definition():
    environment = jobs.engine_environment(SETTINGS)
    assert EngineEnvironment.from_env(environment).recovery_points_table == SETTINGS.recovery_points_table_name


@pytest.mark.parametrize("job_type", jobs.JOB_TYPES)
def test_every_table_and_function_the_engine_reads_is_set_by_the_job_definition(job_type):
    props = jobs.container_properties(job_type, SETTINGS)
    env = EngineEnvironment.from_env({e["name"]: e["value"] for e in props["environment"]})
    unset = [
        name for name in ("kms_key_arn", "jobs_table", "recovery_points_table", "catalog_function")
        if getattr(env, name) is None
    ]
    assert unset == []


@pytest.mark.parametrize("prefix", ["elastio", "staging"])
def test_restored_snapshots_and_volumes_carry_the_tags_the_task_role_requires(prefix):
    # The engine reads its deployment from the environment its job definition sets.
    settings = dataclasses.replace(SETTINGS, deployment=prefix)
    props = jobs.container_properties("restore", settings)
    env = EngineEnvironment.from_env({e["name"]: e["value"] for e in props["environment"]})
    tags = restore_tags(env.vault_name, "rp-1", env.deployment)
    assert docs.required_create_tags(prefix).items() <= tags.items()
    scope = dataclasses.replace(SCOPE, name_prefix=prefix)
    for sid in ("StartTaggedSnapshots", "CreateTaggedVolumes"):
        (grant,) = [s for s in docs.task_role_policy(scope)["Statement"] if s["Sid"] == sid]
        required = {
            k.removeprefix("aws:RequestTag/"): v
            for operator in ("StringEquals", "StringEqualsIfExists")
            for k, v in grant["Condition"].get(operator, {}).items()
        }
        assert {"elastio:resource": "true", "elastio:deployment": prefix} == required, sid
        assert required.items() <= tags.items(), sid

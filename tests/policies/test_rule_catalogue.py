"""Every rule passes the compliant stack and flags at least one realistic misconfiguration of it."""

import json

import pytest
from elastio_policies import ALL_POLICIES
from elastio_policies.offline import evaluate

from tests.policies.policy_graph import changed, compliant_graph, policy, with_added, without


def test_compliant_stack_has_no_verdicts_at_all():
    assert evaluate(compliant_graph()) == []


def _set(key, value):
    return lambda record: record["inputs"].__setitem__(key, value)


def _drop(key):
    return lambda record: record["inputs"].pop(key)


# (rule, broken graph, the resource the verdict must name, expected level)
NON_COMPLIANT = {
    "s3-bucket-sse-kms": (
        lambda: changed("vault-main-encryption", lambda r: r["inputs"]["rules"][0][
            "applyServerSideEncryptionByDefault"].update(sseAlgorithm="AES256", kmsMasterKeyId=None)),
        "vault-main-bucket", "mandatory"),
    "s3-bucket-versioning": (
        lambda: changed("vault-main-versioning", _set("versioningConfiguration", {"status": "Suspended"})),
        "vault-main-bucket", "mandatory"),
    "s3-bucket-public-access-block": (
        lambda: changed("vault-main-public-access-block", _set("restrictPublicBuckets", False)),
        "vault-main-bucket", "mandatory"),
    "s3-bucket-tls-only": (lambda: without("vault-main-bucket-policy"), "vault-main-bucket", "mandatory"),
    "kms-key-rotation": (
        lambda: changed("connector-us-east-1-key", _set("enableKeyRotation", False)),
        "connector-us-east-1-key", "mandatory"),
    "dynamodb-point-in-time-recovery": (
        lambda: changed("connector-us-east-1-jobs", _drop("pointInTimeRecovery")),
        "connector-us-east-1-jobs", "mandatory"),
    "dynamodb-kms-encryption": (
        lambda: changed("connector-us-east-1-jobs", _drop("serverSideEncryption")),
        "connector-us-east-1-jobs", "mandatory"),
    "sns-topic-encrypted": (
        lambda: changed("connector-us-east-1-alerts", _drop("kmsMasterKeyId")),
        "connector-us-east-1-alerts", "mandatory"),
    "sqs-queue-encrypted": (
        lambda: changed("connector-us-east-1-failed-invocations", _drop("kmsMasterKeyId")),
        "connector-us-east-1-failed-invocations", "mandatory"),
    "sqs-queue-dead-letter": (
        lambda: with_added("aws:sqs/queue:Queue", "connector-us-east-1-work", {
            "name": "elastio-work-use1", "sqsManagedSseEnabled": True, "tags": {"elastio:resource": "true"}}),
        "connector-us-east-1-work", "mandatory"),
    "lambda-supported-runtime": (
        lambda: changed("connector-us-east-1-router", _set("runtime", "python3.8")),
        "connector-us-east-1-router", "mandatory"),
    "lambda-log-group-retention": (
        lambda: changed("connector-us-east-1-catalog-logs", _drop("retentionInDays")),
        "connector-us-east-1-catalog", "mandatory"),
    "lambda-not-public": (
        lambda: changed("connector-us-east-1-inventory-events",
                        lambda r: r["inputs"].update(principal="*", sourceArn=None)),
        "connector-us-east-1-inventory-events", "mandatory"),
    "iam-no-wildcard-principal": (
        lambda: changed("connector-us-east-1-commands-policy", _set("policy", policy(
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}))),
        "connector-us-east-1-commands-policy", "mandatory"),
    "iam-tenant-trust-external-id": (
        lambda: changed("tenant-role", _set("assumeRolePolicy", policy(
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "sts:AssumeRole"}))),
        "tenant-role", "mandatory"),
    "iam-no-action-star": (
        lambda: changed("connector-us-east-1-catalog-policy", _set("policy", policy(
            {"Effect": "Allow", "Action": "*",
             "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/x"}))),
        "connector-us-east-1-catalog-policy", "mandatory"),
    "iam-no-pass-role-star": (
        lambda: changed("backup-admin", _set("policy", json.dumps({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"}}))),
        "backup-admin", "mandatory"),
    "batch-compute-idle-at-rest": (
        lambda: changed("vault-main-compute", _set("computeResources", {
            "type": "EC2", "minVcpus": 2.0, "maxVcpus": 16.0, "subnets": ["subnet-0123456789abcdef0"]})),
        "vault-main-compute", "mandatory"),
    "no-nat-gateway": (
        lambda: with_added("aws:ec2/natGateway:NatGateway", "vault-main-nat",
                           {"subnetId": "subnet-0123456789abcdef0", "allocationId": "eipalloc-0123",
                            "tags": {"elastio:resource": "true"}}),
        "vault-main-nat", "advisory"),
    "no-always-on-compute": (
        lambda: with_added("aws:ecs/service:Service", "vault-main-server",
                           {"cluster": "elastio-main-use1", "desiredCount": 1.0,
                            "tags": {"elastio:resource": "true"}}),
        "vault-main-server", "advisory"),
    "container-image-pinned-by-digest": (
        lambda: changed("vault-main-backup", _set("containerProperties", json.dumps(
            {"image": "public.ecr.aws/elastio/scalez-worker:1.0.0"}))),
        "vault-main-backup", "advisory"),
    "required-tags": (
        lambda: changed("connector-us-east-1-jobs", _set("tags", {"team": "platform"})),
        "connector-us-east-1-jobs", "mandatory"),
}


def test_every_rule_has_a_non_compliant_fixture():
    assert sorted(NON_COMPLIANT) == sorted(policy.name for policy in ALL_POLICIES)


@pytest.mark.parametrize("rule", sorted(NON_COMPLIANT))
def test_rule_flags_its_misconfiguration_naming_the_resource(rule, verdicts_of):
    broken, resource, level = NON_COMPLIANT[rule]
    verdicts = verdicts_of(broken(), rule)
    assert [(v.name, v.level) for v in verdicts] == [(resource, level)]
    assert verdicts[0].message and "failed" not in verdicts[0].message


@pytest.mark.parametrize("rule", sorted(NON_COMPLIANT))
def test_misconfiguration_trips_only_its_own_rule(rule):
    # Guards against fixtures that "fail" because they broke something unrelated.
    broken, _resource, _level = NON_COMPLIANT[rule]
    assert {v.policy for v in evaluate(broken())} == {rule}

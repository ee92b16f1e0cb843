"""Rules never crash: odd shapes, wrong types, broken JSON and unknown values give verdicts, not errors."""

import json

from elastio_policies import ALL_POLICIES
from elastio_policies.offline import evaluate
from elastio_policies.rules import compute, iam, lambdas, s3, sqs, storage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE

from tests.policies.policy_graph import GraphBuilder, changed, compliant_graph

CRASH = "this is a bug in the policy pack"
TYPES = sorted({
    *s3.BUCKET_TYPES, *s3.ENCRYPTION_TYPES, *s3.VERSIONING_TYPES, *s3.PUBLIC_ACCESS_BLOCK_TYPES,
    *s3.POLICY_TYPES, storage.KEY_TYPE, storage.TABLE_TYPE, storage.TOPIC_TYPE, sqs.QUEUE_TYPE,
    sqs.REDRIVE_POLICY_TYPE, *sqs.DEAD_LETTER_LINKS, lambdas.FUNCTION_TYPE, lambdas.LOG_GROUP_TYPE,
    lambdas.PERMISSION_TYPE, lambdas.FUNCTION_URL_TYPE, *iam.DOCUMENT_TYPES, compute.COMPUTE_ENVIRONMENT_TYPE,
    compute.NAT_GATEWAY_TYPE, compute.INSTANCE_TYPE, compute.ECS_SERVICE_TYPE, compute.AUTOSCALING_GROUP_TYPE,
})
# Input names the rules read, so generated inputs reach the interesting branches.
KEYS = [
    "bucket", "rules", "applyServerSideEncryptionByDefault", "sseAlgorithm", "kmsMasterKeyId",
    "versioningConfiguration", "status", "blockPublicAcls", "restrictPublicBuckets", "policy", "Statement",
    "Effect", "Principal", "AWS", "Action", "Resource", "Condition", "StringEquals", "sts:ExternalId",
    "enableKeyRotation", "customerMasterKeySpec", "pointInTimeRecovery", "enabled", "serverSideEncryption",
    "kmsKeyArn", "redrivePolicy", "deadLetterTargetArn", "sqsManagedSseEnabled", "runtime", "packageType",
    "loggingConfig", "logGroup", "name", "retentionInDays", "principal", "sourceArn", "authorizationType",
    "assumeRolePolicy", "inlinePolicies", "computeResources", "type", "minVcpus", "desiredCount", "minSize",
    "tags", "elastio:resource", "queueUrl", "destinationConfig", "versioning", "namePrefix",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(),
    st.sampled_from(["*", "", "Allow", "Deny", "aws:kms", "Enabled", "EC2", "NONE", "python3.8", "{", "[]",
                     "null", '{"Statement": 5}', "ElastioTenant", "[unknown]", "[secret]",
                     UNKNOWN_STRING_VALUE, UNKNOWN_BOOLEAN_VALUE]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=4).map(json.dumps),
    ),
    max_leaves=12,
)


def _graph_with(type_: str, inputs: dict, depends_on_bucket: bool) -> list[dict]:
    builder = GraphBuilder()
    bucket = builder.add("aws:s3/bucket:Bucket", "b", {"bucket": "b"})
    deps = {key: [bucket] for key in ("bucket", "loggingConfig", "redrivePolicy", "queueUrl")}
    builder.add(type_, "fuzzed", inputs, deps=deps if depends_on_bucket else {})
    return builder.records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TYPES), st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6), st.booleans())
def test_no_rule_crashes_on_arbitrary_inputs(type_, inputs, linked):
    verdicts = evaluate(_graph_with(type_, inputs, linked))
    assert not [v for v in verdicts if CRASH in v.message]


def test_policy_that_is_not_json_is_a_violation_not_a_crash(verdicts_of):
    records = changed("connector-us-east-1-catalog-policy",
                      lambda r: r["inputs"].update(policy='{"Statement": ['))
    verdicts = verdicts_of(records, "iam-no-action-star")
    assert len(verdicts) == 1 and "not valid JSON" in verdicts[0].message


def test_policy_given_as_a_dict_is_read_like_a_json_string(verdicts_of):
    document = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    records = changed("connector-us-east-1-catalog-policy", lambda r: r["inputs"].update(policy=document))
    names = [v.name for v in verdicts_of(records, "iam-no-action-star")]
    assert names == ["connector-us-east-1-catalog-policy"]


def test_unknown_value_gives_an_advisory_cannot_know_verdict(verdicts_of):
    records = changed("connector-us-east-1-key", lambda r: r["inputs"].update(enableKeyRotation="[unknown]"))
    verdicts = verdicts_of(records, "kms-key-rotation")
    assert [(v.level, v.name) for v in verdicts] == [("advisory", "connector-us-east-1-key")]
    assert "can't be known during preview" in verdicts[0].message


def test_redacted_secret_is_reported_as_such(verdicts_of):
    records = changed("tenant-role", lambda r: r["inputs"].update(assumeRolePolicy="[secret]"))
    verdicts = verdicts_of(records, "iam-tenant-trust-external-id")
    assert [v.level for v in verdicts] == ["advisory"]
    assert "secret the offline plan redacts" in verdicts[0].message


def test_stack_rule_still_judges_other_resources_when_one_is_unknown(verdicts_of):
    records = changed("vault-main-bucket-policy", lambda r: r["inputs"].update(policy="[unknown]"))
    builder = GraphBuilder()
    builder.add("aws:s3/bucket:Bucket", "plain-bucket",
                {"bucket": "plain", "tags": {"elastio:resource": "t"}})
    verdicts = verdicts_of(records + builder.records, "s3-bucket-tls-only")
    assert sorted((v.level, v.name) for v in verdicts) == [("advisory", ""), ("mandatory", "plain-bucket")]


def test_every_rule_runs_on_an_empty_graph():
    assert evaluate([]) == []


def test_rules_do_not_mutate_the_records():
    records = compliant_graph()
    snapshot = json.dumps(records, sort_keys=True)
    evaluate(records)
    assert json.dumps(records, sort_keys=True) == snapshot


def test_all_rules_have_a_name_description_and_level():
    for policy in ALL_POLICIES:
        assert policy.name and len(policy.description) > 20 and policy.enforcement_level is not None

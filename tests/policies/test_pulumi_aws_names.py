"""The type tokens and input names the rules read are pulumi-aws v7's real ones (installed package)."""

import importlib.util
import re
from functools import cache
from pathlib import Path

import pulumi_aws
from elastio_policies.documents import POLICY_DOCUMENT_INPUTS
from elastio_policies.rules import compute, lambdas, s3, sqs, storage
from elastio_policies.taggable_types import TAGGABLE_TYPES

PACKAGE = Path(pulumi_aws.__file__).parent
TOOL = Path(__file__).resolve().parents[2] / "policies" / "tools" / "generate_taggable_types.py"
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_INPUT = re.compile(r'__props__\.__dict__\["(\w+)"\] = \1\n')


@cache
def inputs_by_type() -> dict[str, set[str]]:
    """Type token -> camelCase input names of its constructor."""
    found = {}
    for module in PACKAGE.rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        tokens = _TOKEN.findall(source)
        if tokens:
            constructor = source.split("def get(", 1)[0]
            found[tokens[0]] = {_camel(name) for name in _INPUT.findall(constructor)}
    return found


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


RULE_INPUTS = {
    "aws:s3/bucket:Bucket": {"bucket", "tags", "policy", "serverSideEncryptionConfiguration", "versioning"},
    s3.ENCRYPTION_TYPES[0]: {"bucket", "rules"},
    s3.VERSIONING_TYPES[0]: {"bucket", "versioningConfiguration"},
    s3.PUBLIC_ACCESS_BLOCK_TYPES[0]: {"bucket", *s3.PUBLIC_ACCESS_SETTINGS},
    s3.POLICY_TYPES[0]: {"bucket", "policy"},
    storage.KEY_TYPE: {"enableKeyRotation", "customerMasterKeySpec", "keyUsage"},
    storage.TABLE_TYPE: {"pointInTimeRecovery", "serverSideEncryption"},
    storage.TOPIC_TYPE: {"kmsMasterKeyId"},
    sqs.QUEUE_TYPE: {"kmsMasterKeyId", "sqsManagedSseEnabled", "redrivePolicy", "name"},
    sqs.REDRIVE_POLICY_TYPE: {"queueUrl", "redrivePolicy"},
    lambdas.FUNCTION_TYPE: {"runtime", "packageType", "loggingConfig", "name", "deadLetterConfig"},
    lambdas.LOG_GROUP_TYPE: {"name", "retentionInDays"},
    lambdas.PERMISSION_TYPE: {"principal", "sourceArn", "sourceAccount", "principalOrgId"},
    lambdas.FUNCTION_URL_TYPE: {"authorizationType"},
    "aws:iam/role:Role": {"name", "namePrefix", "assumeRolePolicy", "inlinePolicies"},
    compute.COMPUTE_ENVIRONMENT_TYPE: {"computeResources"},
    compute.ECS_SERVICE_TYPE: {"desiredCount"},
    compute.AUTOSCALING_GROUP_TYPE: {"minSize", "desiredCapacity"},
    compute.EVENT_SOURCE_MAPPING_TYPE: {"provisionedPollerConfig", "destinationConfig"},
    compute.NAT_GATEWAY_TYPE: set(),
    compute.INSTANCE_TYPE: set(),
    **{token: {input_name} for token, input_name in sqs.DEAD_LETTER_LINKS.items()},
}


def test_every_type_a_rule_reads_exists_in_pulumi_aws():
    tokens = {*RULE_INPUTS, *POLICY_DOCUMENT_INPUTS, *s3.BUCKET_TYPES, *s3.ENCRYPTION_TYPES,
              *s3.VERSIONING_TYPES}
    missing = sorted(tokens - set(inputs_by_type()))
    assert missing == []


def test_every_input_a_rule_reads_is_an_input_of_its_type():
    wrong = {token: sorted(names - inputs_by_type()[token]) for token, names in RULE_INPUTS.items()}
    assert {token: names for token, names in wrong.items() if names} == {}


def test_policy_document_inputs_are_real_inputs():
    wrong = [
        (token, path[0])
        for token, entries in POLICY_DOCUMENT_INPUTS.items()
        for path, _kind in entries
        if path[0] not in inputs_by_type()[token]
    ]
    assert wrong == []


def test_taggable_types_match_the_installed_pulumi_aws():
    spec = importlib.util.spec_from_file_location("generate_taggable_types", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert TAGGABLE_TYPES == frozenset(tool.taggable_types(PACKAGE))


def test_taggable_types_include_the_projects_data_bearing_resources():
    assert {"aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:kms/key:Key"} <= TAGGABLE_TYPES
    assert "aws:s3/bucketPolicy:BucketPolicy" not in TAGGABLE_TYPES

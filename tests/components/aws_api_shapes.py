"""Checks the JSON-text and enum-like inputs of planned resources against the AWS APIs, offline.

The provider passes these values to AWS unchanged (Batch container properties, ECS container definitions, a
DynamoDB item, EventBridge patterns, SQS redrive policies, IAM-style policy documents, enum strings), so the
mocks cannot tell a typo from a real value. botocore ships the service models the AWS SDKs are generated from:
its `ParamValidator` checks types, required members and unknown keys; enum values and maximums, which it
leaves to the service, are checked here from the same models.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import Shape
from botocore.validate import ParamValidator

POLICY_VERSION = "2012-10-17"
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource"}
STATEMENT_KEYS |= {"Condition"}

# IAM quotas (IAM User Guide, "IAM and AWS STS quotas"); whitespace does not count towards them.
MANAGED_POLICY_MAX_CHARACTERS = 6144
ROLE_INLINE_POLICIES_MAX_CHARACTERS = 10240

# The event sources and detail types EventBridge rules may match (EC2, EBS and Batch user guides).
KNOWN_EVENT_DETAIL_TYPES = {
    "aws.ec2": {"EC2 Instance State-change Notification", "EBS Volume Notification", "EBS Snapshot Notification"},
    "aws.batch": {"Batch Job State Change"},
}

# SQS limits (SQS API reference, SetQueueAttributes); the attributes map is free-form in the model.
SQS_MAX_RECEIVE_COUNT = (1, 1000)
SQS_REDRIVE_PERMISSIONS = {"allowAll", "denyAll", "byQueue"}
SQS_MAX_SOURCE_QUEUES = 10


@functools.cache
def _service(service: str):
    return botocore.session.get_session().get_service_model(service)


def member_shape(service: str, operation: str, *path: str) -> Shape:
    """The shape of one request member, e.g. ("batch", "RegisterJobDefinition", "containerProperties");
    "[]" steps into a list's items."""
    shape = _service(service).operation_model(operation).input_shape
    for step in path:
        shape = shape.member if step == "[]" else shape.members[step]
    return shape


def shape_problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    """What the AWS API would reject in `value` for `shape`: botocore's own validation, then enums and maximums."""
    report = ParamValidator().validate(value, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    return [line.strip() for line in problems] + list(_limit_problems(value, shape, where or shape.name))


def _limit_problems(value: Any, shape: Shape, where: str) -> Iterator[str]:
    if value is None:
        return
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for key, item in value.items():
            if key in shape.members:
                yield from _limit_problems(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _limit_problems(item, shape.member, f"{where}[{index}]")
    elif shape.type_name == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _limit_problems(item, shape.value, f"{where}.{key}")
    else:
        yield from scalar_problems(value, shape, where)


def scalar_problems(value: Any, shape: Shape, where: str) -> list[str]:
    """A string against its enum and length range, a number against its range (botocore checks only minimums)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            return [f"{where}: {value!r} is not one of {', '.join(shape.enum)}"]
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            return [f"{where}: length {len(value)} is outside {low}..{high}"]
    if shape.type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            return [f"{where}: expected a whole number, got {value!r}"]
        if (low is not None and value < low) or (high is not None and value > high):
            return [f"{where}: {value:g} is outside {low}..{high}"]
    return []


@functools.cache
def log_retention_days() -> tuple[int, ...]:
    """The retention periods CloudWatch Logs accepts: the model types them as a plain integer and lists them
    in the member's documentation."""
    text = member_shape("logs", "PutRetentionPolicy", "retentionInDays").documentation
    listed = re.search(r"Possible values are:([\d,\sand]+)", text)
    if listed is None:
        raise LookupError("botocore's logs model no longer lists the retention periods")
    return tuple(int(n) for n in re.findall(r"\d+", listed.group(1)))


# --- JSON documents ------------------------------------------------------------------------------------


def parse_json(text: Any, where: str) -> tuple[Any, list[str]]:
    if not isinstance(text, str):
        return None, [f"{where}: expected JSON text, got {type(text).__name__}"]
    try:
        return json.loads(text), []
    except ValueError as err:
        return None, [f"{where}: not valid JSON ({err})"]


def policy_problems(text: Any, kind: str, where: str) -> list[str]:
    """An IAM-style policy document: `kind` is "identity" (no Principal), "trust" (Principal, no Resource) or
    "resource" (Principal and Resource)."""
    document, problems = parse_json(text, where)
    if problems:
        return problems
    if not isinstance(document, dict):
        return [f"{where}: a policy must be a JSON object"]
    if document.get("Version") != POLICY_VERSION:
        problems.append(f"{where}: Version must be {POLICY_VERSION!r}, got {document.get('Version')!r}")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        problems.append(f"{where}: unknown top-level keys {sorted(unknown)}")
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return [*problems, f"{where}: Statement must be a non-empty list"]
    sids = [s.get("Sid") for s in statements if isinstance(s, dict) and s.get("Sid") is not None]
    duplicates = sorted({sid for sid in sids if sids.count(sid) > 1})
    if duplicates:
        problems.append(f"{where}: duplicate Sid {duplicates}")
    for index, stmt in enumerate(statements):
        problems.extend(_statement_problems(stmt, kind, f"{where}.Statement[{index}]"))
    return problems


def _statement_problems(stmt: Any, kind: str, where: str) -> list[str]:
    if not isinstance(stmt, dict):
        return [f"{where}: a statement must be an object"]
    problems = []
    unknown = set(stmt) - STATEMENT_KEYS
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    if stmt.get("Effect") not in ("Allow", "Deny"):
        problems.append(f"{where}: Effect must be Allow or Deny, got {stmt.get('Effect')!r}")
    if kind == "identity" and not re.fullmatch(r"[A-Za-z0-9]*", str(stmt.get("Sid", ""))):
        problems.append(f"{where}: an IAM policy Sid may hold only letters and digits, got {stmt['Sid']!r}")
    problems.extend(_exactly_one(stmt, ("Action", "NotAction"), where))
    has_principal = any(key in stmt for key in ("Principal", "NotPrincipal"))
    has_resource = any(key in stmt for key in ("Resource", "NotResource"))
    if kind == "identity" and has_principal:
        problems.append(f"{where}: an identity policy cannot name a Principal")
    if kind in ("trust", "resource"):
        problems.extend(_exactly_one(stmt, ("Principal", "NotPrincipal"), where))
    if kind == "trust" and has_resource:
        problems.append(f"{where}: a trust policy cannot name a Resource")
    if kind in ("identity", "resource"):
        problems.extend(_exactly_one(stmt, ("Resource", "NotResource"), where))
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in stmt and not _strings(stmt[key]):
            problems.append(f"{where}.{key}: expected a string or a non-empty list of strings")
    for key in ("Action", "NotAction"):
        for action in _as_list(stmt.get(key)):
            if isinstance(action, str) and not re.fullmatch(r"\*|[a-z0-9-]+:[A-Za-z0-9*?]+", action):
                problems.append(f"{where}.{key}: {action!r} is not service:Action")
    if "Condition" in stmt:
        problems.extend(_condition_problems(stmt["Condition"], f"{where}.Condition"))
    return problems


def _exactly_one(stmt: dict, keys: tuple[str, str], where: str) -> list[str]:
    present = [key for key in keys if key in stmt]
    return [] if len(present) == 1 else [f"{where}: needs exactly one of {' or '.join(keys)}, has {present}"]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _condition_problems(condition: Any, where: str) -> list[str]:
    if not isinstance(condition, dict) or not condition:
        return [f"{where}: expected an object of operator -> key -> value"]
    problems = []
    for operator, tests in condition.items():
        if not re.fullmatch(r"(ForAllValues:|ForAnyValue:)?[A-Za-z]+", operator):
            problems.append(f"{where}: {operator!r} is not a condition operator")
        if not isinstance(tests, dict) or not tests:
            problems.append(f"{where}.{operator}: expected an object of key -> value")
            continue
        for key, value in tests.items():
            values = _as_list(value)
            if not values or not all(isinstance(v, (str, bool, int)) for v in values):
                problems.append(f"{where}.{operator}.{key}: expected a string, boolean or list of them")
    return problems


def policy_size(text: str) -> int:
    """A policy's size as IAM counts it: its characters, whitespace outside strings excluded."""
    return len(json.dumps(json.loads(text), separators=(",", ":")))


def event_pattern_problems(text: Any, where: str) -> list[str]:
    """EventBridge patterns: an object whose leaves are lists, matching a known source and detail type."""
    pattern, problems = parse_json(text, where)
    if problems:
        return problems
    if not isinstance(pattern, dict):
        return [f"{where}: a pattern must be a JSON object"]
    problems.extend(_pattern_leaf_problems(pattern, where))
    sources, detail_types = pattern.get("source"), pattern.get("detail-type")
    if not isinstance(sources, list) or not isinstance(detail_types, list):
        return [*problems, f"{where}: match both source and detail-type (lists), so the rule sees only its events"]
    for source in sources:
        if source not in KNOWN_EVENT_DETAIL_TYPES:
            problems.append(f"{where}.source: {source!r} is not one of {sorted(KNOWN_EVENT_DETAIL_TYPES)}")
    allowed = set().union(*(KNOWN_EVENT_DETAIL_TYPES.get(s, set()) for s in sources))
    for detail_type in detail_types:
        if detail_type not in allowed:
            problems.append(f"{where}.detail-type: {detail_type!r} is not sent by {sources} ({sorted(allowed)})")
    return problems


def _pattern_leaf_problems(pattern: dict, where: str) -> list[str]:
    problems = []
    for key, value in pattern.items():
        if isinstance(value, dict):
            problems.extend(_pattern_leaf_problems(value, f"{where}.{key}"))
        elif not isinstance(value, list) or not value:
            problems.append(f"{where}.{key}: a pattern value must be a non-empty list, got {value!r}")
    return problems


def redrive_policy_problems(text: Any, where: str) -> list[str]:
    policy, problems = parse_json(text, where)
    if problems:
        return problems
    if not isinstance(policy, dict) or set(policy) != {"deadLetterTargetArn", "maxReceiveCount"}:
        return [f"{where}: needs exactly deadLetterTargetArn and maxReceiveCount, got {policy!r}"]
    if not re.fullmatch(r"arn:aws[\w-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]+", str(policy["deadLetterTargetArn"])):
        problems.append(f"{where}.deadLetterTargetArn: {policy['deadLetterTargetArn']!r} is not a queue ARN")
    count, (low, high) = policy["maxReceiveCount"], SQS_MAX_RECEIVE_COUNT
    if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
        problems.append(f"{where}.maxReceiveCount: {count!r} must be a whole number in {low}..{high}")
    return problems


def redrive_allow_policy_problems(text: Any, where: str) -> list[str]:
    policy, problems = parse_json(text, where)
    if problems:
        return problems
    if not isinstance(policy, dict) or policy.get("redrivePermission") not in SQS_REDRIVE_PERMISSIONS:
        return [f"{where}: redrivePermission must be one of {sorted(SQS_REDRIVE_PERMISSIONS)}, got {policy!r}"]
    sources = policy.get("sourceQueueArns")
    if policy["redrivePermission"] == "byQueue":
        if not isinstance(sources, list) or not 1 <= len(sources) <= SQS_MAX_SOURCE_QUEUES:
            problems.append(f"{where}.sourceQueueArns: byQueue needs 1..{SQS_MAX_SOURCE_QUEUES} queue ARNs")
    elif sources is not None:
        problems.append(f"{where}.sourceQueueArns: only byQueue takes source queues")
    return problems


# Fargate task sizes: vCPU -> the memory (MiB) it can be given (Amazon ECS developer guide, "Task CPU and
# memory"; AWS Batch uses the same table for VCPU/MEMORY resource requirements). Other pairs fail at deploy.
FARGATE_MEMORY_BY_VCPU: dict[float, range | tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: range(1024, 4096 + 1, 1024),
    1: range(2048, 8192 + 1, 1024),
    2: range(4096, 16384 + 1, 1024),
    4: range(8192, 30720 + 1, 1024),
    8: range(16384, 61440 + 1, 4096),
    16: range(32768, 122880 + 1, 8192),
}


def fargate_size_problems(vcpu: float, memory_mib: float, where: str) -> list[str]:
    allowed = FARGATE_MEMORY_BY_VCPU.get(vcpu)
    if allowed is None:
        return [f"{where}: {vcpu:g} vCPU is not a Fargate size ({', '.join(f'{v:g}' for v in FARGATE_MEMORY_BY_VCPU)})"]
    if memory_mib not in allowed:
        return [f"{where}: {memory_mib:g} MiB is not offered with {vcpu:g} vCPU on Fargate"]
    return []


# --- provider and AWS rules the SDK does not check -------------------------------------------------------
# Each rule: the resource type, the input path ("[]" steps into each item of a list), what is allowed, and
# where the rule comes from. The provider checks most of these at preview (its schema validators), AWS the
# rest at the first API call: either way after the SDK and the mocks have accepted the value.

TF_BATCH_JOB_DEFINITION = "terraform-provider-aws internal/service/batch/job_definition.go (retry_strategy, timeout)"
TF_BATCH_NAME = "terraform-provider-aws internal/service/batch/validate.go validName"
BATCH_EPHEMERAL_STORAGE = (
    "AWS Batch API reference, EphemeralStorage (https://docs.aws.amazon.com/batch/latest/APIReference/"
    "API_EphemeralStorage.html): sizeInGiB 21-200, for tasks hosted on Fargate"
)
ECS_NAME = "Amazon ECS API reference, CreateCluster clusterName / RegisterTaskDefinition family"
KMS_ALIAS = "terraform-provider-aws internal/service/kms/validate.go validName; AWS KMS API reference, CreateAlias"
S3_BUCKET = "Amazon S3 User Guide, 'General purpose bucket naming rules'"
DYNAMODB_TABLE = "Amazon DynamoDB Developer Guide, 'Supported data types and naming rules'"
LAMBDA_NAME = "AWS Lambda API reference, CreateFunction FunctionName (64 characters for a bare name)"
SQS_NAME = "Amazon SQS API reference, CreateQueue QueueName"
IAM_NAME = "IAM API reference, CreateRole RoleName / CreatePolicy PolicyName (botocore's iam model: 64 / 128)"
EVENTS_RULE = "Amazon EventBridge API reference, PutRule Name (botocore's events model: 1-64)"
LOG_GROUP = "Amazon CloudWatch Logs API reference, CreateLogGroup logGroupName (botocore's logs model: 1-512)"
LAYER_NAME = "AWS Lambda API reference, PublishLayerVersion LayerName (1-140)"
ALARM_NAME = "Amazon CloudWatch API reference, PutMetricAlarm AlarmName (botocore's cloudwatch model: 1-255)"
TOPIC_NAME = "Amazon SNS API reference, CreateTopic Name (up to 256 letters, digits, '-' and '_')"
SECURITY_GROUP_NAME = "Amazon EC2 API reference, CreateSecurityGroup GroupName (up to 255 characters, not sg-*)"


@dataclass(frozen=True)
class InputRule:
    """One rule on one input of one resource type, with its source."""

    type_token: str
    path: str
    allowed: str
    """What AWS or the provider accepts, in words (the message of a violation)."""
    check: Callable[[Any], bool]
    source: str
    only_if: Callable[[Mapping[str, Any]], bool] | None = None
    """The value may be given only when this holds for the resource's inputs (e.g. its platform)."""


def _glob(chars: str) -> Callable[[Any], bool]:
    """A Batch retry glob: 1-512 characters of `chars`, at most one `*`, and only at the end."""
    pattern = re.compile(rf"[{chars}]*\*?")
    return lambda v: isinstance(v, str) and 1 <= len(v) <= 512 and pattern.fullmatch(v) is not None


def _name(regex: str, low: int, high: int) -> Callable[[Any], bool]:
    pattern = re.compile(regex)
    return lambda v: isinstance(v, str) and low <= len(v) <= high and pattern.fullmatch(v) is not None


def _bucket_name(value: Any) -> bool:
    return (
        _name(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", 3, 63)(value)
        and ".." not in value
        and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value)
        and not value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )


def _alias_name(value: Any) -> bool:
    return _name(r"alias/[a-zA-Z0-9:/_-]+", 7, 256)(value) and not value.startswith("alias/aws/")


def _whole_in(low: int, high: float) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and v == int(v) and low <= v <= high


JOB_DEFINITION_TYPE = "aws:batch/jobDefinition:JobDefinition"
BATCH_NAME = _name(r"[0-9A-Za-z][0-9A-Za-z_-]*", 1, 128)
ECS_NAME_RULE = _name(r"[a-zA-Z0-9_-]+", 1, 255)

INPUT_RULES: tuple[InputRule, ...] = (
    InputRule(
        JOB_DEFINITION_TYPE, "retryStrategy.evaluateOnExits[].onStatusReason",
        "1-512 letters, digits, '.', ':' and white space, with at most one '*', only at the end",
        _glob(r"0-9A-Za-z.:\s"), f"{TF_BATCH_JOB_DEFINITION}; AWS Batch API reference, EvaluateOnExit",
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "retryStrategy.evaluateOnExits[].onReason",
        "1-512 letters, digits, '.', ':' and white space, with at most one '*', only at the end",
        _glob(r"0-9A-Za-z.:\s"), f"{TF_BATCH_JOB_DEFINITION}; AWS Batch API reference, EvaluateOnExit",
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "retryStrategy.evaluateOnExits[].onExitCode",
        "1-512 digits, with at most one '*', only at the end",
        _glob(r"0-9"), f"{TF_BATCH_JOB_DEFINITION}; AWS Batch API reference, EvaluateOnExit",
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "retryStrategy.evaluateOnExits",
        "at most 5 conditions", lambda v: isinstance(v, list) and len(v) <= 5, TF_BATCH_JOB_DEFINITION,
    ),
    InputRule(JOB_DEFINITION_TYPE, "retryStrategy.attempts", "1 to 10", _whole_in(1, 10), TF_BATCH_JOB_DEFINITION),
    # containerProperties is JSON text the provider passes on; botocore's model types sizeInGiB as a bare integer.
    InputRule(
        JOB_DEFINITION_TYPE, "containerProperties.ephemeralStorage.sizeInGiB", "a whole number of GiB, 21 to 200",
        lambda v: not isinstance(v, float) and _whole_in(21, 200)(v), BATCH_EPHEMERAL_STORAGE,
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "containerProperties.ephemeralStorage", "set on a job definition for FARGATE only",
        lambda v: True, BATCH_EPHEMERAL_STORAGE,
        only_if=lambda inputs: inputs.get("platformCapabilities") == ["FARGATE"],
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "timeout.attemptDurationSeconds", "at least 60 seconds",
        _whole_in(60, float("inf")), TF_BATCH_JOB_DEFINITION,
    ),
    InputRule(
        JOB_DEFINITION_TYPE, "name", "1-128 letters, digits, '_' and '-', starting with a letter or digit",
        BATCH_NAME, TF_BATCH_NAME,
    ),
    InputRule(
        "aws:batch/jobQueue:JobQueue", "name", "1-128 letters, digits, '_' and '-', starting with a letter or digit",
        BATCH_NAME, TF_BATCH_NAME,
    ),
    InputRule(
        "aws:batch/computeEnvironment:ComputeEnvironment", "name",
        "1-128 letters, digits, '_' and '-', starting with a letter or digit", BATCH_NAME, TF_BATCH_NAME,
    ),
    InputRule("aws:ecs/cluster:Cluster", "name", "1-255 letters, digits, '_' and '-'", ECS_NAME_RULE, ECS_NAME),
    InputRule(
        "aws:ecs/taskDefinition:TaskDefinition", "family", "1-255 letters, digits, '_' and '-'", ECS_NAME_RULE,
        ECS_NAME,
    ),
    InputRule(
        "aws:kms/alias:Alias", "name", "'alias/' then letters, digits, ':', '/', '_', '-' (256 at most), not "
        "'alias/aws/'", _alias_name, KMS_ALIAS,
    ),
    InputRule(
        "aws:s3/bucket:Bucket", "bucket", "3-63 lowercase letters, digits, '.' and '-', no reserved prefix or "
        "suffix", _bucket_name, S3_BUCKET,
    ),
    InputRule(
        "aws:dynamodb/table:Table", "name", "3-255 letters, digits, '_', '-' and '.'",
        _name(r"[a-zA-Z0-9_.-]+", 3, 255), DYNAMODB_TABLE,
    ),
    InputRule(
        "aws:lambda/function:Function", "name", "1-64 letters, digits, '_' and '-'",
        _name(r"[a-zA-Z0-9_-]+", 1, 64), LAMBDA_NAME,
    ),
    InputRule(
        "aws:sqs/queue:Queue", "name", "1-80 letters, digits, '_' and '-'", _name(r"[a-zA-Z0-9_-]+", 1, 80), SQS_NAME,
    ),
    InputRule(
        "aws:iam/role:Role", "name", "1-64 letters, digits and + = , . @ _ -", _name(r"[\w+=,.@-]+", 1, 64), IAM_NAME,
    ),
    InputRule(
        "aws:iam/policy:Policy", "name", "1-128 letters, digits and + = , . @ _ -", _name(r"[\w+=,.@-]+", 1, 128),
        IAM_NAME,
    ),
    InputRule(
        "aws:cloudwatch/eventRule:EventRule", "name", "1-64 letters, digits, '.', '-' and '_'",
        _name(r"[.\-_A-Za-z0-9]+", 1, 64), EVENTS_RULE,
    ),
    InputRule(
        "aws:cloudwatch/logGroup:LogGroup", "name", "1-512 letters, digits, '.', '-', '_', '/' and '#'",
        _name(r"[.\-_/#A-Za-z0-9]+", 1, 512), LOG_GROUP,
    ),
    InputRule(
        "aws:lambda/layerVersion:LayerVersion", "layerName", "1-140 letters, digits, '-' and '_'",
        _name(r"[a-zA-Z0-9_-]+", 1, 140), LAYER_NAME,
    ),
    InputRule("aws:cloudwatch/metricAlarm:MetricAlarm", "name", "1-255 characters", _name(r".+", 1, 255), ALARM_NAME),
    InputRule("aws:sns/topic:Topic", "name", "1-256 letters, digits, '-' and '_'", _name(r"[a-zA-Z0-9_-]+", 1, 256),
              TOPIC_NAME),
    InputRule(
        "aws:ec2/securityGroup:SecurityGroup", "name", "1-255 characters, not starting with sg-",
        lambda v: _name(r".+", 1, 255)(v) and not v.startswith("sg-"), SECURITY_GROUP_NAME,
    ),
)  # fmt: skip


def input_rule_problems(type_token: str, inputs: Mapping[str, Any], where: str) -> list[str]:
    """Every INPUT_RULES violation of one resource's inputs."""
    problems = []
    for rule in INPUT_RULES:
        if rule.type_token != type_token:
            continue
        for path, value in values_at(inputs, rule.path):
            if not rule.check(value) or (rule.only_if is not None and not rule.only_if(inputs)):
                problems.append(f"{where}.{path}: {value!r} is not {rule.allowed} ({rule.source})")
    return problems


def values_at(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """The values at a dotted input path; "name[]" steps into each item of a list, and a step into JSON text
    (Batch containerProperties) reads the document."""
    head, _, rest = path.partition(".")
    key, is_list = head.removesuffix("[]"), head.endswith("[]")
    if not isinstance(value, Mapping) or value.get(key) is None:
        return
    found = value[key]
    if rest and isinstance(found, str):
        try:
            found = json.loads(found)
        except ValueError:
            return  # malformed JSON text is the JSON members check's finding
    items = list(enumerate(found)) if is_list else [(None, found)]
    for index, item in items:
        where = key if index is None else f"{key}[{index}]"
        if rest:
            yield from ((f"{where}.{sub}", v) for sub, v in values_at(item, rest))
        else:
            yield where, item


# S3 accepts an Object Lock configuration on an existing bucket only once the bucket is versioned (Amazon S3
# User Guide, "Configuring S3 Object Lock" > "Enable Object Lock on an existing S3 bucket"; S3 API reference,
# PutObjectLockConfiguration). A lock configuration planned without an ordering after the bucket's
# versioning may be applied first and fail.
OBJECT_LOCK_CONFIGURATION = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def object_lock_ordering_problems(resources: Sequence[Any]) -> list[str]:
    """Lock configurations whose `bucket` does not come through an enabled versioning of the same bucket."""
    by_urn = {r.urn: r for r in resources}
    problems = []
    for lock in (r for r in resources if r.type == OBJECT_LOCK_CONFIGURATION):
        before = [by_urn.get(urn) for urn in lock.property_dependencies.get("bucket", [])]
        versioned = [
            r for r in before
            if r is not None and r.type == BUCKET_VERSIONING and r.inputs.get("bucket") == lock.inputs.get("bucket")
            and (r.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled"
        ]
        if not versioned:
            problems.append(
                f"{lock.name}: the lock configuration of bucket {lock.inputs.get('bucket')!r} is not ordered after "
                "the bucket's enabled versioning (S3 accepts Object Lock on an existing bucket only once it is "
                "versioned)"
            )
    return problems


def batch_retry_action(conditions: Sequence[Mapping[str, Any]], status_reason: str, reason: str, exit_code: str) -> str:
    """What Batch does with a failed attempt (AWS Batch API reference, EvaluateOnExit and RetryStrategy): the first
    condition whose given patterns all match decides; a pattern ending in '*' matches a prefix; no match retries."""

    def matches(pattern: str | None, value: str) -> bool:
        if pattern is None:
            return True
        return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern

    for condition in conditions:
        if (
            matches(condition.get("onStatusReason"), status_reason)
            and matches(condition.get("onReason"), reason)
            and matches(condition.get("onExitCode"), exit_code)
        ):
            return str(condition["action"]).upper()
    return "RETRY"

"""The values the provider passes to AWS unchanged are ones the AWS APIs accept (botocore's service models).

Each check runs on the example stack and on the largest supported one (11 regions x 4 vaults), and has a
negative test on a deliberately broken copy of a real record.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from plan import Plan
from tests.components import aws_api_shapes as api

PLANS = ["example_plan", "largest_plan"]

JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"

# JSON-text inputs checked against one request member of an AWS API.
JSON_MEMBERS = {
    (JOB_DEFINITION, "containerProperties"): ("batch", "RegisterJobDefinition", "containerProperties"),
    (TASK_DEFINITION, "containerDefinitions"): ("ecs", "RegisterTaskDefinition", "containerDefinitions"),
    (TABLE_ITEM, "item"): ("dynamodb", "PutItem", "Item"),
}

# Policy inputs and what kind of policy each is.
POLICY_INPUTS = {
    (MANAGED_POLICY, "policy"): "identity",
    (ROLE_POLICY, "policy"): "identity",
    ("aws:iam/role:Role", "assumeRolePolicy"): "trust",
    ("aws:kms/key:Key", "policy"): "resource",
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"): "resource",
    (QUEUE, "policy"): "resource",
    ("aws:sns/topic:Topic", "policy"): "resource",
}

# Enum-like and bounded scalar inputs the provider passes through, with the API member that defines them.
SCALAR_MEMBERS: dict[str, dict[str, tuple[str, ...]]] = {
    FUNCTION: {
        "runtime": ("lambda", "CreateFunction", "Runtime"),
        "memorySize": ("lambda", "CreateFunction", "MemorySize"),
        "timeout": ("lambda", "CreateFunction", "Timeout"),
        "architectures[]": ("lambda", "CreateFunction", "Architectures", "[]"),
        "tracingConfig.mode": ("lambda", "CreateFunction", "TracingConfig", "Mode"),
        "loggingConfig.logFormat": ("lambda", "CreateFunction", "LoggingConfig", "LogFormat"),
    },
    "aws:lambda/layerVersion:LayerVersion": {
        "compatibleRuntimes[]": ("lambda", "PublishLayerVersion", "CompatibleRuntimes", "[]"),
        "compatibleArchitectures[]": ("lambda", "PublishLayerVersion", "CompatibleArchitectures", "[]"),
    },
    EVENT_SOURCE_MAPPING: {
        "batchSize": ("lambda", "CreateEventSourceMapping", "BatchSize"),
        "scalingConfig.maximumConcurrency": (
            "lambda", "CreateEventSourceMapping", "ScalingConfig", "MaximumConcurrency",
        ),
        "functionResponseTypes[]": ("lambda", "CreateEventSourceMapping", "FunctionResponseTypes", "[]"),
    },
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": {
        "maximumRetryAttempts": ("lambda", "PutFunctionEventInvokeConfig", "MaximumRetryAttempts"),
        "maximumEventAgeInSeconds": ("lambda", "PutFunctionEventInvokeConfig", "MaximumEventAgeInSeconds"),
    },
    "aws:batch/computeEnvironment:ComputeEnvironment": {
        "type": ("batch", "CreateComputeEnvironment", "type"),
        "computeResources.type": ("batch", "CreateComputeEnvironment", "computeResources", "type"),
    },
    "aws:batch/jobQueue:JobQueue": {"state": ("batch", "CreateJobQueue", "state")},
    JOB_DEFINITION: {
        "type": ("batch", "RegisterJobDefinition", "type"),
        "platformCapabilities[]": ("batch", "RegisterJobDefinition", "platformCapabilities", "[]"),
        "retryStrategy.evaluateOnExits[].action": (
            "batch", "RegisterJobDefinition", "retryStrategy", "evaluateOnExit", "[]", "action",
        ),
    },
    TASK_DEFINITION: {
        "networkMode": ("ecs", "RegisterTaskDefinition", "networkMode"),
        "requiresCompatibilities[]": ("ecs", "RegisterTaskDefinition", "requiresCompatibilities", "[]"),
        "runtimePlatform.cpuArchitecture": ("ecs", "RegisterTaskDefinition", "runtimePlatform", "cpuArchitecture"),
        "runtimePlatform.operatingSystemFamily": (
            "ecs", "RegisterTaskDefinition", "runtimePlatform", "operatingSystemFamily",
        ),
    },
    "aws:dynamodb/table:Table": {
        "billingMode": ("dynamodb", "CreateTable", "BillingMode"),
        "attributes[].type": ("dynamodb", "CreateTable", "AttributeDefinitions", "[]", "AttributeType"),
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "comparisonOperator": ("cloudwatch", "PutMetricAlarm", "ComparisonOperator"),
        "statistic": ("cloudwatch", "PutMetricAlarm", "Statistic"),
    },
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
        "rule.objectOwnership": ("s3", "PutBucketOwnershipControls", "OwnershipControls", "Rules", "[]",
                                 "ObjectOwnership"),
    },
    "aws:s3/bucketVersioning:BucketVersioning": {
        "versioningConfiguration.status": ("s3", "PutBucketVersioning", "VersioningConfiguration", "Status"),
    },
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": {
        "rule.defaultRetention.mode": (
            "s3", "PutObjectLockConfiguration", "ObjectLockConfiguration", "Rule", "DefaultRetention", "Mode",
        ),
        "objectLockEnabled": ("s3", "PutObjectLockConfiguration", "ObjectLockConfiguration", "ObjectLockEnabled"),
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"vpcEndpointType": ("ec2", "CreateVpcEndpoint", "VpcEndpointType")},
}  # fmt: skip


def _plan(request, name: str) -> Plan:
    return request.getfixturevalue(name)


def _of_type(plan: Plan, type_token: str) -> list:
    return [r for r in plan.resources if r.type == type_token]


def _json_member_problems(plan: Plan) -> list[str]:
    problems = []
    for (type_token, key), member in JSON_MEMBERS.items():
        for resource in _of_type(plan, type_token):
            value, parse_problems = api.parse_json(resource.inputs.get(key), f"{resource.name}.{key}")
            problems += parse_problems or api.shape_problems(value, api.member_shape(*member), f"{resource.name}.{key}")
    return problems


def _scalar_problems(plan: Plan) -> list[str]:
    problems = []
    for type_token, members in SCALAR_MEMBERS.items():
        for resource in _of_type(plan, type_token):
            for path, member in members.items():
                shape = api.member_shape(*member)
                for where, value in api.values_at(resource.inputs, path):
                    problems += api.scalar_problems(value, shape, f"{resource.name}.{where}")
    return problems


def _policy_problems(plan: Plan) -> list[str]:
    return [
        problem
        for (type_token, key), kind in POLICY_INPUTS.items()
        for resource in _of_type(plan, type_token)
        if key in resource.inputs
        for problem in api.policy_problems(resource.inputs[key], kind, f"{resource.name}.{key}")
    ]


def _policy_size_problems(plan: Plan) -> list[str]:
    problems = []
    for resource in _of_type(plan, MANAGED_POLICY):
        size = api.policy_size(resource.inputs["policy"])
        if size > api.MANAGED_POLICY_MAX_CHARACTERS:
            problems.append(f"{resource.name}: {size} characters (limit {api.MANAGED_POLICY_MAX_CHARACTERS})")
    per_role: dict[str, int] = {}
    for resource in _of_type(plan, ROLE_POLICY):
        per_role[resource.inputs["role"]] = per_role.get(resource.inputs["role"], 0) + api.policy_size(
            resource.inputs["policy"]
        )
    problems += [
        f"role {role}: inline policies of {size} characters (limit {api.ROLE_INLINE_POLICIES_MAX_CHARACTERS})"
        for role, size in per_role.items()
        if size > api.ROLE_INLINE_POLICIES_MAX_CHARACTERS
    ]
    return problems


def _queue_problems(plan: Plan) -> list[str]:
    problems = []
    for queue in _of_type(plan, QUEUE):
        if "redrivePolicy" in queue.inputs:
            problems += api.redrive_policy_problems(queue.inputs["redrivePolicy"], f"{queue.name}.redrivePolicy")
        if "redriveAllowPolicy" in queue.inputs:
            problems += api.redrive_allow_policy_problems(
                queue.inputs["redriveAllowPolicy"], f"{queue.name}.redriveAllowPolicy"
            )
    return problems


def _event_pattern_problems(plan: Plan) -> list[str]:
    return [
        problem
        for rule in _of_type(plan, EVENT_RULE)
        for problem in api.event_pattern_problems(rule.inputs.get("eventPattern"), f"{rule.name}.eventPattern")
    ]


def _log_retention_problems(plan: Plan) -> list[str]:
    allowed = api.log_retention_days()
    return [
        f"{group.name}: retentionInDays {group.inputs['retentionInDays']!r} is not one of {allowed}"
        for group in _of_type(plan, LOG_GROUP)
        if "retentionInDays" in group.inputs and group.inputs["retentionInDays"] not in allowed
    ]


def _sqs_trigger_problems(plan: Plan) -> list[str]:
    """Lambda refuses an SQS event source whose queue's visibility timeout is shorter than the function's."""
    problems = []
    for mapping in _of_type(plan, EVENT_SOURCE_MAPPING):
        source_arn, function_arn = mapping.inputs.get("eventSourceArn", ""), mapping.inputs.get("functionName", "")
        if ":sqs:" not in source_arn:
            continue  # a DynamoDB stream (the outbox) has no visibility timeout
        queues = [
            q
            for q in _of_type(plan, QUEUE)
            if q.region == mapping.region and source_arn.endswith(f":{q.inputs['name']}")
        ]
        functions = [
            f
            for f in _of_type(plan, FUNCTION)
            if f.region == mapping.region and function_arn.split(":")[-1] == f.inputs["name"]
        ]
        if len(queues) != 1 or len(functions) != 1:
            problems.append(f"{mapping.name}: cannot find its queue and function ({source_arn}, {function_arn})")
            continue
        visibility = queues[0].inputs.get("visibilityTimeoutSeconds", 30)
        timeout = functions[0].inputs.get("timeout", 3)
        if visibility < timeout:
            problems.append(
                f"{mapping.name}: queue {queues[0].name} visibility timeout {visibility:g} s is shorter than "
                f"function {functions[0].name} timeout {timeout:g} s"
            )
    return problems


def _fargate_size_problems(plan: Plan) -> list[str]:
    problems = []
    for task in _of_type(plan, TASK_DEFINITION):
        vcpu, memory = float(task.inputs["cpu"]) / 1024, float(task.inputs["memory"])
        problems += api.fargate_size_problems(vcpu, memory, f"{task.name} cpu/memory")
    for job in _of_type(plan, JOB_DEFINITION):
        requirements = {
            r["type"]: float(r["value"]) for r in json.loads(job.inputs["containerProperties"])["resourceRequirements"]
        }
        problems += api.fargate_size_problems(
            requirements["VCPU"], requirements["MEMORY"], f"{job.name} resourceRequirements"
        )
    return problems


def _input_rule_problems(plan: Plan) -> list[str]:
    return [
        problem
        for resource in plan.resources
        for problem in api.input_rule_problems(resource.type, resource.inputs, resource.name)
    ]


def _object_lock_ordering_problems(plan: Plan) -> list[str]:
    return api.object_lock_ordering_problems(plan.resources)


CHECKS: dict[str, Callable[[Plan], list[str]]] = {
    "input_rules": _input_rule_problems,
    "object_lock_ordering": _object_lock_ordering_problems,
    "json_members": _json_member_problems,
    "scalars": _scalar_problems,
    "policies": _policy_problems,
    "queues": _queue_problems,
    "event_patterns": _event_pattern_problems,
    "log_retention": _log_retention_problems,
    "sqs_trigger": _sqs_trigger_problems,
    "fargate_sizes": _fargate_size_problems,
}


@pytest.mark.parametrize("plan_name", PLANS)
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_planned_values_are_accepted_by_the_aws_apis(request, plan_name, check):
    assert CHECKS[check](_plan(request, plan_name)) == []


@pytest.mark.parametrize("plan_name", PLANS)
def test_iam_policies_fit_the_iam_size_quotas(request, plan_name):
    assert _policy_size_problems(_plan(request, plan_name)) == []


def test_the_checks_see_every_kind_of_resource_they_check(example_plan):
    checked = {t for t, _ in JSON_MEMBERS} | {t for t, _ in POLICY_INPUTS} | set(SCALAR_MEMBERS)
    checked |= {EVENT_RULE, QUEUE, LOG_GROUP, EVENT_SOURCE_MAPPING, api.OBJECT_LOCK_CONFIGURATION}
    checked |= {rule.type_token for rule in api.INPUT_RULES}
    assert {t: bool(_of_type(example_plan, t)) for t in checked} == dict.fromkeys(checked, True)


def test_event_rules_match_the_real_ec2_ebs_and_batch_events(example_plan):
    patterns = [json.loads(r.inputs["eventPattern"]) for r in _of_type(example_plan, EVENT_RULE)]
    matched = {(s, d) for p in patterns for s in p["source"] for d in p["detail-type"]}
    assert matched == {(s, d) for s, types in api.KNOWN_EVENT_DETAIL_TYPES.items() for d in types}


# --- negative tests: each check fails on a broken copy of a real record --------------------------------


def _broken(plan: Plan, type_token: str, change: Callable[[dict], None]) -> Plan:
    """A copy of `plan` whose first `type_token` record has been changed by `change(inputs)`."""
    broken = copy.deepcopy(plan)
    change(_of_type(broken, type_token)[0].inputs)
    return broken


def _edit_json(key: str, edit: Callable[[Any], None]) -> Callable[[dict], None]:
    def change(inputs: dict) -> None:
        value = json.loads(inputs[key])
        edit(value)
        inputs[key] = json.dumps(value)

    return change


def test_an_unknown_container_property_is_rejected(example_plan):
    broken = _broken(example_plan, JOB_DEFINITION, _edit_json("containerProperties", lambda v: v.update(logConfig={})))
    problems = _json_member_problems(broken)
    assert len(problems) == 1 and "logConfig" in problems[0]


def test_a_container_property_outside_its_enum_is_rejected(example_plan):
    def edit(value):
        value["networkConfiguration"]["assignPublicIp"] = "YES"

    problems = _json_member_problems(_broken(example_plan, JOB_DEFINITION, _edit_json("containerProperties", edit)))
    assert len(problems) == 1 and "networkConfiguration.assignPublicIp: 'YES' is not one of" in problems[0]


def test_a_container_definition_of_the_wrong_type_is_rejected(example_plan):
    def edit(value):
        value[0]["essential"] = "true"

    problems = _json_member_problems(_broken(example_plan, TASK_DEFINITION, _edit_json("containerDefinitions", edit)))
    assert len(problems) == 1 and "essential" in problems[0]


def test_a_table_item_value_without_an_attribute_type_is_rejected(example_plan):
    problems = _json_member_problems(
        _broken(example_plan, TABLE_ITEM, _edit_json("item", lambda v: v.update(region="eu-west-1")))
    )
    assert len(problems) == 1 and "region" in problems[0]


def test_malformed_json_text_is_rejected(example_plan):
    def change(inputs):
        inputs["item"] = inputs["item"][:-1]

    problems = _json_member_problems(_broken(example_plan, TABLE_ITEM, change))
    assert len(problems) == 1 and "not valid JSON" in problems[0]


def test_a_runtime_lambda_does_not_offer_is_rejected(example_plan):
    problems = _scalar_problems(_broken(example_plan, FUNCTION, lambda i: i.update(runtime="python3.99")))
    assert len(problems) == 1 and ".runtime: 'python3.99' is not one of" in problems[0]


def test_a_maximum_concurrency_outside_2_to_1000_is_rejected(example_plan):
    problems = _scalar_problems(
        _broken(example_plan, EVENT_SOURCE_MAPPING, lambda i: i["scalingConfig"].update(maximumConcurrency=1.0))
    )
    assert len(problems) == 1 and "scalingConfig.maximumConcurrency: 1 is outside 2..1000" in problems[0]


def test_a_compute_resources_type_batch_does_not_know_is_rejected(example_plan):
    token = "aws:batch/computeEnvironment:ComputeEnvironment"
    problems = _scalar_problems(
        _broken(example_plan, token, lambda i: i["computeResources"].update(type="SPOT_FARGATE"))
    )
    assert len(problems) == 1 and "computeResources.type: 'SPOT_FARGATE'" in problems[0]


def test_a_network_mode_ecs_does_not_know_is_rejected(example_plan):
    problems = _scalar_problems(_broken(example_plan, TASK_DEFINITION, lambda i: i.update(networkMode="vpc")))
    assert len(problems) == 1 and ".networkMode: 'vpc'" in problems[0]


def test_a_billing_mode_dynamodb_does_not_know_is_rejected(example_plan):
    token = "aws:dynamodb/table:Table"
    problems = _scalar_problems(_broken(example_plan, token, lambda i: i.update(billingMode="ON_DEMAND")))
    assert len(problems) == 1 and ".billingMode: 'ON_DEMAND'" in problems[0]


def test_a_policy_with_the_old_version_is_rejected(example_plan):
    broken = _broken(example_plan, "aws:kms/key:Key", _edit_json("policy", lambda v: v.update(Version="2008-10-17")))
    problems = _policy_problems(broken)
    assert len(problems) == 1 and "Version must be '2012-10-17'" in problems[0]


def test_a_statement_without_a_resource_is_rejected(example_plan):
    problems = _policy_problems(
        _broken(example_plan, ROLE_POLICY, _edit_json("policy", lambda v: v["Statement"][0].pop("Resource")))
    )
    assert len(problems) == 1 and "needs exactly one of Resource or NotResource" in problems[0]


def test_a_principal_in_an_identity_policy_is_rejected(example_plan):
    def edit(value):
        value["Statement"][0]["Principal"] = {"AWS": "*"}

    problems = _policy_problems(_broken(example_plan, MANAGED_POLICY, _edit_json("policy", edit)))
    assert len(problems) == 1 and "cannot name a Principal" in problems[0]


def test_a_trust_policy_without_a_principal_is_rejected(example_plan):
    problems = _policy_problems(
        _broken(
            example_plan,
            "aws:iam/role:Role",
            _edit_json("assumeRolePolicy", lambda v: v["Statement"][0].pop("Principal")),
        )
    )
    assert len(problems) == 1 and "needs exactly one of Principal or NotPrincipal" in problems[0]


def test_a_misspelt_statement_key_and_effect_are_rejected(example_plan):
    def edit(value):
        value["Statement"][0]["Effect"] = "allow"
        value["Statement"][0]["Actions"] = value["Statement"][0].pop("Action")

    problems = _policy_problems(_broken(example_plan, QUEUE, _edit_json("policy", edit)))
    assert len(problems) == 3  # unknown key, bad Effect, no Action


def test_a_managed_policy_over_the_iam_size_limit_is_rejected(example_plan):
    def edit(value):
        value["Statement"][0]["Resource"] = [f"arn:aws:s3:::bucket-{n:05d}" for n in range(300)]

    problems = _policy_size_problems(_broken(example_plan, MANAGED_POLICY, _edit_json("policy", edit)))
    assert any("(limit 6144)" in p for p in problems)


def test_a_redrive_policy_without_max_receive_count_is_rejected(example_plan):
    def edit(value):
        value.pop("maxReceiveCount")

    queue = next(q for q in _of_type(example_plan, QUEUE) if "redrivePolicy" in q.inputs)
    broken = copy.deepcopy(example_plan)
    target = next(q for q in broken.resources if q.urn == queue.urn)
    _edit_json("redrivePolicy", edit)(target.inputs)
    problems = _queue_problems(broken)
    assert len(problems) == 1 and "needs exactly deadLetterTargetArn and maxReceiveCount" in problems[0]


def test_an_event_pattern_with_a_wrong_detail_type_is_rejected(example_plan):
    def edit(value):
        value["detail-type"] = ["Batch Job State Changed"]

    problems = _event_pattern_problems(_broken(example_plan, EVENT_RULE, _edit_json("eventPattern", edit)))
    assert len(problems) == 1 and "'Batch Job State Changed' is not sent by" in problems[0]


def test_an_event_pattern_with_a_scalar_leaf_is_rejected(example_plan):
    problems = _event_pattern_problems(
        _broken(example_plan, EVENT_RULE, _edit_json("eventPattern", lambda v: v.update(source="aws.batch")))
    )
    assert any("a pattern value must be a non-empty list" in p for p in problems)


def test_a_log_retention_cloudwatch_does_not_offer_is_rejected(example_plan):
    problems = _log_retention_problems(_broken(example_plan, LOG_GROUP, lambda i: i.update(retentionInDays=45.0)))
    assert len(problems) == 1 and "retentionInDays 45.0" in problems[0]


def test_a_queue_visibility_shorter_than_its_function_timeout_is_rejected(example_plan):
    broken = copy.deepcopy(example_plan)
    for function in _of_type(broken, FUNCTION):
        function.inputs["timeout"] = 900.0
    problems = _sqs_trigger_problems(broken)
    sqs_triggers = [m for m in _of_type(example_plan, EVENT_SOURCE_MAPPING) if ":sqs:" in m.inputs["eventSourceArn"]]
    assert len(problems) == len(sqs_triggers) > 0
    assert "is shorter than function" in problems[0]


def test_a_fargate_memory_size_not_offered_for_the_vcpu_is_rejected(example_plan):
    def edit(value):
        value["resourceRequirements"] = [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "2048"}]

    problems = _fargate_size_problems(_broken(example_plan, JOB_DEFINITION, _edit_json("containerProperties", edit)))
    assert len(problems) == 1 and "2048 MiB is not offered with 2 vCPU on Fargate" in problems[0]


def test_a_task_cpu_that_is_not_a_fargate_size_is_rejected(example_plan):
    problems = _fargate_size_problems(_broken(example_plan, TASK_DEFINITION, lambda i: i.update(cpu="3072")))
    assert len(problems) == 1 and "3 vCPU is not a Fargate size" in problems[0]


# --- the provider rules table: each rule has a negative case -------------------------------------------


def _retry_conditions(inputs: dict) -> list[dict]:
    return inputs["retryStrategy"]["evaluateOnExits"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("onStatusReason", "*Spot*"),  # a leading '*' (and two of them): the provider refuses it at preview
        ("onStatusReason", "Spot*interrupted"),  # '*' only at the end
        ("onStatusReason", "Task failed (OOM)"),  # parentheses are not allowed characters
        ("onReason", "CannotPullContainerError*" + "x" * 512),  # over 512 characters
        ("onExitCode", "13?"),  # exit codes are digits and one trailing '*'
    ],
)
def test_a_batch_retry_glob_the_provider_refuses_is_rejected(example_plan, key, value):
    def change(inputs):
        _retry_conditions(inputs)[0][key] = value

    problems = _input_rule_problems(_broken(example_plan, JOB_DEFINITION, change))
    assert len(problems) == 1 and f"evaluateOnExits[0].{key}: {value!r} is not" in problems[0]


def test_more_than_five_retry_conditions_are_rejected(example_plan):
    def change(inputs):
        inputs["retryStrategy"]["evaluateOnExits"] = [{"action": "RETRY", "onExitCode": str(n)} for n in range(6)]

    problems = _input_rule_problems(_broken(example_plan, JOB_DEFINITION, change))
    assert len(problems) == 1 and "at most 5 conditions" in problems[0]


def test_retry_attempts_and_a_timeout_batch_refuses_are_rejected(example_plan):
    def change(inputs):
        inputs["retryStrategy"]["attempts"] = 11.0
        inputs["timeout"]["attemptDurationSeconds"] = 30.0

    problems = _input_rule_problems(_broken(example_plan, JOB_DEFINITION, change))
    assert [p.split(":")[0] for p in problems] == [
        f"{_of_type(example_plan, JOB_DEFINITION)[0].name}.retryStrategy.attempts",
        f"{_of_type(example_plan, JOB_DEFINITION)[0].name}.timeout.attemptDurationSeconds",
    ]


@pytest.mark.parametrize("size", [20, 201, 40.5, "100"])
def test_an_ephemeral_storage_size_batch_refuses_is_rejected(example_plan, size):
    # botocore's model types sizeInGiB as a bare integer; Batch takes 21-200 GiB, on Fargate only.
    edit = _edit_json("containerProperties", lambda v: v.update(ephemeralStorage={"sizeInGiB": size}))
    problems = _input_rule_problems(_broken(example_plan, JOB_DEFINITION, edit))
    assert len(problems) == 1 and f"containerProperties.ephemeralStorage.sizeInGiB: {size!r} is not" in problems[0]


def test_ephemeral_storage_on_a_job_definition_not_for_fargate_is_rejected(example_plan):
    def change(inputs):
        _edit_json("containerProperties", lambda v: v.update(ephemeralStorage={"sizeInGiB": 50}))(inputs)
        inputs["platformCapabilities"] = ["EC2"]

    problems = _input_rule_problems(_broken(example_plan, JOB_DEFINITION, change))
    assert len(problems) == 1 and "containerProperties.ephemeralStorage" in problems[0] and "FARGATE" in problems[0]


@pytest.mark.parametrize(
    ("type_token", "key", "value"),
    [
        (JOB_DEFINITION, "name", "elastio.primary.backup"),
        ("aws:batch/jobQueue:JobQueue", "name", "-elastio-primary"),
        ("aws:batch/computeEnvironment:ComputeEnvironment", "name", "e" * 129),
        ("aws:ecs/cluster:Cluster", "name", "elastio primary"),
        (TASK_DEFINITION, "family", "elastio/primary"),
        ("aws:kms/alias:Alias", "name", "alias/aws/elastio"),
        ("aws:kms/alias:Alias", "name", "elastio-primary"),
        ("aws:s3/bucket:Bucket", "bucket", "Elastio-Primary-111122223333"),
        ("aws:s3/bucket:Bucket", "bucket", "elastio-" + "p" * 60),
        ("aws:dynamodb/table:Table", "name", "ab"),
        (FUNCTION, "name", "elastio-" + "f" * 60),
        (QUEUE, "name", "elastio-commands.fifo.x"),
    ],
)
def test_a_name_aws_refuses_is_rejected(example_plan, type_token, key, value):
    problems = _input_rule_problems(_broken(example_plan, type_token, lambda i: i.update({key: value})))
    assert len(problems) == 1 and f".{key}: {value!r} is not" in problems[0]


def test_an_object_lock_configuration_not_ordered_after_versioning_is_rejected(example_plan):
    broken = copy.deepcopy(example_plan)
    lock = _of_type(broken, api.OBJECT_LOCK_CONFIGURATION)[0]
    lock.property_dependencies["bucket"] = [
        urn for urn in lock.property_dependencies["bucket"] if "bucketVersioning" not in urn
    ]
    problems = _object_lock_ordering_problems(broken)
    assert len(problems) == 1 and "not ordered after the bucket's enabled versioning" in problems[0]


@pytest.mark.parametrize(
    ("status_reason", "reason", "exit_code", "action"),
    [
        # Fargate Spot reclaims the task (Amazon ECS Developer Guide, Fargate Spot interruption event).
        ("Your Spot Task was interrupted.", "", "137", "RETRY"),
        ("Host EC2 (instance i-0123456789abcdef0) terminated.", "", "", "RETRY"),
        # The engine failed on its own: a retry would fail the same way.
        ("Essential container in task exited", "Essential container in task exited", "1", "EXIT"),
        ("Task failed to start", "CannotPullContainerError: pull access denied", "", "EXIT"),
    ],
)
def test_job_retries_only_when_fargate_takes_the_task_away(example_plan, status_reason, reason, exit_code, action):
    for job in _of_type(example_plan, JOB_DEFINITION):
        conditions = _retry_conditions(job.inputs)
        assert api.batch_retry_action(conditions, status_reason, reason, exit_code) == action, job.name

"""The connector's policy documents as plain Python: parliament-clean identity policies, least privilege,
resource policies with no unconditioned wildcard principal."""

from __future__ import annotations

import pytest

from elastio_pulumi import connector_documents as docs
from elastio_pulumi import iam_documents, naming
from tests.iam_requests import Request, is_allowed
from tests.parliament_known import (
    findings,
    parliament,  # noqa: F401 - installs parliament's pkg_resources stand-in
    raw_issues,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
TENANT = f"arn:aws:iam::{ACCOUNT}:role/ElastioTenant"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def vault(name: str) -> docs.VaultRefs:
    prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:"
    return docs.VaultRefs(
        name=name,
        bucket_arn=f"arn:aws:s3:::elastio-{name}-{ACCOUNT}-{REGION}",
        key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}-key",
        index_table_arn=prefix.format("dynamodb") + f"table/elastio-{name}-index",
        job_queue_arn=prefix.format("batch") + f"job-queue/elastio-{name}",
        job_definition_arns=tuple(
            prefix.format("batch") + f"job-definition/elastio-{name}-{kind}:1"
            for kind in ("backup", "compact", "restore", "scan")
        ),
        cluster_arn=prefix.format("ecs") + f"cluster/elastio-{name}",
        server_task_definition_arn=prefix.format("ecs") + f"task-definition/elastio-{name}-server:1",
        task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/ElastioVault-{name}-euw1-task",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/ElastioVault-{name}-euw1-exec",
    )


SCOPE = docs.ConnectorScope(
    region=REGION,
    account_id=ACCOUNT,
    key_arn=KEY,
    tenant_role_arn=TENANT,
    tracing=True,
    vaults=(vault("primary"), vault("archive")),
)
# Write or destructive actions that must never name every resource.
WRITE_VERBS = (
    "Put",
    "Update",
    "Delete",
    "Submit",
    "Terminate",
    "Run",
    "Stop",
    "Pass",
    "Send",
    "Invoke",
    "Create",
    "Publish",
)
READ_ONLY_STAR = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # X-Ray has no resource scoping


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


def allowed(document: dict) -> list[tuple[str, str]]:
    return [
        (action, resource)
        for s in document["Statement"]
        if s["Effect"] == "Allow"
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    ]


@pytest.mark.parametrize("service", naming.FUNCTIONS)
def test_function_role_policy_has_no_parliament_findings(service):
    assert findings(f"function-{service}", docs.function_role_policy(SCOPE, service)) == []


def test_parliament_reports_a_function_statement_naming_the_wrong_resource_type():
    wrong = iam_documents.document(iam_documents.statement("Wrong", ("sqs:SendMessage",), [SCOPE.table_arn("jobs")]))
    assert "RESOURCE_MISMATCH" in raw_issues(wrong)


@pytest.mark.parametrize("service", naming.FUNCTIONS)
def test_function_role_grants_no_write_action_on_every_resource(service):
    for action, resource in allowed(docs.function_role_policy(SCOPE, service)):
        verb = action.split(":")[1]
        if resource == "*" and action not in READ_ONLY_STAR:
            assert not verb.startswith(WRITE_VERBS), f"{service}: {action} on *"


@pytest.mark.parametrize("service", naming.FUNCTIONS)
def test_function_role_never_uses_wildcard_actions(service):
    for action, _ in allowed(docs.function_role_policy(SCOPE, service)):
        assert "*" not in action


def test_only_the_router_consumes_the_command_queue():
    commands = SCOPE.queue_arn("commands")
    consumers = {
        service
        for service in naming.FUNCTIONS
        if ("sqs:ReceiveMessage", commands) in allowed(docs.function_role_policy(SCOPE, service))
    }
    assert consumers == {naming.ROUTER}


def test_router_invokes_exactly_the_six_services():
    invoked = {
        r for a, r in allowed(docs.function_role_policy(SCOPE, naming.ROUTER)) if a == "lambda:InvokeFunction"
    }
    assert invoked == {SCOPE.function_arn(s) for s in naming.SERVICES}


def test_batch_jobs_are_submitted_only_to_the_vaults_queues_and_definitions():
    submit_targets = {
        r for a, r in allowed(docs.function_role_policy(SCOPE, "background_jobs")) if a == "batch:SubmitJob"
    }
    definitions = {d.rsplit(":", 1)[0] for v in SCOPE.vaults for d in v.job_definition_arns}
    expected = {v.job_queue_arn for v in SCOPE.vaults} | definitions | {f"{d}:*" for d in definitions}
    assert submit_targets == expected | {f"arn:aws:batch:{REGION}:{ACCOUNT}:job/*"}


def tagging_statements(service: str) -> list[dict]:
    return [
        s for s in docs.function_role_policy(SCOPE, service)["Statement"] if "ec2:CreateTags" in as_list(s["Action"])
    ]


def test_background_jobs_may_only_add_the_elastio_resource_tag_to_this_regions_snapshots():
    (statement,) = tagging_statements("background_jobs")
    assert statement["Action"] == ["ec2:CreateTags"]
    assert statement["Resource"] == [f"arn:aws:ec2:{REGION}::snapshot/*"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:RequestTag/elastio:resource": "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["elastio:resource"]},
    }


def test_no_other_function_may_tag_anything():
    taggers = {service for service in naming.FUNCTIONS if tagging_statements(service)}
    assert taggers == {"background_jobs"}


def test_provisioner_passes_vault_roles_only_to_ecs_tasks():
    policy = docs.function_role_policy(SCOPE, "provisioner")
    passing = [s for s in policy["Statement"] if "iam:PassRole" in as_list(s["Action"])]
    assert len(passing) == 1
    assert passing[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert set(passing[0]["Resource"]) == {
        arn for v in SCOPE.vaults for arn in (v.task_role_arn, v.execution_role_arn)
    }


def test_provisioner_runs_server_tasks_only_in_the_vault_clusters():
    policy = docs.function_role_policy(SCOPE, "provisioner")
    run = next(s for s in policy["Statement"] if "ecs:RunTask" in as_list(s["Action"]))
    assert run["Condition"]["ArnEquals"]["ecs:cluster"] == [v.cluster_arn for v in SCOPE.vaults]


def test_stop_task_is_scoped_to_each_vault_cluster_tasks():
    policy = docs.function_role_policy(SCOPE, "provisioner")
    stop = {r for a, r in allowed(policy) if a == "ecs:StopTask"}
    assert stop == {f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/elastio-{v}/*" for v in ("primary", "archive")}


def test_services_send_failed_async_invocations_to_the_failed_invocations_queue_but_the_router_does_not():
    failed = SCOPE.queue_arn("failed-invocations")
    for service in naming.FUNCTIONS:
        grants = ("sqs:SendMessage", failed) in allowed(docs.function_role_policy(SCOPE, service))
        assert grants == (service != naming.ROUTER), service


def test_tracing_permission_appears_only_when_tracing_is_on():
    untraced = docs.ConnectorScope(region=REGION, account_id=ACCOUNT, key_arn=KEY, tenant_role_arn=TENANT)
    assert any(a.startswith("xray:") for a, _ in allowed(docs.function_role_policy(SCOPE, "catalog")))
    assert not any(a.startswith("xray:") for a, _ in allowed(docs.function_role_policy(untraced, "catalog")))


def test_each_function_writes_only_its_own_log_group():
    for service in naming.FUNCTIONS:
        logs = {r for a, r in allowed(docs.function_role_policy(SCOPE, service)) if a == "logs:PutLogEvents"}
        assert logs == {
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
            f"/aws/lambda/{naming.function_name(naming.DEFAULT_NAME_PREFIX, service)}:*"
        }


def test_unknown_function_is_rejected_with_the_known_names():
    with pytest.raises(ValueError, match="router"):
        docs.function_role_policy(SCOPE, "billing")


def test_function_roles_without_vaults_still_produce_valid_documents():
    bare = docs.ConnectorScope(region=REGION, account_id=ACCOUNT, key_arn=KEY, tenant_role_arn=TENANT)
    for service in naming.FUNCTIONS:
        assert all(s["Resource"] for s in docs.function_role_policy(bare, service)["Statement"])


def test_lambda_trust_is_limited_to_lambda_in_this_account():
    statement = docs.lambda_trust_policy(SCOPE)["Statement"][0]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


# --- resource policies --------------------------------------------------------------------------------

RESOURCE_POLICIES = {
    "command queue": docs.command_queue_policy(SCOPE),
    "tenant events queue": docs.tenant_events_queue_policy(SCOPE),
    "command dlq": docs.tls_only_queue_policy(SCOPE, "commands-dlq"),
    "failed invocations": docs.tls_only_queue_policy(SCOPE, "failed-invocations"),
    "connector key": docs.connector_key_policy(SCOPE),
    "alerts topic": docs.alerts_topic_policy(SCOPE),
}


def is_wildcard(principal) -> bool:
    return principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))


@pytest.mark.parametrize("name", sorted(RESOURCE_POLICIES))
def test_resource_policy_has_no_wildcard_principal_without_a_condition(name):
    for statement in RESOURCE_POLICIES[name]["Statement"]:
        if is_wildcard(statement["Principal"]):
            assert statement.get("Condition"), f"{name}: {statement.get('Sid')}"


@pytest.mark.parametrize("name", [n for n in RESOURCE_POLICIES if n not in ("connector key",)])
def test_queue_and_topic_policies_deny_insecure_transport(name):
    denies = [s for s in RESOURCE_POLICIES[name]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def _sends(principal: str, identity: list[dict]) -> bool:
    request = Request(principal, "sqs:SendMessage", SCOPE.queue_arn("commands"))
    return is_allowed(request, identity, resource_policy=docs.command_queue_policy(SCOPE))


PEOPLE = iam_documents.managed_policies(iam_documents.AccountScope(ACCOUNT, (REGION,), naming.IamNaming()))


@pytest.mark.parametrize("policy", sorted(PEOPLE))
def test_a_person_holding_a_managed_policy_may_send_commands(policy):
    # Each of the six policies grants sending (and the admins redriving, which sends back to the queue); the
    # queue's deny must not make those grants dead.
    assert _sends(f"arn:aws:iam::{ACCOUNT}:user/alice", [PEOPLE[policy]])


def test_the_tenant_role_may_send_commands():
    tenant_access = iam_documents.tenant_access_policy(
        iam_documents.AccountScope(ACCOUNT, (REGION,), naming.IamNaming())
    )
    assert _sends(TENANT, [tenant_access])


def test_no_principal_of_another_account_may_send_commands_even_when_its_policies_allow_everything():
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert not _sends("arn:aws:iam::999988887777:role/Admin", [everything])


def test_a_principal_of_this_account_without_a_grant_may_not_send_commands():
    assert not _sends(f"arn:aws:iam::{ACCOUNT}:role/SomeApp", [])


def test_dead_letter_queue_accepts_redrives_only_from_the_command_and_tenant_events_queues():
    assert docs.dlq_redrive_allow_policy(SCOPE) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [SCOPE.queue_arn("commands"), SCOPE.queue_arn("tenant-events")],
    }


def test_redrive_policy_points_at_the_command_dlq():
    policy = docs.redrive_policy(SCOPE, 5)
    assert policy["deadLetterTargetArn"].endswith(":elastio-commands-dlq") and policy["maxReceiveCount"] == 5


def test_tenant_uses_the_connector_key_only_through_sqs_of_its_region():
    key = docs.connector_key_policy(SCOPE)
    tenant = next(s for s in key["Statement"] if s["Principal"] == {"AWS": TENANT})
    assert tenant["Condition"] == {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}}
    assert set(tenant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_cloudwatch_may_publish_to_the_alerts_topic_only_for_this_account_alarms():
    topic = docs.alerts_topic_policy(SCOPE)
    cloudwatch = next(
        s for s in topic["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    )
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert (
        cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]
        == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"
    )


# --- event patterns -------------------------------------------------------------------------------------


def test_batch_state_pattern_matches_only_our_job_queues():
    queues = [v.job_queue_arn for v in SCOPE.vaults]
    pattern = docs.batch_job_state_pattern(queues)
    assert pattern["detail"]["jobQueue"] == sorted(queues)
    assert pattern["detail-type"] == ["Batch Job State Change"]


def test_inventory_pattern_covers_instances_volumes_and_snapshots():
    assert set(docs.inventory_event_pattern()["detail-type"]) == set(docs.INVENTORY_DETAIL_TYPES)

"""The positive table: every request the stack's code and AWS services on its behalf make, which AWS must allow.

Where the rows come from:
- the handlers' and the engine's own calls: the call tables of tests/components/test_function_permissions.py
  and test_engine_permissions.py (kept equal to the boto3 calls in lambdas/ and engine/ by a source scan, so a
  new call lands here when it lands in the code), addressed at the planned resources of each region and vault;
- the condition keys each request carries: what the code sends (tags, the task's cluster, the service a role
  is passed to), the resource's planned tags, filtered by the Service Authorization Reference;
- what services do with the caller's credentials: KMS for encrypted queues, topics and buckets, the EBS
  direct APIs and CreateVolume with a key, Lambda's logs, tracing, queue polling and failure destinations;
- the installer's routine-update calls that issue 11 names, and people's commands and redrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from elastio_pulumi import naming
from elastio_pulumi.config import image_in_region
from elastio_pulumi.constants import LOCAL_BACKUP_TAG_KEY, RESOURCE_TAG_KEY, RESOURCE_TAG_VALUE
from elastio_pulumi.vault_documents import INTEGRITY_REPORTS_PREFIX, ecr_repository_arn
from engine.restore import restore_tags
from engine.vaultconfig import secret_context
from lambdas.background_jobs.snapshots import ENGINE_READABLE_TAG
from lambdas.shared.jobs import job_tags as submitted_job_tags
from tests.components.test_engine_permissions import calls as engine_calls
from tests.components.test_function_permissions import calls as function_calls
from tests.iam.evaluator import Principal, Request, default_key_policy
from tests.iam.service_reference import actions_matching
from tests.iam.stack import StackIam, aws_managed_ebs_key_policy
from tests.parliament_known import SPLIT_STATEMENTS

ECS_TASKS = "ecs-tasks.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"


def job_tags(vault: str, deployment: str) -> dict[str, str]:
    """The tags lambdas/shared/jobs.py submit_job puts on a vault's Batch job (and so the job carries); the
    deployment is the ELASTIO_DEPLOYMENT the connector gives its functions (its name prefix)."""
    return submitted_job_tags("0f1e2d3c-aaaa-bbbb-cccc-000011112222", vault, deployment)


# What the EBS direct APIs and CreateVolume do with the snapshot's key through EC2 (issue 11; EBS User Guide,
# "Use encryption with EBS direct APIs", https://docs.aws.amazon.com/ebs/latest/userguide/ebsapis-using-encryption.html).
EBS_KEY_ACTIONS = (
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
)


@dataclass(frozen=True)
class Row:
    who: str
    principal: Principal
    request: Request
    why: str
    confirms: str = ""  # the accepted parliament finding (tests/parliament_known.py) whose reason this row shows

    def __str__(self) -> str:
        keys = ", ".join(
            f"{k}={v}" for k, v in sorted(self.request.context.items()) if not k.startswith("aws:Principal")
        )
        return f"{self.who}: {self.request.action} on {self.request.resource} [{keys}] ({self.why})"


def _tag_keys(tags: dict[str, str], prefix: str) -> dict[str, object]:
    return {f"aws:{prefix}/{k}": v for k, v in tags.items()}


def _request_tags(tags: dict[str, str]) -> dict[str, object]:
    return _tag_keys(tags, "RequestTag") | {"aws:TagKeys": tuple(tags)}


def inherent_keys(action: str, resource: str) -> dict[str, object]:
    """Keys every request of this action on this resource carries, whoever sends it."""
    if action.startswith("ecs:") and ":task/" in resource:  # a task ARN names its cluster
        head, _, rest = resource.partition(":task/")
        return {"ecs:cluster": f"{head}:cluster/{rest.split('/', 1)[0]}"}
    return {}


# --- the requests' condition keys -------------------------------------------------------------------------


def sse_kms_headers(key_arn: str) -> dict[str, object]:
    """What PutObject sends when the code names the vault key (engine/packs.py, integrity_checks/handler.py)."""
    return {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}


def function_request_keys(scope, function: str, action: str, resource: str) -> dict[str, object]:
    """Condition keys a handler's call carries beyond the resource's own tags (read off lambdas/)."""
    if action == "s3:PutObject":
        (vault,) = [v for v in scope.vaults if resource.startswith(f"{v.bucket_arn}/")]
        return sse_kms_headers(vault.key_arn)
    if action == "iam:PassRole":  # RunTask hands the server task definition's roles to ECS tasks
        return {"iam:PassedToService": ECS_TASKS}
    if action == "ecs:RunTask":
        (vault,) = [v for v in scope.vaults if v.server_task_definition_arn == resource]
        return {"ecs:cluster": vault.cluster_arn}
    if action in ("ecs:StopTask", "ecs:DescribeTasks"):
        return inherent_keys(action, resource)
    if action == "ec2:CreateTags":  # background_jobs/snapshots.py tags the customer's snapshot for the engine
        tag = {ENGINE_READABLE_TAG["Key"]: ENGINE_READABLE_TAG["Value"]}
        return _request_tags(tag)
    if action in ("batch:SubmitJob", "batch:TagResource", "batch:TerminateJob", "batch:CancelJob"):
        tags = job_tags(scope.vaults[0].name, scope.name_prefix) if scope.vaults else {}
        if action.startswith("batch:Terminate") or action.startswith("batch:Cancel"):
            return _tag_keys(tags, "ResourceTag")
        return _request_tags(tags) if ":job/" in resource else {}
    return {}


def encryption_context_keys(context: dict[str, str]) -> dict[str, object]:
    """What a KMS request with this encryption context carries: one kms:EncryptionContext:<key> per pair and
    the list of keys (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html)."""
    return {f"kms:EncryptionContext:{k}": v for k, v in context.items()} | {"kms:EncryptionContextKeys": tuple(context)}


def bucket_name(bucket_arn: str) -> str:
    return bucket_arn.split(":::", 1)[1]


def engine_request_keys(scope, action: str, resource: str) -> dict[str, object]:
    """Condition keys an engine call carries (read off engine/restore.py, engine/vaultconfig.py and the
    snapshot it reads)."""
    # The tags a restore puts on its snapshot and volume, with the deployment its job definition gives it.
    written = restore_tags(scope.vault_name, "rp-1", scope.name_prefix)
    readable = {ENGINE_READABLE_TAG["Key"]: ENGINE_READABLE_TAG["Value"]}  # set by Background jobs
    if action == "s3:PutObject":
        return sse_kms_headers(scope.key_arn)
    if action in ("kms:GenerateDataKey", "kms:Decrypt"):  # the vault secret, the only direct use of the key
        return encryption_context_keys(secret_context(bucket_name(scope.bucket_arn)))
    if action == "ebs:StartSnapshot":
        return _request_tags(written)
    if action in ("ebs:PutSnapshotBlock", "ebs:CompleteSnapshot"):
        return _tag_keys(written, "ResourceTag")
    if action.startswith("ebs:"):
        return _tag_keys(readable, "ResourceTag")
    if action == "ec2:CreateVolume":  # one request: its volume tags, and the restored snapshot's own tags
        keys = _request_tags(written)
        return keys if ":volume/" in resource else keys | _tag_keys(written, "ResourceTag")
    if action == "ec2:CreateTags":
        return _request_tags(written) | {"ec2:CreateAction": "CreateVolume"}
    return {}


# --- what services do with the caller's credentials ---------------------------------------------------------


def on_behalf(stack: StackIam, region: str, action: str, resource: str) -> Iterator[tuple[str, str, dict, str]]:
    """(action, key ARN, keys, why) of the KMS requests a service makes as the caller for this call."""
    key = stack.encryption_key(resource)
    if key is None:
        return
    service, _ = action.split(":", 1)
    via = {"kms:ViaService": f"{service}.{region}.amazonaws.com"}
    uses = {
        ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
        ("sqs", "ReceiveMessage"): ("kms:Decrypt",),
        ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
        ("s3", "PutObject"): ("kms:GenerateDataKey",),
        ("s3", "GetObject"): ("kms:Decrypt",),
    }.get((service, action.split(":", 1)[1]), ())
    for kms_action in uses:
        yield kms_action, key, via, f"{service} uses the key for {action}"


def ebs_key_use(stack: StackIam, region: str, key: str, why: str) -> Iterator[tuple[str, str, dict, str]]:
    via = {"kms:ViaService": f"ec2.{region}.amazonaws.com"}
    for kms_action in EBS_KEY_ACTIONS:
        keys = via | ({"kms:GrantIsForAWSResource": "true"} if kms_action == "kms:CreateGrant" else {})
        yield kms_action, key, keys, why


# --- the rows ----------------------------------------------------------------------------------------------


def function_rows(stack: StackIam) -> Iterator[Row]:
    for region in stack.regions:
        scope = stack.connector_scope(region)
        table = function_calls(scope)
        for function in naming.FUNCTIONS:
            role = stack.function_role(region, function)
            who = f"{function}@{region}"

            def row(action, resource, keys, why, role=role, who=who):
                return Row(who, role, stack.request(action, resource, keys), why)

            for action, resources in table[function].items():
                for resource in resources:
                    yield row(action, resource, function_request_keys(scope, function, action, resource), "its code")
                    for kms_action, key, keys, why in on_behalf(stack, region, action, resource):
                        yield row(kms_action, key, keys, why)
            log_group = stack.function_log_group(region, function)
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                yield row(action, f"{log_group}:log-stream:2026/12/02/[$LATEST]0123", {}, "Lambda writes its logs")
            if stack.plan.config.options.tracing:
                for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
                    yield row(action, "*", {}, "active tracing")
            for source in stack.polled_queues(region, function):
                for action, resource in _polling_requests(source):
                    yield row(action, resource, {}, "Lambda polls the event source as the function")
                    for kms_action, key, keys, why in on_behalf(stack, region, action, resource):
                        yield row(kms_action, key, keys, why)
            for destination in stack.failure_destinations(region, function):
                yield row("sqs:SendMessage", destination, {}, "Lambda sends failed invocations as the function")
                for kms_action, key, keys, why in on_behalf(stack, region, "sqs:SendMessage", destination):
                    yield row(kms_action, key, keys, why)


def _polling_requests(source_arn: str) -> list[tuple[str, str]]:
    """What an event source mapping calls as the function's role: an SQS queue, or a DynamoDB stream
    (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Execution role permissions")."""
    if ":dynamodb:" in source_arn:
        return [
            *(
                (action, source_arn)
                for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
            ),
            ("dynamodb:ListStreams", "*"),
        ]
    return [
        (action, source_arn)
        for action in (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        )
    ]


def vault_rows(stack: StackIam) -> Iterator[Row]:
    for region in stack.regions:
        for vault in stack.vaults(region):
            scope = stack.vault_scope(vault)
            task = stack.vault_task_role(vault)
            who = f"vault {scope.vault_name}@{region} task"

            def row(action, resource, keys, why, principal=task, who=who):
                return Row(who, principal, stack.request(action, resource, keys), why)

            for action, resources in engine_calls(scope).items():
                for resource in resources:
                    yield row(action, resource, engine_request_keys(scope, action, resource), "engine code")
                    for kms_action, key, keys, why in on_behalf(stack, region, action, resource):
                        yield row(kms_action, key, keys, why)
            # Restore writes a snapshot encrypted with the vault key and creates a volume from it; backup reads
            # source snapshots encrypted with the account's aws/ebs key or a key of the customer's.
            for kms_action, key, keys, why in ebs_key_use(
                stack, region, scope.key_arn, "restore: EBS with the vault key"
            ):
                yield row(kms_action, key, keys, why)
            for key in stack.customer_ebs_keys(region):
                for kms_action, k, keys, why in ebs_key_use(
                    stack, region, key, "backup: reading an encrypted source snapshot"
                ):
                    yield row(kms_action, k, keys, why)
            execution = stack.vault_execution_role(vault)
            options = stack.plan.config.options
            for image in (options.worker_image, options.server_image):
                repository = ecr_repository_arn(image_in_region(image, region))
                if repository is None:  # a public registry: no IAM
                    continue
                pulls = [("ecr:GetAuthorizationToken", "*")] + [
                    (a, repository)
                    for a in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
                ]
                for action, resource in pulls:
                    yield row(
                        action,
                        resource,
                        {},
                        "ECS pulls the task's image",
                        principal=execution,
                        who=f"vault {scope.vault_name}@{region} execution",
                    )
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                yield row(
                    action,
                    f"{scope.log_group_arn}:log-stream:engine/default/0123",
                    {},
                    "ECS writes the task's logs",
                    principal=execution,
                    who=f"vault {scope.vault_name}@{region} execution",
                )


def installer_rows(stack: StackIam) -> Iterator[Row]:
    """The routine updates of issue 11 that `pulumi up` makes as the installer after the first deploy."""
    installer = stack.role(naming.installer_role_name(stack.plan.config.iam.naming(stack.plan.config.name_prefix)))
    for region in stack.regions:
        scope = stack.connector_scope(region)

        def row(action, resource, keys=None, why="routine update", who=f"installer@{region}"):
            return Row(who, installer, stack.request(action, resource, keys), why)

        for vault in scope.vaults:
            yield row(
                "ecs:DeregisterTaskDefinition",
                vault.server_task_definition_arn,
                why="a task definition revision is replaced",
            )
        for group in stack.security_groups(region):
            yield row("ec2:AuthorizeSecurityGroupIngress", group, why="a security group rule changes")
        subscription = f"{scope.topic_arn()}:0f1e2d3c-aaaa-bbbb-cccc-000011112222"
        yield row("sns:GetSubscriptionAttributes", subscription, why="refresh of an alert e-mail subscription")
        yield row("sns:Unsubscribe", subscription, why="an alert e-mail is removed")
        yield row(
            "kms:CreateGrant",
            scope.key_arn,
            {"kms:ViaService": f"dynamodb.{region}.amazonaws.com", "kms:GrantIsForAWSResource": "true"},
            why="a table encrypted with the connector key is updated",
        )
        yield row("lambda:UpdateFunctionCode", scope.function_arn("catalog"), why="a new function version")
        yield row(
            "iam:PassRole",
            stack.function_role(region, "catalog").role_arn,
            {"iam:PassedToService": LAMBDA},
            why="a function's configuration is updated",
        )
        yield row(
            "iam:PutRolePolicy",
            stack.function_role(region, "catalog").role_arn,
            {"iam:PermissionsBoundary": stack.boundary_arn},
            why="a function role's policy changes",
        )
        # README, "What the installer can and cannot do after the first deploy": the left column.
        function_role = stack.function_role(region, "catalog").role_arn
        yield row(
            "iam:CreateRole",
            function_role,
            {"iam:PermissionsBoundary": stack.boundary_arn},
            why="a function role is replaced, with the boundary",
        )
        yield row("iam:TagRole", function_role, why="tags change")
        for key in (scope.key_arn, *(v.key_arn for v in scope.vaults)):
            yield row(
                "kms:PutKeyPolicy", key, {"kms:BypassPolicyLockoutSafetyCheck": "false"}, why="a key policy is updated"
            )
        yield row("lambda:UpdateFunctionConfiguration", scope.function_arn("catalog"), why="environment changes")
        yield row("sqs:SetQueueAttributes", scope.queue_arn(naming.COMMANDS_QUEUE), why="a queue setting changes")
        for vault in scope.vaults:
            yield row("batch:UpdateJobQueue", vault.job_queue_arn, why="a job queue changes")
            yield row("ecs:RegisterTaskDefinition", vault.server_task_definition_arn, why="a new server image")


def people_rows(stack: StackIam) -> Iterator[Row]:
    """Commands and redrive by someone holding a managed policy that grants them: the queues must agree."""
    for base in stack.plan.outputs["managedPolicyArns"]:
        person = stack.person(base)
        grants = {a for s in person.policies[0]["Statement"] if s["Effect"] == "Allow" for a in _as_list(s["Action"])}
        for region in stack.regions:
            scope = stack.connector_scope(region)
            commands, dlq = scope.queue_arn(naming.COMMANDS_QUEUE), scope.queue_arn(naming.COMMANDS_DLQ)
            wanted: list[tuple[str, str]] = []
            if "sqs:SendMessage" in grants:
                wanted.append(("sqs:SendMessage", commands))
            if "sqs:StartMessageMoveTask" in grants:  # SQS Developer Guide, "configure a dead-letter queue redrive"
                wanted += [
                    (a, dlq)
                    for a in (
                        "sqs:StartMessageMoveTask",
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    )
                ] + [("sqs:SendMessage", commands)]
            for action, queue in dict.fromkeys(wanted):
                yield Row(f"{base}@{region}", person, stack.request(action, queue), "a person's command or redrive")
                for kms_action, key, keys, why in on_behalf(stack, region, action, queue):
                    yield Row(f"{base}@{region}", person, stack.request(kms_action, key, keys), why)


def tenant_rows(stack: StackIam) -> Iterator[Row]:
    """The tenant's control plane: commands in, events out, job results read (docs/CONTRACT.md)."""
    tenant = stack.roles[stack.plan.outputs["tenantRoleArn"]]
    for region in stack.regions:
        scope = stack.connector_scope(region)
        events = scope.queue_arn(naming.TENANT_EVENTS_QUEUE)
        wanted = (
            [("sqs:SendMessage", scope.queue_arn(naming.COMMANDS_QUEUE))]
            + [(a, events) for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")]
            + [("dynamodb:GetItem", scope.table_arn(t)) for t in ("jobs", "recovery-points")]
        )
        for action, resource in wanted:
            yield Row(f"tenant@{region}", tenant, stack.request(action, resource), "the tenant's control plane")
            for kms_action, key, keys, why in on_behalf(stack, region, action, resource):
                yield Row(f"tenant@{region}", tenant, stack.request(kms_action, key, keys), why)


# Someone the customer trusts broadly (an administrator, the break-glass role): IAM lets them do anything.
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def purpose_rows(stack: StackIam) -> Iterator[Row]:
    """What each managed policy is for (its description), done by someone who holds it."""
    region = stack.regions[0]
    scope = stack.connector_scope(region)
    vault = scope.vaults[0]
    via_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    opted_in = {LOCAL_BACKUP_TAG_KEY: RESOURCE_TAG_VALUE}
    elastio = {RESOURCE_TAG_KEY: RESOURCE_TAG_VALUE}
    restored_tags = _tag_keys(restore_tags(vault.name, "rp-1", stack.name_prefix), "ResourceTag")
    volume = f"arn:aws:ec2:{region}:{stack.account}:volume/vol-0optedin000000000"
    snapshot = f"arn:aws:ec2:{region}::snapshot/snap-0new0000000000000"
    instance = f"arn:aws:ec2:{region}:{stack.account}:instance/i-0customer00000000"
    restored = f"arn:aws:ec2:{region}:{stack.account}:volume/vol-0restored0000000"
    report = f"{vault.bucket_arn}/{INTEGRITY_REPORTS_PREFIX}2026-12-02T00-00-00Z.json"
    wanted = {
        "ElastioLocalBackup": [
            ("ec2:CreateSnapshot", volume, _tag_keys(opted_in, "ResourceTag") | _request_tags(elastio)),
            ("ec2:CreateSnapshot", snapshot, _request_tags(elastio)),
            ("ec2:CreateTags", snapshot, _request_tags(elastio) | {"ec2:CreateAction": "CreateSnapshot"}),
        ],
        "ElastioMountAndRestore": [
            # A volume the engine restored (engine/restore.py tags it for its own deployment).
            ("ec2:AttachVolume", restored, restored_tags),
            ("ec2:AttachVolume", instance, {}),
        ],
        "ElastioFullAdmin": [("s3:GetObject", report, {}), ("kms:Decrypt", vault.key_arn, via_s3)],
    }
    # EC2 uses a snapshot's key as the caller: local backups read snapshots encrypted with the customer's keys,
    # restores write snapshots encrypted with the vault key.
    for base, key in (
        ("ElastioLocalBackup", stack.customer_ebs_keys(region)[0]),
        ("ElastioMountAndRestore", vault.key_arn),
    ):
        wanted[base] += [(a, key, keys) for a, _, keys, _ in ebs_key_use(stack, region, key, "")]
    for base, requests in wanted.items():
        person = stack.person(base)
        for action, resource, keys in requests:
            yield Row(
                f"{base}@{region}",
                person,
                stack.request(action, resource, keys),
                "what the policy is for",
                confirms=SPLIT_STATEMENTS if action.startswith("ec2:") else "",
            )


def break_glass_rows(stack: StackIam) -> Iterator[Row]:
    """The configured break-glass role reads every vault's packs and manifests (to restore by hand)."""
    arn = stack.plan.config.iam.break_glass_role_arn
    if not arn:
        return
    role = Principal(arn, (ADMINISTRATOR,))
    for region in stack.regions:
        for vault in stack.connector_scope(region).vaults:
            for key in ("packs/0001.pack", "manifests/vol-1/rp-1.json"):
                yield Row(
                    f"break-glass@{region}",
                    role,
                    stack.request("s3:GetObject", f"{vault.bucket_arn}/{key}"),
                    "restore by hand",
                )
            yield Row(
                f"break-glass@{region}",
                role,
                stack.request("kms:Decrypt", vault.key_arn, {"kms:ViaService": f"s3.{region}.amazonaws.com"}),
                "s3 decrypts the objects it reads",
            )


def allowed_rows(stack: StackIam) -> list[Row]:
    stack.outside_keys.update(outside_keys(stack))
    return [
        *function_rows(stack),
        *vault_rows(stack),
        *installer_rows(stack),
        *tenant_rows(stack),
        *people_rows(stack),
        *purpose_rows(stack),
        *break_glass_rows(stack),
    ]


# --- witnesses for dead-grant checks --------------------------------------------------------------------


def _concrete(pattern: str, stack: StackIam) -> str:
    """An ARN the pattern matches: wildcards in the region field become a configured region, others 'x'."""
    if pattern == "*":
        return "*"
    fields = pattern.split(":", 5)
    if len(fields) > 3 and fields[3] in ("*", "?"):
        fields[3] = stack.regions[0]
    return ":".join(fields).replace("*", "x").replace("?", "x")


def _satisfying(condition: dict, stack: StackIam) -> dict[str, object]:
    """Condition keys under which the condition holds (negated operators: the key left out)."""
    keys: dict[str, object] = {}
    for operator, entries in condition.items():
        qualifier, _, name = operator.rpartition(":")
        for key, values in entries.items():
            first = _concrete(str(_as_list(values)[0]), stack)
            if name.startswith("Null"):
                if str(_as_list(values)[0]).lower() == "false":
                    keys[key] = "x"
            elif "Not" in name:
                continue
            else:
                keys[key] = (first,) if qualifier else first
    return keys


def witness(stack: StackIam, statement: dict) -> Iterator[Request]:
    """One request per action and resource pattern of an Allow statement, with keys that satisfy it."""
    if "NotAction" in statement or "NotResource" in statement:
        raise ValueError(
            f"{statement.get('Sid', '?')}: an Allow with NotAction/NotResource grants more than a "
            "witness can show; name the actions and resources"
        )
    keys = _satisfying(statement.get("Condition", {}), stack)
    actions = [a for pattern in _as_list(statement.get("Action", [])) for a in actions_matching(pattern)]
    for action in actions:
        for pattern in _as_list(statement.get("Resource", "*")):
            resource = _concrete(pattern, stack)
            yield stack.request(action, resource, inherent_keys(action, resource) | keys)


def outside_keys(stack: StackIam) -> dict[str, dict]:
    keys = {}
    for region in stack.regions:
        customer, managed = stack.customer_ebs_keys(region)
        keys[customer] = default_key_policy(stack.account)
        keys[managed] = aws_managed_ebs_key_policy(stack.account, region)
    return keys


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)

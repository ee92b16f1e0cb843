"""CloudConnector: the regional stack of the reference document, one per configured region.

Reads top to bottom like the design: the connector key and tables (what the vaults and functions use), the
command channel queues, the vault tasks' shared security group and the region's vaults (children; the
function roles are scoped to their ARNs), the dependency layer, the router and six service functions with
one role each, the EventBridge rules, the alerts topic with its alarms, and the endpoints for vault tasks in
an isolated VPC. Policy documents come from
components.connector_documents (pure); this module only wires them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from elastio_contract import environment as env
from elastio_contract import tables as contract_tables
from elastio_pulumi import connector_documents as docs
from elastio_pulumi import naming, networking, packaging, retained
from elastio_pulumi.args import (
    ConnectorOptions,
    IamArgs,
    NetworkArgs,
    Problems,
    VaultSpec,
    iam_name_problems,
    region_problems,
)
from elastio_pulumi.tags import deployment_tags
from elastio_pulumi.vault import Vault, VaultArgs

# Lambda recommends a visibility timeout of at least six times the consumer's timeout.
ROUTER_TIMEOUT_SECONDS = 30
SERVICE_TIMEOUT_SECONDS = 120
COMMAND_VISIBILITY_SECONDS = 6 * ROUTER_TIMEOUT_SECONDS
COMMAND_MAX_RECEIVES = 5
EVENT_MAX_RECEIVES = 10  # the tenant polls from outside; allow more retries before parking an event
ROUTER_MAX_CONCURRENCY = 5  # the event source mapping's cap (2 is Lambda's minimum)
RETENTION_14_DAYS = 14 * 24 * 3600
OUTBOX_BATCH_SIZE = 100

# Router keys of ELASTIO_FUNCTIONS (lambdas/shared/config.py) for each service.
ROUTED_KEYS = {
    service: naming.pascal(service)[0].lower() + naming.pascal(service)[1:] for service in naming.SERVICES
}
MEMORY_MB = {naming.ROUTER: 256}


@dataclass(frozen=True)
class CloudConnectorArgs:
    region: str
    network: NetworkArgs
    """The region's VPC and subnets for the vault tasks (ids, or Outputs of your own resources)."""
    vaults: Sequence[VaultSpec]
    """1 to 4 vaults, each a child Vault of the connector."""
    account_id: Input[str]
    tenant_role_arn: Input[str]
    """Account bootstrap's ElastioTenant: sends commands and receives events (the queue and key policies name it)."""
    permissions_boundary_arn: Input[str]
    """Attached to every role the connector and its vaults create."""
    code: packaging.LambdaZip
    """The functions' code zip (elastio_pulumi.packaging.function_code)."""
    layer_code: packaging.LambdaZip
    """The dependency layer's zip (elastio_pulumi.packaging.ensure_layer)."""
    iam: IamArgs = IamArgs()
    options: ConnectorOptions = ConnectorOptions()
    tags: Mapping[str, str] = field(default_factory=dict)
    """Already merged (elastio_pulumi.tags.merged_tags)."""
    name_prefix: str = naming.DEFAULT_NAME_PREFIX
    """The deployment's name prefix (elastio:namePrefix): every name the connector and its vaults create starts
    with it, so connectors with different prefixes share an account and region."""

    def __post_init__(self):
        object.__setattr__(self, "vaults", tuple(self.vaults))
        problems = Problems("CloudConnectorArgs")
        for problem in naming.name_prefix_arg_problems(self.name_prefix):
            problems.add(problem)
        region_problems(problems, self.region, self.network, self.vaults, self.options)
        if not problems.found:
            # The connector's function roles and its vaults' roles (the vaults' own Args check theirs again, for
            # a program that builds a Vault alone).
            iam = self.iam.naming(self.name_prefix)
            names = naming.connector_iam_names(iam, self.region)
            for vault in self.vaults:
                names += naming.vault_iam_names(iam, vault.name, self.region)
            iam_name_problems(problems, names)
        problems.raise_any()


class CloudConnector(pulumi.ComponentResource):
    command_queue_url: Output[str]
    command_queue_arn: Output[str]
    events_queue_url: Output[str]
    events_queue_arn: Output[str]
    vault_names: list[str]
    vaults: dict[str, Vault]

    def __init__(self, name: str, args: CloudConnectorArgs, opts: ResourceOptions | None = None):
        super().__init__("elastio:connector:CloudConnector", name, None, opts)
        child = ResourceOptions(parent=self)
        # Backups must survive `pulumi destroy` and renames: data-bearing resources are retained, not deleted
        # (and adopted again by name with options.adoptRetained, src/elastio_pulumi/retained.py).
        keep = functools.partial(retained.keep, self, args.options.adopt_retained)
        region = args.region
        prefix = args.name_prefix
        tags = deployment_tags(args.tags, prefix)

        # --- key and tables --------------------------------------------------------------------------
        alias_name = naming.connector_key_alias_name(prefix)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Elastio Cloud Connector {region}: tables, queues and alerts",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=Output.all(args.account_id, args.tenant_role_arn).apply(
                lambda v: _json(docs.connector_key_policy(_base_scope(region, v[0], "*", v[1], prefix)))
            ),
            tags=tags,
            opts=keep(
                lambda: retained.key_id_by_alias(self, alias_name), retained.KEY_INPUTS_STALE_AFTER_DESTROY
            ),
        )
        # Key ids are random: the alias is how the key kept after `pulumi destroy` is found again.
        aws.kms.Alias(f"{name}-key-alias", name=alias_name, target_key_id=key.key_id, opts=keep(alias_name))
        tables = {
            table: self._table(
                name, naming.table_name(prefix, table), table, key.arn, tags, keep(naming.table_name(prefix, table))
            )
            for table in naming.TABLES
        }

        # --- command channel -------------------------------------------------------------------------
        base = Output.all(args.account_id, key.arn, args.tenant_role_arn).apply(
            lambda v: _base_scope(region, v[0], v[1], v[2], prefix)
        )
        queue = functools.partial(self._queue, name, prefix, key, tags)
        dead_letter = queue(
            naming.COMMANDS_DLQ,
            policy=base.apply(lambda s: docs.tls_only_queue_policy(s, naming.COMMANDS_DLQ)),
            redrive_allow_policy=base.apply(lambda s: _json(docs.dlq_redrive_allow_policy(s))),
        )
        commands = queue(
            naming.COMMANDS_QUEUE,
            policy=base.apply(docs.command_queue_policy),
            visibility_timeout_seconds=COMMAND_VISIBILITY_SECONDS,
            redrive_policy=_redrive(base, dead_letter, COMMAND_MAX_RECEIVES),
        )
        failed = queue(
            naming.FAILED_INVOCATIONS_QUEUE,
            policy=base.apply(lambda s: docs.tls_only_queue_policy(s, naming.FAILED_INVOCATIONS_QUEUE)),
        )
        # Events the tenant fails to process repeatedly are kept in the same dead-letter queue, not lost.
        events = queue(
            naming.TENANT_EVENTS_QUEUE,
            policy=base.apply(docs.tenant_events_queue_policy),
            redrive_policy=_redrive(base, dead_letter, EVENT_MAX_RECEIVES),
        )

        # --- vaults (before the functions: their roles are scoped to the vaults' ARNs) ------------------
        # One security group for every vault's tasks: no inbound rules and HTTPS out, the same for each vault,
        # so sharing it widens nothing (and it is the one source the interface endpoints admit).
        vault_tasks = aws.ec2.SecurityGroup(
            f"{name}-vault-tasks",
            name=naming.vault_tasks_security_group_name(prefix),
            description="Elastio vault tasks: no inbound; HTTPS out to AWS APIs only",
            vpc_id=args.network.vpc_id,
            egress=networking.vault_task_egress(args.network),
            tags=tags,
            opts=child,
        )
        catalog = naming.function_name(prefix, "catalog")
        catalog_arn = Output.from_input(args.account_id).apply(
            lambda account: naming.arn("lambda", region, account, f"function:{catalog}")
        )
        self.vaults = {}
        for vault_spec in args.vaults:
            vault = Vault(
                f"{name}-{vault_spec.name}",
                VaultArgs(
                    vault=vault_spec,
                    region=region,
                    network=args.network,
                    options=args.options,
                    iam=args.iam,
                    account_id=args.account_id,
                    permissions_boundary_arn=args.permissions_boundary_arn,
                    jobs_table_name=tables[naming.JOBS_TABLE].name,
                    jobs_table_arn=tables[naming.JOBS_TABLE].arn,
                    recovery_points_table_name=tables[naming.RECOVERY_POINTS_TABLE].name,
                    recovery_points_table_arn=tables[naming.RECOVERY_POINTS_TABLE].arn,
                    connector_key_arn=key.arn,
                    catalog_function_name=catalog,
                    catalog_function_arn=catalog_arn,
                    security_group_id=vault_tasks.id,
                    tags=tags,
                    name_prefix=prefix,
                ),
                opts=child,
            )
            self.vaults[vault_spec.name] = vault
            aws.dynamodb.TableItem(
                f"{name}-{vault_spec.name}-record",
                table_name=tables[naming.VAULTS_TABLE].name,
                hash_key="vaultName",
                item=vault.outputs.apply(lambda v: _json(v.record().to_dynamodb())),
                opts=child,
            )
        scope = Output.all(base=base, vaults=Output.all(*[v.outputs for v in self.vaults.values()])).apply(
            lambda v: _with_vaults(v["base"], args.options.tracing, [vault.refs() for vault in v["vaults"]])
        )

        # --- functions ---------------------------------------------------------------------------------
        alerts = aws.sns.Topic(
            f"{name}-alerts",
            name=naming.topic_name(prefix, "alerts"),
            kms_master_key_id=key.arn,
            policy=base.apply(lambda s: _json(docs.alerts_topic_policy(s))),
            tags=tags,
            opts=child,
        )
        layer = aws.lambda_.LayerVersion(
            f"{name}-dependencies",
            layer_name=naming.layer_name(prefix),
            description="Dependencies of the Elastio connector functions (wheels for Lambda's platform)",
            code=args.layer_code.archive(),
            # The zip's base64 SHA-256 (what Lambda reports as the version's CodeSha256): changing it publishes
            # a new layer version (pulumi-aws `lambda.LayerVersion` docs, `source_code_hash`).
            source_code_hash=args.layer_code.code_sha256,
            compatible_runtimes=[packaging.RUNTIME],
            compatible_architectures=[packaging.ARCHITECTURE],
            opts=child,
        )
        environment = {
            **{env.TABLE_VARIABLES[table]: tables[table].name for table in naming.TABLES},
            env.TENANT_EVENTS_QUEUE_URL: events.url,
            env.ALERTS_TOPIC_ARN: alerts.arn,
            env.DEPLOYMENT: prefix,  # the elastio:deployment tag of the Batch jobs the functions submit
        }
        functions: dict[str, aws.lambda_.Function] = {}
        for service in naming.SERVICES:
            functions[service] = self._function(name, service, args, scope, layer, environment, failed)
        router_environment = {
            **environment,
            env.FUNCTIONS: json.dumps(
                {ROUTED_KEYS[s]: naming.function_name(prefix, s) for s in naming.SERVICES}, sort_keys=True
            ),
        }
        router = self._function(name, naming.ROUTER, args, scope, layer, router_environment, None)
        aws.lambda_.EventSourceMapping(
            f"{name}-router-commands",
            event_source_arn=commands.arn,
            function_name=router.arn,
            batch_size=10,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": ROUTER_MAX_CONCURRENCY},
            tags=tags,
            opts=child,
        )
        # The outbox (lambdas/shared/outbox.py): tenant events and alerts are committed to the commands table
        # with the state they announce, and Job status sends each new one from the table's stream. Lambda's
        # reads of a DynamoDB stream are free and an idle stream costs nothing, so the idle floor does not
        # move (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html).
        # Retries go on until the record ages out of the stream (24 hours); what still fails is recorded on the
        # failed-invocations queue, whose alarm tells the operators.
        aws.lambda_.EventSourceMapping(
            f"{name}-tenant-outbox",
            event_source_arn=tables[naming.COMMANDS_TABLE].stream_arn,
            function_name=functions["job_status"].arn,
            starting_position="TRIM_HORIZON",
            batch_size=OUTBOX_BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            maximum_retry_attempts=-1,
            filter_criteria={"filters": [{"pattern": json.dumps(docs.outbox_stream_filter())}]},
            destination_config={"on_failure": {"destination_arn": failed.arn}},
            tags=tags,
            opts=child,
        )

        # --- events ------------------------------------------------------------------------------------
        self._rule(
            name,
            prefix,
            "inventory-changes",
            "EC2 instance, EBS volume and EBS snapshot changes to Inventory",
            Output.from_input(docs.inventory_event_pattern()),
            functions["inventory"],
            tags,
        )
        job_queues = Output.all(*[v.job_queue_arn for v in self.vaults.values()])
        self._rule(
            name,
            prefix,
            "batch-job-state",
            "Batch job state changes of the vaults' job queues to Job status",
            job_queues.apply(lambda arns: docs.batch_job_state_pattern(list(arns))),
            functions["job_status"],
            tags,
        )

        # --- alerts ------------------------------------------------------------------------------------
        for index, email in enumerate(args.options.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-alerts-email-{index}", topic=alerts.arn, protocol="email", endpoint=email, opts=child
            )
        for purpose, queue, what in (
            (naming.COMMANDS_DLQ, dead_letter, "commands the router (or events the tenant) could not process"),
            (naming.FAILED_INVOCATIONS_QUEUE, failed, "service invocations that failed after retries"),
        ):
            aws.cloudwatch.MetricAlarm(
                f"{name}-{purpose}-alarm",
                name=naming.alarm_name(prefix, f"{purpose}-{region}"),
                alarm_description=f"Elastio {region}: {what} are waiting in {naming.queue_name(prefix, purpose)}",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue.name},
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[alerts.arn],
                tags=tags,
                opts=child,
            )

        # --- network for vault tasks -------------------------------------------------------------------
        networking.create_endpoints(name, region, args.network, [vault_tasks.id], tags, self)

        self.command_queue_url = commands.url
        self.command_queue_arn = commands.arn
        self.events_queue_url = events.url
        self.events_queue_arn = events.arn
        self.alerts_topic_arn = alerts.arn
        self.vault_names = [v.name for v in args.vaults]
        self.register_outputs(
            {
                "command_queue_url": self.command_queue_url,
                "command_queue_arn": self.command_queue_arn,
                "events_queue_url": self.events_queue_url,
                "events_queue_arn": self.events_queue_arn,
                "alerts_topic_arn": self.alerts_topic_arn,
                "vault_names": self.vault_names,
            }
        )

    # --- children ----------------------------------------------------------------------------------------

    def _table(
        self, name: str, physical_name: str, table: str, key_arn: Output[str], tags: dict, opts: ResourceOptions
    ):
        # Key schemas and indexes: elastio_contract.tables (docs/CONTRACT.md, "Table keys and indexes").
        key = contract_tables.KEYS[table]
        indexes = contract_tables.INDEXES.get(table, {})
        attributes = [{"name": a, "type": "S"} for a in key.attributes]
        attributes += [{"name": a, "type": "S"} for index in indexes.values() for a in index.attributes]
        extra: dict[str, Any] = {}
        if indexes:
            extra["global_secondary_indexes"] = [
                {"name": index_name, "hash_key": index.hash_key, "range_key": index.range_key, "projection_type": "ALL"}
                for index_name, index in indexes.items()
            ]
        if table == naming.COMMANDS_TABLE:
            extra["ttl"] = {"attribute_name": contract_tables.COMMANDS_TTL_ATTRIBUTE, "enabled": True}
            # New outbox items are sent from this stream (see the outbox event source mapping).
            extra.update(stream_enabled=True, stream_view_type="NEW_IMAGE")
        return aws.dynamodb.Table(
            f"{name}-{table}",
            name=physical_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=key.hash_key,
            range_key=key.range_key,
            attributes=attributes,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": key_arn},
            deletion_protection_enabled=True,
            tags=tags,
            opts=opts,
            **extra,
        )

    def _queue(
        self, name: str, prefix: str, key: aws.kms.Key, tags: dict, purpose: str, *, policy: Output, **extra
    ):
        return aws.sqs.Queue(
            f"{name}-{purpose}",
            name=naming.queue_name(prefix, purpose),
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=3600,  # fewer KMS calls: cost stays per hour, not per message
            message_retention_seconds=RETENTION_14_DAYS,
            policy=policy.apply(_json),
            tags=tags,
            opts=ResourceOptions(parent=self),
            **extra,
        )

    def _function(
        self,
        name: str,
        service: str,
        args: CloudConnectorArgs,
        scope: Output[docs.ConnectorScope],
        layer: aws.lambda_.LayerVersion,
        environment: dict[str, Input[str]],
        failed: aws.sqs.Queue | None,
    ) -> aws.lambda_.Function:
        child = ResourceOptions(parent=self)
        slug = service.replace("_", "-")
        region = args.region
        prefix = args.name_prefix
        role = aws.iam.Role(
            f"{name}-{slug}-role",
            name=naming.function_role_name(args.iam.naming(prefix), service, region),
            description=f"Elastio {naming.function_name(prefix, service)} function in {region}",
            assume_role_policy=scope.apply(lambda s: _json(docs.lambda_trust_policy(s))),
            permissions_boundary=args.permissions_boundary_arn,
            tags=deployment_tags(args.tags, prefix),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-{slug}-policy",
            name="least-privilege",
            role=role.name,
            policy=scope.apply(lambda s: _json(docs.function_role_policy(s, service))),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-{slug}-logs",
            name=naming.function_log_group_name(prefix, service),
            retention_in_days=args.options.log_retention_days,
            tags=deployment_tags(args.tags, prefix),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-{slug}",
            name=naming.function_name(prefix, service),
            description=f"Elastio Cloud Connector: {service.replace('_', ' ')}",
            runtime=packaging.RUNTIME,
            architectures=[packaging.ARCHITECTURE],
            handler=f"lambdas.{service}.handler.handler",
            code=args.code.archive(),
            # What Lambda reports as the function's CodeSha256 (base64 SHA-256 of the zip): the provider
            # updates the code when the deployed function's differs, even after a change made outside Pulumi
            # (pulumi-aws `lambda.Function` docs, `code_sha256`).
            code_sha256=args.code.code_sha256,
            layers=[layer.arn],
            role=role.arn,
            memory_size=MEMORY_MB.get(service, 512),
            timeout=ROUTER_TIMEOUT_SECONDS if service == naming.ROUTER else SERVICE_TIMEOUT_SECONDS,
            environment={"variables": environment},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tracing_config={"mode": "Active" if args.options.tracing else "PassThrough"},
            tags=deployment_tags(args.tags, prefix),
            # The role's policy must exist before the first invocation, not only the role.
            opts=ResourceOptions(parent=self, depends_on=[policy]),
        )
        if failed is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-{slug}-async",
                function_name=function.name,
                maximum_retry_attempts=2,
                destination_config={"on_failure": {"destination": failed.arn}},
                opts=child,
            )
        return function

    def _rule(
        self,
        name: str,
        prefix: str,
        purpose: str,
        description: str,
        pattern: Output[dict],
        target: aws.lambda_.Function,
        tags: dict,
    ) -> None:
        child = ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{name}-{purpose}",
            name=naming.rule_name(prefix, purpose),
            description=description,
            event_pattern=pattern.apply(_json),
            tags=tags,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-{purpose}-invoke",
            action="lambda:InvokeFunction",
            function=target.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(f"{name}-{purpose}-target", rule=rule.name, arn=target.arn, opts=child)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document)


def _redrive(base: Output[docs.ConnectorScope], dead_letter: aws.sqs.Queue, max_receives: int) -> Output[str]:
    # The ARN comes from the fixed name; depending on the queue's output orders creation and shows the link.
    return Output.all(base, dead_letter.arn).apply(lambda v: _json(docs.redrive_policy(v[0], max_receives)))


def _base_scope(
    region: str, account_id: str, key_arn: str, tenant_role_arn: str, name_prefix: str
) -> docs.ConnectorScope:
    return docs.ConnectorScope(
        region=region,
        account_id=account_id,
        key_arn=key_arn,
        tenant_role_arn=tenant_role_arn,
        name_prefix=name_prefix,
    )


def _with_vaults(base: docs.ConnectorScope, tracing: bool, vaults) -> docs.ConnectorScope:
    return docs.ConnectorScope(
        region=base.region,
        account_id=base.account_id,
        key_arn=base.key_arn,
        tenant_role_arn=base.tenant_role_arn,
        tracing=tracing,
        vaults=tuple(vaults),
        name_prefix=base.name_prefix,
    )

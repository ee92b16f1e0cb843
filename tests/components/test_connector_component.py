"""The CloudConnector under mocks, in the example stack: what each region's connector registers and how."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from elastio_contract import environment as env_names
from elastio_contract import tables
from elastio_pulumi import naming, networking, packaging
from elastio_pulumi.args import NetworkArgs
from elastio_pulumi.constants import GATEWAY_SERVICES
from lambdas.shared.config import ROUTED_SERVICES
from plan import Plan, PlannedResource

CONNECTOR = "elastio:connector:CloudConnector"
VAULT = "elastio:vault:Vault"
# The example stack keeps the default name prefix (elastio:namePrefix unset).
PREFIX = naming.DEFAULT_NAME_PREFIX


def connector_of(plan: Plan, region: str) -> PlannedResource:
    return next(r for r in plan.resources if r.type == CONNECTOR and r.region == region)


def children(plan: Plan, parent: PlannedResource, type_suffix: str | None = None) -> list[PlannedResource]:
    return [r for r in plan.children(parent.urn) if type_suffix is None or r.type.endswith(type_suffix)]


def of_type(plan: Plan, type_suffix: str) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type.endswith(type_suffix)]


def expected_connector_children(region_config, emails: int) -> int:
    """The connector's own resources, counted from the design (docs/CONTRACT.md), not from the code."""
    functions = len(naming.FUNCTIONS)
    count = 2 + len(naming.TABLES) + 4  # key and its alias, tables, four queues
    count += 4 * functions  # role, role policy, log group, function
    count += len(naming.SERVICES)  # on-failure destination config of each asynchronously invoked service
    count += 1 + 1 + 1  # dependency layer, router event source mapping, outbox stream event source mapping
    count += 2 * 3  # two EventBridge rules, each with a permission and a target
    count += 1 + emails + 2  # alerts topic, its email subscriptions, two DLQ alarms
    count += 1  # the vault tasks' security group, shared by the region's vaults
    count += 2 * len(region_config.vaults)  # the vault components and their records
    created = networking.interface_services(region_config.network)
    if created:
        count += 1 + len(created)  # the endpoints' security group and endpoints
    if networking.egress_only_to_endpoints(region_config.network):
        # the vault tasks' egress rules: to the endpoints' group and to each gateway service's prefix list
        count += 1 + len(GATEWAY_SERVICES)
    count += len(networking.gateway_services(region_config.network))  # free, whenever route tables are given
    return count


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_connector_registers_the_designed_resources_per_region(example_plan, region):
    config = next(r for r in example_plan.config.regions if r.region == region)
    connector = connector_of(example_plan, region)
    emails = len(example_plan.config.options.alert_emails)
    assert len(children(example_plan, connector)) == expected_connector_children(config, emails)


def test_each_configured_vault_is_a_child_of_its_region_connector(example_plan):
    for region in example_plan.config.regions:
        connector = connector_of(example_plan, region.region)
        vaults = children(example_plan, connector, VAULT)
        assert sorted(v.name for v in vaults) == sorted(f"{connector.name}-{v.name}" for v in region.vaults)


def test_connector_tables_are_on_demand_with_pitr_and_the_connector_key(example_plan):
    connector = connector_of(example_plan, "us-east-1")
    tables = children(example_plan, connector, "dynamodb/table:Table")
    assert sorted(t.inputs["name"] for t in tables) == sorted(naming.table_name(PREFIX, t) for t in naming.TABLES)
    key = children(example_plan, connector, "kms/key:Key")[0]
    for table in tables:
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
        assert table.inputs["serverSideEncryption"]["enabled"] is True
        assert key.urn in table.property_dependencies["serverSideEncryption"]


def test_recovery_points_table_has_the_by_vault_index_and_commands_table_a_ttl(example_plan):
    tables = {t.inputs["name"]: t for t in of_type(example_plan, "dynamodb/table:Table")}
    points = tables["elastio-recovery-points"].inputs
    assert (points["hashKey"], points["rangeKey"]) == ("assetId", "recoveryPointId")
    [index] = points["globalSecondaryIndexes"]
    assert (index["name"], index["hashKey"], index["rangeKey"]) == ("byVault", "vaultName", "createdAt")
    assert tables["elastio-commands"].inputs["ttl"] == {"attributeName": "expiration", "enabled": True}


def test_data_bearing_resources_survive_destroy(example_plan):
    data_bearing = [
        r for r in example_plan.resources if r.type.endswith(("table:Table", "key:Key", "bucket:Bucket"))
    ]
    assert data_bearing
    unprotected = [r.name for r in data_bearing if not (r.protect or r.retain_on_delete)]
    assert unprotected == []


def test_every_queue_is_kms_encrypted_and_tls_only(example_plan):
    queues = of_type(example_plan, "sqs/queue:Queue")
    assert len(queues) == 4 * len(example_plan.config.regions)
    for queue in queues:
        assert "kmsMasterKeyId" in queue.property_dependencies
        denies = [s for s in json.loads(queue.inputs["policy"])["Statement"] if s["Effect"] == "Deny"]
        assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), (
            queue.name
        )


def test_tenant_events_are_parked_in_the_dead_letter_queue_not_lost(example_plan):
    for region in example_plan.config.region_names:
        events = named(example_plan, region, "sqs/queue:Queue", "elastio-tenant-events")
        dead_letter = named(example_plan, region, "sqs/queue:Queue", "elastio-commands-dlq")
        assert dead_letter.urn in events.property_dependencies["redrivePolicy"]


def test_command_queue_redrives_to_its_dead_letter_queue(example_plan):
    for region in example_plan.config.region_names:
        queues = {q.inputs["name"]: q for q in of_type(example_plan, "sqs/queue:Queue") if q.region == region}
        redrive = json.loads(queues["elastio-commands"].inputs["redrivePolicy"])
        assert redrive["deadLetterTargetArn"] == f"arn:aws:sqs:{region}:111122223333:elastio-commands-dlq"
        assert redrive["maxReceiveCount"] >= 1
        # Lambda needs the visibility timeout to be at least six times the router's timeout.
        assert queues["elastio-commands"].inputs["visibilityTimeoutSeconds"] >= 6 * 30


def named(plan: Plan, region: str, type_suffix: str, name: str) -> PlannedResource:
    return next(r for r in of_type(plan, type_suffix) if r.region == region and r.inputs.get("name") == name)


def test_router_consumes_commands_with_partial_batch_failures_and_capped_concurrency(example_plan):
    mappings = of_type(example_plan, "lambda/eventSourceMapping:EventSourceMapping")
    for mapping in [m for m in mappings if ":sqs:" in m.inputs["eventSourceArn"]]:
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 2 <= mapping.inputs["scalingConfig"]["maximumConcurrency"] <= 1000
        commands = named(example_plan, mapping.region, "sqs/queue:Queue", "elastio-commands")
        router = named(example_plan, mapping.region, "function:Function", "elastio-router")
        assert mapping.property_dependencies["eventSourceArn"] == [commands.urn]
        assert mapping.property_dependencies["functionName"] == [router.urn]


def test_job_status_sends_the_outbox_from_the_commands_table_stream_until_it_succeeds(example_plan):
    """Every region's new outbox items (and nothing else of the commands table) reach Job status, which
    reports per-record failures so sent messages are not resent; failures retry until the record ages out."""
    mappings = [m for m in of_type(example_plan, "lambda/eventSourceMapping:EventSourceMapping")
                if ":dynamodb:" in m.inputs["eventSourceArn"]]
    assert {m.region for m in mappings} == {r.region for r in example_plan.config.regions}
    for mapping in mappings:
        commands = named(example_plan, mapping.region, "dynamodb/table:Table", "elastio-commands")
        job_status = named(example_plan, mapping.region, "function:Function", "elastio-job-status")
        assert (commands.inputs["streamEnabled"], commands.inputs["streamViewType"]) == (True, "NEW_IMAGE")
        assert mapping.property_dependencies["eventSourceArn"] == [commands.urn]
        assert mapping.property_dependencies["functionName"] == [job_status.urn]
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping.inputs["maximumRetryAttempts"] == -1
        (pattern,) = [json.loads(f["pattern"]) for f in mapping.inputs["filterCriteria"]["filters"]]
        assert pattern["eventName"] == ["INSERT"]
        assert pattern["dynamodb"]["NewImage"]["kind"] == {"S": ["event", "alert"]}


def functions(plan: Plan, region: str) -> dict[str, PlannedResource]:
    return {f.inputs["name"]: f for f in of_type(plan, "lambda/function:Function") if f.region == region}


def test_functions_run_outside_the_vpc_on_python_312_x86_with_the_layer(example_plan):
    for function in of_type(example_plan, "lambda/function:Function"):
        inputs = function.inputs
        assert inputs["runtime"] == packaging.RUNTIME == "python3.12"
        assert inputs["architectures"] == ["x86_64"]
        assert "vpcConfig" not in inputs
        assert "layers" in function.property_dependencies
        assert inputs["loggingConfig"]["logGroup"] == f"/aws/lambda/{inputs['name']}"


def test_each_function_handler_names_a_lambdas_service_folder(example_plan):
    for name, function in functions(example_plan, "us-east-1").items():
        module = function.inputs["handler"].rsplit(".", 1)[0]
        service = module.split(".")[1]
        assert module == f"lambdas.{service}.handler" and name == naming.function_name(PREFIX, service)
        assert (packaging.LAMBDAS_DIR / service).is_dir(), service


def test_function_log_groups_have_the_configured_retention(example_plan):
    days = example_plan.config.options.log_retention_days
    groups = [
        g for g in of_type(example_plan, "logGroup:LogGroup") if g.inputs["name"].startswith("/aws/lambda/")
    ]
    assert len(groups) == len(naming.FUNCTIONS) * len(example_plan.config.regions)
    assert {g.inputs["retentionInDays"] for g in groups} == {days}


def test_functions_carry_the_contract_environment(example_plan):
    contract = {
        env_names.TABLE_VARIABLES[tables.VAULTS],
        env_names.TABLE_VARIABLES[tables.RECOVERY_POINTS],
        env_names.TABLE_VARIABLES[tables.JOBS],
        env_names.TABLE_VARIABLES[tables.ASSETS],
        env_names.TABLE_VARIABLES[tables.COMMANDS],
        env_names.TENANT_EVENTS_QUEUE_URL,
        env_names.ALERTS_TOPIC_ARN,
        env_names.DEPLOYMENT,
    }
    for name, function in functions(example_plan, "eu-west-1").items():
        variables = function.inputs["environment"]["variables"]
        expected = contract | (
            {env_names.FUNCTIONS} if name == naming.function_name(PREFIX, naming.ROUTER) else set()
        )
        assert set(variables) == expected, name
        assert len(json.dumps(variables)) < 4096


def test_router_knows_each_service_under_the_key_the_router_code_reads(example_plan):
    router = functions(example_plan, "us-east-1")[naming.function_name(PREFIX, naming.ROUTER)]
    routed = json.loads(router.inputs["environment"]["variables"][env_names.FUNCTIONS])
    assert set(routed) == set(ROUTED_SERVICES)
    assert sorted(routed.values()) == sorted(naming.function_name(PREFIX, s) for s in naming.SERVICES)


def test_asynchronously_invoked_services_send_failures_to_the_failed_invocations_queue(example_plan):
    configs = [
        c
        for c in of_type(example_plan, "functionEventInvokeConfig:FunctionEventInvokeConfig")
        if c.region == "us-east-1"
    ]
    assert len(configs) == len(naming.SERVICES)
    failed = named(example_plan, "us-east-1", "sqs/queue:Queue", "elastio-failed-invocations")
    for config in configs:
        assert config.property_dependencies["destinationConfig"] == [failed.urn]


def test_every_role_carries_the_permissions_boundary(example_plan):
    regional_roles = [
        r for r in of_type(example_plan, "iam/role:Role") if not r.name.startswith("elastio-account")
    ]
    assert len(regional_roles) >= len(naming.FUNCTIONS) * len(example_plan.config.regions)
    assert [r.name for r in regional_roles if "permissionsBoundary" not in r.inputs] == []


def test_function_roles_use_the_names_checked_by_config_validation(example_plan):
    names = {r.inputs["name"] for r in of_type(example_plan, "iam/role:Role")}
    iam = example_plan.config.iam.naming(example_plan.config.name_prefix)
    for region in example_plan.config.region_names:
        for service in naming.FUNCTIONS:
            assert naming.function_role_name(iam, service, region) in names


def test_event_rules_route_ec2_and_ebs_changes_to_inventory_and_our_batch_jobs_to_job_status(example_plan):
    region = "us-east-1"
    connector = connector_of(example_plan, region)
    rules = {
        r.inputs["name"]: json.loads(r.inputs["eventPattern"])
        for r in children(example_plan, connector, "EventRule")
    }
    assert rules["elastio-inventory-changes"]["source"] == ["aws.ec2"]
    vault_queues = {
        r.inputs["name"] for r in of_type(example_plan, "batch/jobQueue:JobQueue") if r.region == region
    }
    queues = rules["elastio-batch-job-state"]["detail"]["jobQueue"]
    assert {arn.rsplit("/", 1)[1] for arn in queues} == vault_queues
    targets = {
        urn
        for t in children(example_plan, connector, "EventTarget")
        for urn in t.property_dependencies["arn"]
    }
    expected = {
        named(example_plan, region, "function:Function", f"elastio-{s}").urn
        for s in ("inventory", "job-status")
    }
    assert targets == expected


def test_alerts_topic_is_encrypted_subscribed_and_alarmed(example_plan):
    connector = connector_of(example_plan, "eu-west-1")
    [topic] = children(example_plan, connector, "sns/topic:Topic")
    assert "kmsMasterKeyId" in topic.property_dependencies
    emails = [s.inputs["endpoint"] for s in children(example_plan, connector, "TopicSubscription")]
    assert emails == example_plan.config.options.alert_emails
    alarms = children(example_plan, connector, "MetricAlarm")
    assert sorted(a.inputs["dimensions"]["QueueName"] for a in alarms) == [
        "elastio-commands-dlq",
        "elastio-failed-invocations",
    ]
    assert all(topic.urn in a.property_dependencies["alarmActions"] for a in alarms)


def test_each_vault_has_one_record_with_the_contract_attributes(example_plan):
    contract = {
        "vaultName",
        "region",
        "bucketName",
        "kmsKeyArn",
        "indexTableName",
        "jobQueueArn",
        "jobDefinitions",
        "clusterArn",
        "serverTaskDefinitionArn",
        "subnetIds",
        "securityGroupId",
        "assignPublicIp",
    }
    items = [json.loads(i.inputs["item"]) for i in of_type(example_plan, "dynamodb/tableItem:TableItem")]
    configured = sorted((r.region, v.name) for r in example_plan.config.regions for v in r.vaults)
    assert sorted((i["region"]["S"], i["vaultName"]["S"]) for i in items) == configured
    for item in items:
        assert set(item) == contract
        assert set(item["jobDefinitions"]["M"]) == {"backup", "restore", "scan", "compact"}


def test_private_link_region_gets_every_needed_endpoint_and_the_public_region_none(example_plan):
    endpoints = Counter()
    for endpoint in of_type(example_plan, "vpcEndpoint:VpcEndpoint"):
        endpoints[endpoint.region] += 1
        assert endpoint.inputs["serviceName"].startswith(f"com.amazonaws.{endpoint.region}.")
    private = next(r for r in example_plan.config.regions if r.region == "us-east-1")
    assert endpoints == {"us-east-1": len(networking.required_service_names("us-east-1", private.network))}
    names = {e.inputs["serviceName"] for e in of_type(example_plan, "vpcEndpoint:VpcEndpoint")}
    assert names == set(networking.required_service_names("us-east-1", private.network))


def vault_tasks_group(plan: Plan, connector: PlannedResource) -> PlannedResource:
    [group] = [g for g in children(plan, connector, "securityGroup:SecurityGroup") if g.name.endswith("-tasks")]
    return group


def test_endpoint_security_group_admits_only_https_from_the_vault_tasks(example_plan):
    connector = connector_of(example_plan, "us-east-1")
    [group] = [
        g for g in children(example_plan, connector, "securityGroup:SecurityGroup") if g.name.endswith("-endpoints")
    ]
    [rule] = group.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (443, 443, "tcp")
    assert "cidrBlocks" not in rule
    assert rule["securityGroups"] == [f"{vault_tasks_group(example_plan, connector).name}-id"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_one_vault_tasks_security_group_per_region_with_no_inbound_and_https_out(example_plan, region):
    # Where HTTPS may go, per network setup: tests/components/test_vault_task_egress.py.
    group = vault_tasks_group(example_plan, connector_of(example_plan, region)).inputs
    assert not group.get("ingress")
    egress = group.get("egress") or []
    assert all((e["protocol"], e["fromPort"], e["toPort"]) == ("tcp", 443, 443) for e in egress)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_every_vault_of_a_region_runs_its_tasks_in_the_shared_security_group(example_plan, region):
    connector = connector_of(example_plan, region)
    group_id = f"{vault_tasks_group(example_plan, connector).name}-id"
    vaults = children(example_plan, connector, VAULT)
    environments = [
        r for v in vaults for r in children(example_plan, v, "computeEnvironment:ComputeEnvironment")
    ]
    assert len(environments) == len(vaults)
    assert all(e.inputs["computeResources"]["securityGroupIds"] == [group_id] for e in environments)
    records = [json.loads(i.inputs["item"]) for i in children(example_plan, connector, "tableItem:TableItem")]
    assert {r["securityGroupId"]["S"] for r in records} == {group_id}


def test_gateway_endpoints_attach_to_the_configured_route_tables(example_plan):
    network = next(r for r in example_plan.config.regions if r.region == "us-east-1").network
    gateways = [
        e
        for e in of_type(example_plan, "vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Gateway"
    ]
    assert {g.inputs["serviceName"].rsplit(".", 1)[1] for g in gateways} == {"s3", "dynamodb"}
    assert all(g.inputs["routeTableIds"] == network.route_table_ids for g in gateways)


def test_every_function_runs_on_a_platform_its_layer_is_built_for(example_plan):
    # The layer's wheels are compiled (pydantic-core): a function on another runtime or architecture than the
    # layer's fails to import them. Read from the graph, function against layer, not against the constants.
    layers = {r.urn: r for r in of_type(example_plan, "layerVersion:LayerVersion")}
    for function in of_type(example_plan, "function:Function"):
        (layer_urn,) = function.property_dependencies["layers"]
        layer = layers[layer_urn]
        assert function.inputs["runtime"] in layer.inputs["compatibleRuntimes"], function.name
        assert set(function.inputs["architectures"]) <= set(layer.inputs["compatibleArchitectures"]), function.name
    # ... and the wheels pip fetches are for that platform.
    (architecture,) = {a for layer in layers.values() for a in layer.inputs["compatibleArchitectures"]}
    assert packaging.PIP_PLATFORM.endswith(architecture)


def test_route_tables_without_private_link_get_only_the_free_gateway_endpoints():
    network = NetworkArgs(
        vpc_id="vpc-0a1b2c3d4e5f60718",
        subnet_ids=["subnet-0a1b2c3d4e5f60001"],
        route_table_ids=["rtb-0a1b2c3d"],
    )
    assert networking.required_service_names("eu-west-2", network) == [
        "com.amazonaws.eu-west-2.s3",
        "com.amazonaws.eu-west-2.dynamodb",
    ]


def test_public_subnets_without_route_tables_need_no_endpoints():
    network = NetworkArgs(vpc_id="vpc-0a1b2c3d", subnet_ids=["subnet-0a1b2c3d"], assign_public_ip=True)
    assert networking.required_service_names("eu-west-2", network) == []

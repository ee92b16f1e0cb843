"""The IAM of a planned stack, read from the planned graph (plan/ under mocks), never rebuilt by hand.

Roles with their inline and attached policies and their boundary, the resource policies of keys, buckets,
queues and topics, and every resource's tags, all addressed by the ARNs the program's own documents name.
From the same graph come the connector and vault scopes the call tables (tests/components/
test_function_permissions.py, test_engine_permissions.py) take, so the requests address planned resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

from elastio_pulumi import connector_documents, naming, vault_documents
from plan import Plan, PlannedResource
from plan.fake_cloud import FakeCloud
from tests.iam.evaluator import Decision, Principal, Request, decide, default_key_policy
from tests.iam.service_reference import request_context

# A customer-supplied boundary is the customer's document, not in the graph. The tables assume the widest
# one (Allow everything): the positive table then checks our grants and resource policies alone, and the
# negative table shows the guarantees hold without any help from the customer's boundary.
CUSTOMER_BOUNDARY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "CustomerAllowsEverything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def aws_managed_ebs_key_policy(account: str, region: str) -> dict:
    """The policy AWS gives the aws/ebs key: any principal of the account, through EC2 in its region.
    https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key (view a key policy)"""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAccessThroughEBS",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"ec2.{region}.amazonaws.com"}
                },
            },
            {
                "Sid": "AllowDirectAccessToKeyMetadata",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }


@dataclass(eq=False)  # hashable by identity: the tables cache their rows per stack
class StackIam:
    plan: Plan
    generated_id_prefix: str = ""  # as the plan was made with (plan.fake_cloud.FakeCloud)
    account: str = field(init=False)
    name_prefix: str = field(init=False)
    # KMS keys that are not in the graph (the customer's), with their key policies.
    outside_keys: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.account = self.plan.outputs["accountId"]
        self.name_prefix = self.plan.config.name_prefix  # elastio:namePrefix: the regional names' start
        self._fake = FakeCloud(self.account, self.generated_id_prefix)

    # --- reading the graph ---------------------------------------------------------------------------

    def arn(self, resource: PlannedResource) -> str:
        return self._fake.planned_arn(resource.type, resource.name, resource.inputs, resource.region or "us-east-1")

    def of_type(self, *types: str) -> Iterator[PlannedResource]:
        return (r for r in self.plan.resources if r.type in types)

    @cached_property
    def managed_policies(self) -> dict[str, dict]:
        return {self.arn(p): json.loads(p.inputs["policy"]) for p in self.of_type("aws:iam/policy:Policy")}

    @cached_property
    def boundary_arn(self) -> str:
        return self.plan.outputs["permissionsBoundaryArn"]

    @property
    def customer_boundary(self) -> bool:
        return self.boundary_arn not in self.managed_policies

    def policy_document(self, arn: str) -> dict:
        if arn in self.managed_policies:
            return self.managed_policies[arn]
        if arn == self.boundary_arn:
            return CUSTOMER_BOUNDARY_DOCUMENT
        raise KeyError(f"{arn} is neither planned nor the configured boundary")

    @cached_property
    def roles(self) -> dict[str, Principal]:
        """Role ARN -> the role, with its inline policies, attached managed policies and boundary."""
        inline: dict[str, list[dict]] = {}
        for p in self.of_type("aws:iam/rolePolicy:RolePolicy"):
            inline.setdefault(p.inputs["role"], []).append(json.loads(p.inputs["policy"]))
        for a in self.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            inline.setdefault(a.inputs["role"], []).append(self.policy_document(a.inputs["policyArn"]))
        roles = {}
        for role in self.of_type("aws:iam/role:Role"):
            name = role.inputs["name"]
            boundary = role.inputs.get("permissionsBoundary")
            roles[self.arn(role)] = Principal(
                self.arn(role), tuple(inline.get(name, [])), self.policy_document(boundary) if boundary else None
            )
        return roles

    def role(self, name: str) -> Principal:
        return self.roles[naming.iam_arn(self.account, f"role/{name}")]

    def is_account_role(self, arn: str) -> bool:
        """ElastioInstaller and ElastioTenant (the account stack's roles), as opposed to the roles code runs as."""
        return arn in (self.plan.outputs["installerRoleArn"], self.plan.outputs["tenantRoleArn"])

    def person(self, policy_base_name: str) -> Principal:
        """Someone in the account (a role of the customer's) with one of the six managed policies attached."""
        arn = self.plan.outputs["managedPolicyArns"][policy_base_name]
        return Principal(f"arn:aws:iam::{self.account}:role/Operator{policy_base_name}", (self.managed_policies[arn],))

    @cached_property
    def tags(self) -> dict[str, dict[str, str]]:
        found = {}
        for r in self.plan.resources:
            if r.custom and isinstance(r.inputs.get("tags"), dict):
                found[self.arn(r)] = r.inputs["tags"]
        return found

    @cached_property
    def resource_policies(self) -> dict[str, dict]:
        """Resource ARN (key, queue, topic, bucket) -> its policy."""
        found = {}
        for r in self.of_type("aws:kms/key:Key", "aws:sqs/queue:Queue", "aws:sns/topic:Topic"):
            if r.inputs.get("policy"):
                found[self.arn(r)] = json.loads(r.inputs["policy"])
        buckets = {}
        for b in self.of_type("aws:s3/bucket:Bucket"):
            buckets[f"{self.generated_id_prefix}{b.name}-id"] = buckets[b.inputs["bucket"]] = self.arn(b)
        for p in self.of_type("aws:s3/bucketPolicy:BucketPolicy"):
            found[buckets[p.inputs["bucket"]]] = json.loads(p.inputs["policy"])
        queues = {self._fake_queue_url(q): self.arn(q) for q in self.of_type("aws:sqs/queue:Queue")}
        for p in self.of_type("aws:sqs/queuePolicy:QueuePolicy"):
            found[queues.get(p.inputs["queueUrl"], p.inputs["queueUrl"])] = json.loads(p.inputs["policy"])
        for p in self.of_type("aws:sns/topicPolicy:TopicPolicy"):
            found[p.inputs["arn"]] = json.loads(p.inputs["policy"])
        return found

    def _fake_queue_url(self, queue: PlannedResource) -> str:
        return f"https://sqs.{queue.region}.amazonaws.com/{self.account}/{queue.inputs['name']}"

    def policy_of(self, resource: str) -> dict | None:
        """The resource policy AWS consults for a request on this ARN (objects: their bucket's)."""
        if resource.startswith("arn:aws:s3:::"):
            resource = resource.split("/", 1)[0]
        if resource in self.resource_policies:
            return self.resource_policies[resource]
        if resource.startswith("arn:aws:kms:") and ":key/" in resource:  # a key of the customer's
            return self.outside_keys.get(resource) or default_key_policy(self.account)
        return None

    @cached_property
    def _encryption_keys(self) -> dict[str, str]:
        """Queue, topic and bucket ARN -> the KMS key the service encrypts it with."""
        found = {
            self.arn(r): r.inputs["kmsMasterKeyId"]
            for r in self.of_type("aws:sqs/queue:Queue", "aws:sns/topic:Topic")
            if r.inputs.get("kmsMasterKeyId")
        }
        buckets = {f"{self.generated_id_prefix}{b.name}-id": self.arn(b) for b in self.of_type("aws:s3/bucket:Bucket")}
        for config in self.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ):
            default = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
            if default.get("kmsMasterKeyId"):
                found[buckets[config.inputs["bucket"]]] = default["kmsMasterKeyId"]
        return found

    def encryption_key(self, resource: str) -> str | None:
        if resource.startswith("arn:aws:s3:::"):
            resource = resource.split("/", 1)[0]
        return self._encryption_keys.get(resource)

    def customer_ebs_keys(self, region: str) -> tuple[str, str]:
        """A key of the customer's and the account's aws/ebs key (not in the graph) that encrypt snapshots."""
        return (
            naming.arn("kms", region, self.account, "key/0f1e2d3c-cust-omer-0000-000011112222"),
            naming.arn("kms", region, self.account, "key/0f1e2d3c-awse-bs00-0000-000011112222"),
        )

    def function_log_group(self, region: str, function: str) -> str:
        name = naming.function_log_group_name(self.name_prefix, function)
        (group,) = [
            g
            for g in self._children(self.connector(region), "aws:cloudwatch/logGroup:LogGroup")
            if _physical(g) == name
        ]
        return self.arn(group)

    def polled_queues(self, region: str, function: str) -> list[str]:
        name = naming.function_name(self.name_prefix, function)
        return [
            m.inputs["eventSourceArn"]
            for m in self._children(self.connector(region), "aws:lambda/eventSourceMapping:EventSourceMapping")
            if m.inputs["functionName"] in (name, self.connector_scope(region).function_arn(function))
        ]

    def failure_destinations(self, region: str, function: str) -> list[str]:
        name = naming.function_name(self.name_prefix, function)
        configs = self._children(
            self.connector(region), "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
        )
        return [
            c.inputs["destinationConfig"]["onFailure"]["destination"]
            for c in configs
            if c.inputs["functionName"] == name
        ]

    def security_groups(self, region: str) -> list[str]:
        return [self.arn(g) for g in self.of_type("aws:ec2/securityGroup:SecurityGroup") if g.region == region]

    # --- evaluating ------------------------------------------------------------------------------------

    def request(self, action: str, resource: str, keys: Mapping[str, object] | None = None) -> Request:
        """The request as AWS sees it: the caller's keys, the resource's tags and account, filtered to the keys
        the Service Authorization Reference lists for this action and resource type."""
        known: dict[str, object] = {"aws:ResourceAccount": self.account}
        if not resource.startswith("arn:aws:kms:") or resource in self.tags:
            known |= {f"aws:ResourceTag/{k}": v for k, v in self.tags.get(resource, {}).items()}
        if action.startswith("kms:"):
            known["kms:CallerAccount"] = self.account
        if action.startswith("s3:"):
            known["s3:ResourceAccount"] = self.account
        known |= dict(keys or {})
        return Request(action, resource, request_context(action, resource, known))

    def decide(self, principal: Principal, request: Request) -> Decision:
        return decide(principal, request, self.policy_of(request.resource))

    # --- scopes for the call tables ---------------------------------------------------------------

    @cached_property
    def regions(self) -> list[str]:
        return [r.region for r in self.plan.config.regions]

    @cached_property
    def _by_parent(self) -> dict[str | None, list[PlannedResource]]:
        found: dict[str | None, list[PlannedResource]] = {}
        for r in self.plan.resources:
            found.setdefault(r.parent, []).append(r)
        return found

    def _children(self, parent: PlannedResource, typ: str) -> list[PlannedResource]:
        return [r for r in self._by_parent.get(parent.urn, []) if r.type == typ]

    @cached_property
    def _connectors(self) -> dict[str, PlannedResource]:
        return {c.region: c for c in self.of_type("elastio:connector:CloudConnector")}

    def connector(self, region: str) -> PlannedResource:
        return self._connectors[region]

    def vaults(self, region: str) -> list[PlannedResource]:
        return self._children(self.connector(region), "elastio:vault:Vault")

    def vault_name(self, vault: PlannedResource) -> str:
        return vault.name.removeprefix(f"{self.connector(vault.region).name}-")

    def _vault_role(self, vault: PlannedResource, purpose: str) -> str:
        return next(
            self.arn(r) for r in self._children(vault, "aws:iam/role:Role") if r.name.endswith(f"-{purpose}-role")
        )

    def vault_task_role(self, vault: PlannedResource) -> Principal:
        return self.roles[self._vault_role(vault, "task")]

    def vault_execution_role(self, vault: PlannedResource) -> Principal:
        return self.roles[self._vault_role(vault, "exec")]

    def _vault_record(self, vault: PlannedResource) -> dict:
        name = self.vault_name(vault)
        for item in self._children(self.connector(vault.region), "aws:dynamodb/tableItem:TableItem"):
            record = json.loads(item.inputs["item"])
            if record["vaultName"]["S"] == name:
                return record
        raise KeyError(f"no vaults-table record for {name} in {vault.region}")

    def connector_key_arn(self, region: str) -> str:
        key = self._children(self.connector(region), "aws:kms/key:Key")[0]
        return self.arn(key)

    def function_role(self, region: str, function: str) -> Principal:
        name = naming.function_name(self.name_prefix, function)
        (fn,) = [
            f for f in self._children(self.connector(region), "aws:lambda/function:Function") if _physical(f) == name
        ]
        return self.roles[fn.inputs["role"]]

    @cache  # noqa: B019 - one stack object per planned stack, kept for the session anyway
    def connector_scope(self, region: str) -> connector_documents.ConnectorScope:
        refs = []
        for vault in self.vaults(region):
            record = self._vault_record(vault)
            refs.append(
                connector_documents.VaultRefs(
                    name=self.vault_name(vault),
                    bucket_arn=f"arn:aws:s3:::{record['bucketName']['S']}",
                    key_arn=record["kmsKeyArn"]["S"],
                    index_table_arn=naming.arn(
                        "dynamodb", region, self.account, f"table/{record['indexTableName']['S']}"
                    ),
                    job_queue_arn=record["jobQueueArn"]["S"],
                    job_definition_arns=tuple(v["S"] for v in record["jobDefinitions"]["M"].values()),
                    cluster_arn=record["clusterArn"]["S"],
                    server_task_definition_arn=record["serverTaskDefinitionArn"]["S"],
                    task_role_arn=self._vault_role(vault, "task"),
                    execution_role_arn=self._vault_role(vault, "exec"),
                )
            )
        return connector_documents.ConnectorScope(
            region=region,
            account_id=self.account,
            key_arn=self.connector_key_arn(region),
            tenant_role_arn=self.plan.outputs["tenantRoleArn"],
            tracing=self.plan.config.options.tracing,
            vaults=tuple(refs),
            name_prefix=self.name_prefix,
        )

    def vault_scope(self, vault: PlannedResource) -> vault_documents.VaultScope:
        region = vault.region
        connector = self.connector_scope(region)
        record = self._vault_record(vault)
        (logs,) = self._children(vault, "aws:cloudwatch/logGroup:LogGroup")
        return vault_documents.VaultScope(
            vault_name=self.vault_name(vault),
            region=region,
            account_id=self.account,
            bucket_arn=f"arn:aws:s3:::{record['bucketName']['S']}",
            key_arn=record["kmsKeyArn"]["S"],
            index_table_arn=naming.arn("dynamodb", region, self.account, f"table/{record['indexTableName']['S']}"),
            jobs_table_arn=connector.table_arn("jobs"),
            recovery_points_table_arn=connector.table_arn("recovery-points"),
            connector_key_arn=connector.key_arn,
            catalog_function_arn=connector.function_arn("catalog"),
            log_group_arn=self.arn(logs),
            name_prefix=self.name_prefix,
        )


def _physical(resource: PlannedResource) -> str:
    return resource.inputs.get("name") or resource.name

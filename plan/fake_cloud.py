"""Mock resource and invoke results shaped like AWS's, so the program's outputs (ARNs, URLs, ids) look real.

Values are deterministic: the same stack plans to the same graph every time.
"""

from __future__ import annotations

from typing import Any

import pulumi

# pulumi-aws type module -> ARN service name, where they differ.
_ARN_SERVICE = {"cloudwatch": "cloudwatch", "lambda": "lambda", "ec2": "ec2", "batch": "batch"}


# pulumi-aws keeps EventBridge and CloudWatch Logs in its `cloudwatch` module; their ARNs say events/logs.
_ARN_SERVICE_BY_TYPE = {
    "aws:cloudwatch/eventRule:EventRule": "events",
    "aws:cloudwatch/logGroup:LogGroup": "logs",
}

# How AWS writes the resource part of an ARN, where it is not "<kind>/<name>".
_ARN_RESOURCE = {
    "aws:sqs/queue:Queue": "{name}",
    "aws:sns/topic:Topic": "{name}",
    "aws:lambda/function:Function": "function:{name}",
    "aws:lambda/layerVersion:LayerVersion": "layer:{name}:1",
    "aws:cloudwatch/logGroup:LogGroup": "log-group:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarm:{name}",
    "aws:cloudwatch/eventRule:EventRule": "rule/{name}",
    "aws:batch/jobDefinition:JobDefinition": "job-definition/{name}:1",
    "aws:batch/jobQueue:JobQueue": "job-queue/{name}",
    "aws:batch/computeEnvironment:ComputeEnvironment": "compute-environment/{name}",
    "aws:ecs/cluster:Cluster": "cluster/{name}",
    "aws:ecs/taskDefinition:TaskDefinition": "task-definition/{name}:1",
    "aws:dynamodb/table:Table": "table/{name}",
    "aws:ec2/securityGroup:SecurityGroup": "security-group/{name}",
}


class FakeCloud(pulumi.runtime.Mocks):
    ACCOUNT_ID = "111122223333"

    def __init__(self, account_id: str = ACCOUNT_ID, generated_id_prefix: str = ""):
        """generated_id_prefix: starts every id AWS would generate at random (KMS key ids, the ids and ARNs of
        resources without a name): a second deployment planned into the same account gets its own, as it would
        from AWS, instead of the first one's stand-ins."""
        self.account_id = account_id
        self.generated_id_prefix = generated_id_prefix
        self._provider_regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            provider_id = f"{args.name}-provider-id"
            self._provider_regions[provider_id] = inputs.get("region", "us-east-1")
            return provider_id, inputs
        name = _physical_name(self.generated_id_prefix + args.name, inputs)
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        region = inputs.get("region") or self._provider_regions.get(provider_id, "us-east-1")
        arn = self.planned_arn(args.typ, args.name, inputs, region)
        state = {"arn": arn, "id": name, "name": name, **inputs}
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{region}.amazonaws.com/{self.account_id}/{name}"
        if args.typ == "aws:kms/key:Key":
            state["keyId"] = f"{self.generated_id_prefix}{args.name}-key-id"
        if args.typ == "aws:lambda/function:Function":
            state["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = inputs.get("bucket", name)
        if args.typ == "aws:dynamodb/table:Table" and inputs.get("streamEnabled"):
            state["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"  # AWS labels streams by creation time
        return f"{self.generated_id_prefix}{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/offline-plan",
                "userId": "AIDAOFFLINEPLAN",
                "id": self.account_id,
            }
        if args.token == "aws:kms/getAlias:getAlias":
            # Aliases are regional: the same name in two regions points to two keys, so the answer depends on
            # the region of the provider the lookup was made with.
            name = args.args["name"]
            region = self._provider_regions.get((args.provider or "").rsplit("::", 1)[-1], "us-east-1")
            key_id = self.alias_target_key_id(name, region)
            key_arn = f"arn:aws:kms:{region}:{self.account_id}:key/{key_id}"
            return {"name": name, "targetKeyId": key_id, "targetKeyArn": key_arn, "id": key_arn}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if args.token == "aws:ec2/getPrefixList:getPrefixList":
            # AWS's managed prefix list of a gateway service (name com.amazonaws.<region>.<service>).
            name = args.args.get("name", "")
            return {"id": f"pl-{name}", "prefixListId": f"pl-{name}", "name": name, "cidrBlocks": []}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"}
        return {}

    @staticmethod
    def alias_target_key_id(alias_name: str, region: str) -> str:
        """The id of the key `alias_name` points to in `region` (a deterministic stand-in for a random id)."""
        return f"{alias_name.removeprefix('alias/')}-{region}-key-id"

    def planned_arn(self, typ: str, logical_name: str, inputs: dict[str, Any], region: str) -> str:
        """The ARN this fake gives a resource: tests that read the planned graph address resources by it."""
        module = typ.split(":")[1].split("/")[0]
        return self._arn(module, typ, region, _physical_name(self.generated_id_prefix + logical_name, inputs))

    def _arn(self, module: str, typ: str, region: str, name: str) -> str:
        kind = typ.rsplit(":", 1)[-1]
        kind = kind[0].lower() + kind[1:]
        if module == "iam":
            return f"arn:aws:iam::{self.account_id}:{kind}/{name}"
        if module == "s3":
            return f"arn:aws:s3:::{name}"
        service = _ARN_SERVICE_BY_TYPE.get(typ, _ARN_SERVICE.get(module, module))
        resource = _ARN_RESOURCE.get(typ, "{kind}/{name}").format(kind=kind, name=name)
        return f"arn:aws:{service}:{region}:{self.account_id}:{resource}"


def _physical_name(logical: str, inputs: dict[str, Any]) -> str:
    for key in ("name", "bucket", "functionName", "roleName", "family"):
        value = inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return logical

"""Checks of the account setup. Each takes a client and a resource, returns a Check; AWS errors
(missing resource, access denied, unreachable) become a failed check that names the error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


@dataclass(frozen=True)
class Check:
    name: str
    resource: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_check(name: str, resource: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    try:
        passed, detail = probe()
    except ClientError as error:
        info = error.response.get("Error", {})
        return Check(name, resource, False, f"{info.get('Code', 'Error')}: {info.get('Message', '')}".strip())
    except BotoCoreError as error:
        return Check(name, resource, False, f"unreachable: {error}")
    return Check(name, resource, passed, detail)


def table_encrypted(ddb: Any, table_name: str) -> Check:
    def probe() -> tuple[bool, str]:
        table = ddb.describe_table(TableName=table_name)["Table"]
        sse = table.get("SSEDescription", {}).get("Status", "not KMS-encrypted")
        ok = table["TableStatus"] in ("ACTIVE", "UPDATING") and sse in ("ENABLED", "UPDATING")
        return ok, f"status {table['TableStatus']}, encryption {sse}"
    return run_check("table is active and KMS-encrypted", table_name, probe)


def queue_encrypted(sqs: Any, queue_url: str) -> Check:
    def probe() -> tuple[bool, str]:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        if attributes.get("KmsMasterKeyId"):
            return True, f"KMS key {attributes['KmsMasterKeyId']}"
        if attributes.get("SqsManagedSseEnabled") == "true":
            return True, "SQS-managed encryption"
        return False, "queue is reachable but not encrypted"
    return run_check("queue is reachable and encrypted", queue_url, probe)


def topic_encrypted(sns: Any, topic_arn: str) -> Check:
    def probe() -> tuple[bool, str]:
        key = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("KmsMasterKeyId")
        return (True, f"KMS key {key}") if key else (False, "topic is reachable but not encrypted")
    return run_check("alerts topic is reachable and encrypted", topic_arn, probe)


def bucket_encrypted_with(s3: Any, bucket: str, key_arn: str) -> Check:
    def probe() -> tuple[bool, str]:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID", "")
        key_id = key_arn.rsplit("/", 1)[-1]
        ok = algorithm in ("aws:kms", "aws:kms:dsse") and key in (key_arn, key_id)
        return ok, f"default encryption {algorithm} with key {key or 'none'} (vault key {key_arn})"
    return run_check("vault bucket encrypts with the vault key", bucket, probe)


def key_enabled(kms: Any, key_arn: str) -> Check:
    def probe() -> tuple[bool, str]:
        state = kms.describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"]
        rotation = kms.get_key_rotation_status(KeyId=key_arn).get("KeyRotationEnabled", False)
        return state == "Enabled" and rotation, f"key state {state}, rotation {'on' if rotation else 'off'}"
    return run_check("vault key is enabled and rotated", key_arn, probe)


def job_queue_valid(batch: Any, queue_arn: str) -> Check:
    def probe() -> tuple[bool, str]:
        queues = batch.describe_job_queues(jobQueues=[queue_arn])["jobQueues"]
        if not queues:
            return False, "job queue not found"
        queue = queues[0]
        environments = [e["computeEnvironment"] for e in queue.get("computeEnvironmentOrder", [])]
        found = batch.describe_compute_environments(computeEnvironments=environments)["computeEnvironments"] \
            if environments else []
        bad = [f"{e['computeEnvironmentName']} {e.get('state')}/{e.get('status')}" for e in found
               if e.get("state") != "ENABLED" or e.get("status") != "VALID"]
        missing = len(environments) - len(found)
        ok = queue["state"] == "ENABLED" and queue["status"] == "VALID" and found and not bad and not missing
        detail = f"queue {queue['state']}/{queue['status']}, {len(found)} compute environment(s)"
        if bad or missing:
            detail += f"; not usable: {', '.join(bad) or ''}{f' {missing} missing' if missing else ''}"
        return bool(ok), detail
    return run_check("Batch job queue and compute environments are valid", queue_arn, probe)


def job_definitions_active(batch: Any, definitions: dict[str, str]) -> Check:
    def probe() -> tuple[bool, str]:
        found = batch.describe_job_definitions(jobDefinitions=list(definitions.values()))["jobDefinitions"]
        active = {d["jobDefinitionArn"] for d in found if d.get("status") == "ACTIVE"}
        missing = sorted(kind for kind, arn in definitions.items() if arn not in active)
        return not missing, f"inactive or missing: {', '.join(missing)}" if missing else "all active"
    return run_check("Batch job definitions are active", ", ".join(sorted(definitions)), probe)


def cluster_active(ecs: Any, cluster_arn: str) -> Check:
    def probe() -> tuple[bool, str]:
        clusters = ecs.describe_clusters(clusters=[cluster_arn])["clusters"]
        status = clusters[0]["status"] if clusters else "MISSING"
        return status == "ACTIVE", f"cluster {status}"
    return run_check("ScaleZ server cluster is active", cluster_arn, probe)


def build_report(checks: list[Check], region: str, generated_at: str) -> dict[str, Any]:
    failed = [c for c in checks if not c.passed]
    return {
        "generatedAt": generated_at,
        "region": region,
        "passed": not failed,
        "summary": {"checks": len(checks), "failed": len(failed)},
        "checks": [c.as_dict() for c in checks],
    }

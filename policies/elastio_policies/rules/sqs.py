"""SQS queues: encrypted at rest, and every queue that is not itself a dead-letter target has one."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from ..rule import DeferredUnknowns, Graph, Subject, resource_rule, stack_rule
from ..values import InvalidJson, as_bool, dig, is_set, is_unknown, parse_json_object

QUEUE_TYPE = "aws:sqs/queue:Queue"
REDRIVE_POLICY_TYPE = "aws:sqs/redrivePolicy:RedrivePolicy"

# Inputs through which a resource names a queue as the place where failed messages or events end up.
# A queue linked through one of these is a dead-letter target and needs no dead-letter queue of its own.
DEAD_LETTER_LINKS: dict[str, str] = {
    QUEUE_TYPE: "redrivePolicy",
    REDRIVE_POLICY_TYPE: "redrivePolicy",
    "aws:lambda/function:Function": "deadLetterConfig",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "destinationConfig",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "destinationConfig",
    "aws:cloudwatch/eventTarget:EventTarget": "deadLetterConfig",
    "aws:sns/topicSubscription:TopicSubscription": "redrivePolicy",
}


def check_queue_encryption(subject: Subject) -> Iterator[str]:
    if is_set(dig(subject.props, "kmsMasterKeyId")):
        return
    if as_bool(dig(subject.props, "sqsManagedSseEnabled")) is True:
        return
    yield "queue is not encrypted: set kms_master_key_id (SSE-KMS) or sqs_managed_sse_enabled=True"


def _dead_letter_targets(graph: Graph) -> set[str]:
    """URNs of queues that some resource names as its dead-letter or failure destination."""
    targets: set[str] = set()
    for resource in graph.resources:
        input_name = DEAD_LETTER_LINKS.get(resource.resource_type)
        if input_name is None:
            continue
        targets.update(dependency.urn for dependency in resource.property_dependencies.get(input_name) or [])
    return targets


def _targets_by_literal_arn(graph: Graph, queue: PolicyResource) -> bool:
    # Without a dependency (an ARN written out in config), match the queue's name at the end of the ARN.
    name = graph.props(queue).get("name")
    if not isinstance(name, str) or is_unknown(name):
        return False
    for resource in graph.of_type(QUEUE_TYPE, REDRIVE_POLICY_TYPE):
        raw = graph.props(resource).get("redrivePolicy")
        if is_unknown(raw):
            continue
        try:
            target = dig(parse_json_object(raw, "redrivePolicy") or {}, "deadLetterTargetArn")
        except (InvalidJson, UnknownValueError):  # a broken neighbour must not break this queue's check
            continue
        if isinstance(target, str) and target.endswith(f":{name}"):
            return True
    return False


def _redrive_problems(graph: Graph, queue: PolicyResource, targets: set[str]) -> Iterator[str]:
    if queue.urn in targets or _targets_by_literal_arn(graph, queue):
        return
    if graph.linked_from(queue, [REDRIVE_POLICY_TYPE], "queueUrl"):
        return
    raw = graph.props(queue).get("redrivePolicy")
    if is_unknown(raw):
        return  # set to something computed from the dead-letter queue's ARN: there is one
    if not is_set(raw):
        yield ("no dead-letter queue: set redrive_policy with deadLetterTargetArn and maxReceiveCount "
               "(or add an aws.sqs.RedrivePolicy for this queue)")
        return
    try:
        policy = parse_json_object(raw, "redrive_policy") or {}
    except InvalidJson as error:
        yield str(error)
        return
    if not is_set(dig(policy, "deadLetterTargetArn")):
        yield "redrive_policy names no deadLetterTargetArn"


def check_queue_dead_letter(graph: Graph) -> Iterator[tuple[str, str]]:
    targets = _dead_letter_targets(graph)
    deferred = DeferredUnknowns()
    for queue in graph.of_type(QUEUE_TYPE):
        for message in deferred.run(_redrive_problems(graph, queue, targets)):
            yield queue.urn, message
    deferred.raise_if_any()


POLICIES = [
    resource_rule(
        "sqs-queue-encrypted",
        "SQS queues encrypt messages at rest (SSE-KMS or SSE-SQS).",
        [QUEUE_TYPE],
        check_queue_encryption,
    ),
    stack_rule(
        "sqs-queue-dead-letter",
        "SQS queues have a dead-letter queue (redrive policy), unless they are themselves a dead-letter "
        "or failure destination.",
        check_queue_dead_letter,
    ),
]

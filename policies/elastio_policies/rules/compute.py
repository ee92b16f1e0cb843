"""Compute that would cost money while nothing happens: the idle floor promises none."""

from __future__ import annotations

from collections.abc import Iterator

from ..rule import ADVISORY, Subject, resource_rule
from ..values import as_number, dig, is_set

COMPUTE_ENVIRONMENT_TYPE = "aws:batch/computeEnvironment:ComputeEnvironment"
NAT_GATEWAY_TYPE = "aws:ec2/natGateway:NatGateway"
INSTANCE_TYPE = "aws:ec2/instance:Instance"
ECS_SERVICE_TYPE = "aws:ecs/service:Service"
AUTOSCALING_GROUP_TYPE = "aws:autoscaling/group:Group"
EVENT_SOURCE_MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"


def check_batch_idle(subject: Subject) -> Iterator[str]:
    # Fargate environments have no capacity of their own; EC2 and Spot keep min/desired vCPUs running.
    resources = dig(subject.props, "computeResources")
    if not isinstance(resources, dict) or dig(resources, "type") not in ("EC2", "SPOT"):
        return
    for setting, snake in (("minVcpus", "min_vcpus"), ("desiredVcpus", "desired_vcpus")):
        vcpus = as_number(dig(resources, setting))
        if vcpus is not None and vcpus > 0:
            yield f"{snake} is {vcpus:g}: instances would run with no job queued; set it to 0"


def check_no_nat_gateway(subject: Subject) -> Iterator[str]:
    yield ("a NAT gateway costs about $33 a month per AZ before any traffic: use the S3/DynamoDB gateway "
           "endpoints and privateLink, or subnets that already have NAT")


def check_no_always_on_compute(subject: Subject) -> Iterator[str]:
    props = subject.props
    if subject.resource_type == INSTANCE_TYPE:
        yield "an EC2 instance runs (and bills) around the clock: run the work as a Batch job or ECS task"
    elif subject.resource_type == ECS_SERVICE_TYPE:
        count = as_number(dig(props, "desiredCount"))
        if count is not None and count > 0:
            yield f"ECS service keeps {count:g} task(s) running: start tasks on demand instead"
    elif subject.resource_type == AUTOSCALING_GROUP_TYPE:
        for setting, snake in (("minSize", "min_size"), ("desiredCapacity", "desired_capacity")):
            size = as_number(dig(props, setting))
            if size is not None and size > 0:
                yield f"{snake} is {size:g}: instances run with nothing to do; scale from 0"
    elif subject.resource_type == EVENT_SOURCE_MAPPING_TYPE:
        if is_set(dig(props, "provisionedPollerConfig")):
            yield "provisioned pollers bill by the hour even when the queue is empty: use on-demand polling"


POLICIES = [
    resource_rule(
        "batch-compute-idle-at-rest",
        "AWS Batch compute environments run nothing while no job is queued (Fargate, or EC2 with 0 vCPUs).",
        [COMPUTE_ENVIRONMENT_TYPE],
        check_batch_idle,
    ),
    resource_rule(
        "no-nat-gateway",
        "No NAT gateway: it bills by the hour and would break the idle cost floor.",
        [NAT_GATEWAY_TYPE],
        check_no_nat_gateway,
        level=ADVISORY,
    ),
    resource_rule(
        "no-always-on-compute",
        "No always-on compute (instances, ECS services or Auto Scaling groups above 0, provisioned "
        "pollers): the idle cost floor assumes nothing runs between jobs.",
        [INSTANCE_TYPE, ECS_SERVICE_TYPE, AUTOSCALING_GROUP_TYPE, EVENT_SOURCE_MAPPING_TYPE],
        check_no_always_on_compute,
        level=ADVISORY,
    ),
]

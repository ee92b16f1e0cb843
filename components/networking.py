"""VPC endpoints for vault tasks in a VPC without internet (`network.privateLink: true`).

The functions run outside the VPC and need none of this. The Batch jobs and the ScaleZ server task call the
AWS APIs listed in `INTERFACE_SERVICES`; S3 and DynamoDB are reached through gateway endpoints on the
configured route tables, which are free. Interface endpoints cost by the hour, so they are opt-in.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from pulumi import Input, ResourceOptions

from components.config import NetworkConfig

# Service suffix -> why the vault tasks need it.
INTERFACE_SERVICES: dict[str, str] = {
    "ecr.api": "image manifests for the worker and server images",
    "ecr.dkr": "image layer pulls (the layers themselves come from S3 through the gateway endpoint)",
    "logs": "task logs (awslogs driver)",
    "sts": "the task role's credentials for the AWS SDK",
    "kms": "the vault key (data keys for S3 and the index table)",
    "ebs": "EBS direct APIs: reading snapshot blocks, writing restored snapshots",
    "ec2": "DescribeSnapshots and restore targets",
    "lambda": "the engine's recovery-point.register call to the Catalog",
    "ecs": "the ScaleZ server task's cluster API calls",
}
GATEWAY_SERVICES: tuple[str, ...] = ("s3", "dynamodb")


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def required_service_names(region: str, network: NetworkConfig) -> list[str]:
    """The endpoint service names the design needs in this region's VPC (empty without PrivateLink)."""
    if not network.private_link:
        return []
    return [service_name(region, s) for s in (*INTERFACE_SERVICES, *GATEWAY_SERVICES)]


def https_ingress(client_security_group_ids: list) -> list[dict]:
    """Ingress of the endpoint security group: HTTPS only, only from the vault tasks' security groups.

    Tighter than "from the VPC's CIDR" and needs no lookup of the VPC: only our tasks may use the endpoints.
    """
    return [
        {
            "description": "HTTPS to AWS APIs from Elastio vault tasks",
            "protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "security_groups": list(client_security_group_ids),
        }
    ]


def create_endpoints(
    name: str,
    region: str,
    network: NetworkConfig,
    client_security_group_ids: list[Input[str]],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[aws.ec2.VpcEndpoint]:
    """Interface and gateway endpoints for `network` (nothing unless privateLink). Children of `parent`."""
    if not network.private_link:
        return []
    child = ResourceOptions(parent=parent)
    security_group = aws.ec2.SecurityGroup(
        f"{name}-endpoints",
        description="Elastio vault tasks to AWS API endpoints: HTTPS from the vault tasks only",
        vpc_id=network.vpc_id,
        ingress=https_ingress(client_security_group_ids),
        tags=tags,
        opts=child,
    )
    endpoints = [
        aws.ec2.VpcEndpoint(
            f"{name}-{service.replace('.', '-')}",
            vpc_id=network.vpc_id,
            service_name=service_name(region, service),
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=network.subnet_ids,
            security_group_ids=[security_group.id],
            tags=tags,
            opts=child,
        )
        for service in INTERFACE_SERVICES
    ]
    endpoints += [
        aws.ec2.VpcEndpoint(
            f"{name}-{service}-gateway",
            vpc_id=network.vpc_id,
            service_name=service_name(region, service),
            vpc_endpoint_type="Gateway",
            route_table_ids=network.route_table_ids,
            tags=tags,
            opts=child,
        )
        for service in GATEWAY_SERVICES
    ]
    return endpoints

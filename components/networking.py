"""VPC endpoints for the vault tasks (the functions run outside the VPC and need none of this).

With `network.privateLink: true` (a VPC without internet) the Batch jobs and the ScaleZ server task reach the
AWS APIs in `INTERFACE_SERVICES` through interface endpoints, which bill by the hour, so they are opt-in.
Gateway endpoints for S3 and DynamoDB are free, so they are created on `routeTableIds` whenever route tables
are given, in every setup: they also keep the bulk of backup traffic (packs to S3) off a NAT gateway's
per-GB charge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
from pulumi import Input, ResourceOptions

if TYPE_CHECKING:  # config.py validates `existingEndpoints` against the lists below
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
# The short names `regions[].network.existingEndpoints` may list.
ENDPOINT_SERVICES: tuple[str, ...] = (*GATEWAY_SERVICES, *INTERFACE_SERVICES)


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def needed_interface_services(network: NetworkConfig) -> list[str]:
    """The interface endpoints the vault tasks need (PrivateLink), whether the VPC has them or not."""
    return list(INTERFACE_SERVICES) if network.private_link else []


def needed_gateway_services(network: NetworkConfig) -> list[str]:
    """The gateway endpoints the vault tasks use: PrivateLink needs them; with route tables they are free."""
    wanted = network.private_link or network.route_table_ids
    return list(GATEWAY_SERVICES) if wanted else []


def interface_services(network: NetworkConfig) -> list[str]:
    """The interface endpoints this program creates: the needed ones the VPC does not have yet."""
    return [s for s in needed_interface_services(network) if s not in network.existing_endpoints]


def gateway_services(network: NetworkConfig) -> list[str]:
    """The gateway endpoints this program creates (on routeTableIds): those the route tables lack."""
    if not network.route_table_ids:
        return []
    return [s for s in needed_gateway_services(network) if s not in network.existing_endpoints]


def required_service_names(region: str, network: NetworkConfig) -> list[str]:
    """The endpoint service names this region's vault tasks need (with PrivateLink, cannot work without)."""
    needed = (*needed_interface_services(network), *needed_gateway_services(network))
    return [service_name(region, s) for s in needed]


def existing_service_names(region: str, network: NetworkConfig) -> list[str]:
    return [service_name(region, s) for s in network.existing_endpoints]


def https_ingress(client_security_group_ids: list) -> list[dict]:
    """Ingress of the endpoint security group: HTTPS only, only from the vault tasks' security group.

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
    """Interface endpoints (privateLink) and gateway endpoints (route tables given). Children of `parent`."""
    child = ResourceOptions(parent=parent)
    endpoints = [
        aws.ec2.VpcEndpoint(
            f"{name}-{service}-gateway",
            vpc_id=network.vpc_id,
            service_name=service_name(region, service),
            vpc_endpoint_type="Gateway",
            route_table_ids=network.route_table_ids,
            tags=tags,
            opts=child,
        )
        for service in gateway_services(network)
    ]
    created = interface_services(network)
    if not created:
        return endpoints
    security_group = aws.ec2.SecurityGroup(
        f"{name}-endpoints",
        description="Elastio vault tasks to AWS API endpoints: HTTPS from the vault tasks only",
        vpc_id=network.vpc_id,
        ingress=https_ingress(client_security_group_ids),
        tags=tags,
        opts=child,
    )
    endpoints += [
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
        for service in created
    ]
    return endpoints

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

from elastio_pulumi.constants import GATEWAY_SERVICES, INTERFACE_SERVICES

if TYPE_CHECKING:  # rules.py checks `existing_endpoints` against the lists below
    from elastio_pulumi.args import NetworkArgs

# The endpoint services and why the vault tasks need each: elastio_pulumi.constants (the rules check
# `existing_endpoints` against them without loading pulumi_aws).
HTTPS = 443


def service_name(region: str, service: str) -> str:
    return f"com.amazonaws.{region}.{service}"


def needed_interface_services(network: NetworkArgs) -> list[str]:
    """The interface endpoints the vault tasks need (PrivateLink), whether the VPC has them or not."""
    return list(INTERFACE_SERVICES) if network.private_link else []


def needed_gateway_services(network: NetworkArgs) -> list[str]:
    """The gateway endpoints the vault tasks use: PrivateLink needs them; with route tables they are free."""
    wanted = network.private_link or network.route_table_ids
    return list(GATEWAY_SERVICES) if wanted else []


def egress_only_to_endpoints(network: NetworkArgs) -> bool:
    """PrivateLink with every interface endpoint created here: the vault tasks' egress can name them all."""
    return network.private_link and interface_services(network) == needed_interface_services(network)


def interface_services(network: NetworkArgs) -> list[str]:
    """The interface endpoints this program creates: the needed ones the VPC does not have yet."""
    return [s for s in needed_interface_services(network) if s not in network.existing_endpoints]


def gateway_services(network: NetworkArgs) -> list[str]:
    """The gateway endpoints this program creates (on routeTableIds): those the route tables lack."""
    if not network.route_table_ids:
        return []
    return [s for s in needed_gateway_services(network) if s not in network.existing_endpoints]


def required_service_names(region: str, network: NetworkArgs) -> list[str]:
    """The endpoint service names this region's vault tasks need (with PrivateLink, cannot work without)."""
    needed = (*needed_interface_services(network), *needed_gateway_services(network))
    return [service_name(region, s) for s in needed]


def existing_service_names(region: str, network: NetworkArgs) -> list[str]:
    return [service_name(region, s) for s in network.existing_endpoints]


def https_ingress(client_security_group_ids: list) -> list[dict]:
    """Ingress of the endpoint security group: HTTPS only, only from the vault tasks' security group.

    Tighter than "from the VPC's CIDR" and needs no lookup of the VPC: only our tasks may use the endpoints.
    """
    return [
        {
            "description": "HTTPS to AWS APIs from Elastio vault tasks",
            "protocol": "tcp",
            "from_port": HTTPS,
            "to_port": HTTPS,
            "security_groups": list(client_security_group_ids),
        }
    ]


def vault_task_egress(network: NetworkArgs) -> list[dict] | None:
    """Inline egress of the vault-task security group. Without PrivateLink the tasks reach AWS's public endpoints
    (NAT, internet gateway or the S3/DynamoDB gateway endpoints): HTTPS anywhere. With PrivateLink there is no
    other way out, so nothing inline: `create_endpoints` adds rules to the interface endpoints' group and to the
    S3 and DynamoDB prefix lists only (separate rules, because the endpoints' group admits this group: inline
    rules both ways would be a cycle). Omitting `egress` leaves the rules unmanaged here, and the provider drops
    the default allow-all rule AWS adds to a new group. Interface endpoints the VPC already has
    (`existingEndpoints`) sit behind security groups this program does not know, so a region that uses any of
    them keeps HTTPS anywhere (in a VPC without NAT, that still reaches only its endpoints)."""
    if egress_only_to_endpoints(network):
        return None
    return [
        {
            "description": "AWS APIs (gateway endpoints, NAT or internet gateway)",
            "protocol": "tcp",
            "from_port": HTTPS,
            "to_port": HTTPS,
            "cidr_blocks": ["0.0.0.0/0"],
        }
    ]


def create_endpoints(
    name: str,
    region: str,
    network: NetworkArgs,
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
    if not egress_only_to_endpoints(network):
        return endpoints  # the vault-task group keeps its inline egress (vault_task_egress)
    # The vault tasks' only ways out: the interface endpoints and S3's and DynamoDB's prefix lists. AWS keeps a
    # managed prefix list per gateway service in every region, whoever created the gateway endpoint, so the
    # rules hold for gateway endpoints this program did not create too.
    for index, client in enumerate(client_security_group_ids):
        rule = f"{name}-vault-tasks" + (f"-{index}" if index else "")
        _https_out(f"{rule}-to-endpoints", client, "the interface endpoints", tags, child,
                   referenced_security_group_id=security_group.id)
        for service in GATEWAY_SERVICES:
            prefix_list = aws.ec2.get_prefix_list_output(
                name=service_name(region, service), opts=pulumi.InvokeOutputOptions(parent=parent)
            )
            _https_out(f"{rule}-to-{service}", client, f"{service} (its gateway endpoint's prefix list)", tags,
                       child, prefix_list_id=prefix_list.id)
    return endpoints


def _https_out(
    resource_name: str, group: Input[str], to: str, tags: dict[str, str], opts: ResourceOptions, **destination
) -> aws.vpc.SecurityGroupEgressRule:
    """One egress rule of `group`: HTTPS to `destination` (a security group or a prefix list)."""
    return aws.vpc.SecurityGroupEgressRule(
        resource_name,
        security_group_id=group,
        description=f"HTTPS to {to}",
        ip_protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        tags=tags,
        opts=opts,
        **destination,
    )

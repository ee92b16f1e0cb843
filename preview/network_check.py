"""Warn when a region's VPC setup lacks an endpoint its vault tasks need (issue: offline check of PrivateLink).

The list of what the design needs lives with the design (src/elastio_pulumi/networking.py); this compares it with
what the plan actually registers, so a change that drops an endpoint shows up before `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from elastio_pulumi import naming, networking, stack_config
from elastio_pulumi.config import DeploymentConfig
from elastio_pulumi.constants import INTERFACE_SERVICES

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def network_findings(records: Iterable[Mapping[str, Any]], config: DeploymentConfig) -> dict[str, list[str]]:
    """`{"warnings": [...], "notes": [...]}`: warnings are missing endpoints; notes say what cannot be checked."""
    present: dict[tuple[str | None, str | None], set[str]] = {}
    for record in records:
        if record.get("type") == VPC_ENDPOINT:
            inputs = record.get("inputs") or {}
            present.setdefault((record.get("region"), inputs.get("vpcId")), set()).add(inputs.get("serviceName"))

    warnings, notes = [], []
    for region in config.regions:
        network = stack_config.network_args(region.network)  # what the components were given
        # Endpoints the VPC already has (existingEndpoints) count as present: the program does not create them.
        have = present.get((region.region, network.vpc_id), set()) | set(
            networking.existing_service_names(region.region, network)
        )
        for service in networking.required_service_names(region.region, network):
            if service not in have:
                warnings.append(
                    f"{region.region}: no VPC endpoint for {service} in {network.vpc_id}; the vault tasks "
                    f"{'cannot reach it (PrivateLink, no internet)' if network.private_link else 'will use NAT'}"
                )
        existing_interfaces = [s for s in network.existing_endpoints if s in INTERFACE_SERVICES]
        if existing_interfaces:
            notes.append(
                f"{region.region}: existing interface endpoints ({', '.join(existing_interfaces)}) must admit HTTPS "
                "(443) from the vault tasks' security group "
                f"{naming.vault_tasks_security_group_name(config.name_prefix)!r} in "
                f"{network.vpc_id}, and have private DNS on (not checked offline)"
            )
        if not network.private_link and not network.assign_public_ip:
            notes.append(
                f"{region.region}: vault tasks run in private subnets without PrivateLink; they need a NAT route "
                "to AWS APIs and ECR (not checked offline)"
            )
    return {"warnings": warnings, "notes": notes}

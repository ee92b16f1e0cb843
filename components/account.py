"""AccountBootstrap: the account-level stack of the reference document, created once per account.

It gives the Elastio tenant a way into this account (the ElastioTenant role, guarded by an external ID),
gives deployments a role to run as (ElastioInstaller), and creates the six customer-attachable managed
policies. Documents come from components.iam_documents (pure functions); this module only wires them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components import iam_documents, naming
from components.config import IamConfig, TenantConfig
from components.constants import MANAGED_POLICY_NAMES


@dataclass
class AccountBootstrapArgs:
    account_id: Input[str]
    """The account being deployed into (from sts:GetCallerIdentity)."""
    tenant: TenantConfig
    external_id: Input[str]
    """Secret shared with the Elastio tenant; every assume-role by the tenant must present it."""
    regions: list[str]
    iam: IamConfig = field(default_factory=IamConfig)
    tags: dict[str, str] = field(default_factory=dict)


class AccountBootstrap(pulumi.ComponentResource):
    tenant_role_arn: Output[str]
    installer_role_arn: Output[str]
    permissions_boundary_arn: Output[str]
    managed_policy_arns: Output[dict[str, str]]

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: ResourceOptions | None = None):
        super().__init__("elastio:account:AccountBootstrap", name, None, opts)
        child = ResourceOptions(parent=self)
        iam_names = args.iam.naming
        scope = Output.from_input(args.account_id).apply(
            lambda account_id: iam_documents.AccountScope(
                account_id=account_id, regions=tuple(args.regions), iam=iam_names
            )
        )
        tenant_principal = iam_documents.tenant_principal(args.tenant.account_id, args.tenant.role_arn)

        # Roles created by the installer must carry a boundary; without a configured one we create ours, so
        # the guarantee never depends on the customer remembering to set it.
        if args.iam.permissions_boundary_arn:
            self.permissions_boundary_arn = Output.from_input(args.iam.permissions_boundary_arn)
        else:
            boundary = aws.iam.Policy(
                f"{name}-boundary",
                name=naming.default_boundary_name(iam_names),
                description="Caps what Elastio connector and vault roles can ever do (permissions boundary).",
                policy=scope.apply(lambda s: _json(iam_documents.default_permissions_boundary(s))),
                tags=args.tags,
                opts=child,
            )
            self.permissions_boundary_arn = boundary.arn
        own_roles_boundary = args.iam.permissions_boundary_arn  # optional on the two account roles

        tenant_role = aws.iam.Role(
            f"{name}-tenant",
            name=naming.tenant_role_name(iam_names),
            description="Assumed by the Elastio tenant (with its external ID) to send commands and read results.",
            assume_role_policy=Output.secret(
                Output.from_input(args.external_id).apply(
                    lambda external_id: _json(iam_documents.tenant_trust_policy(tenant_principal, external_id))
                )
            ),
            max_session_duration=3600,
            permissions_boundary=own_roles_boundary,
            tags=args.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-tenant-access",
            name=naming.tenant_access_policy_name(iam_names),
            role=tenant_role.name,
            policy=scope.apply(lambda s: _json(iam_documents.tenant_access_policy(s))),
            opts=child,
        )

        installer_role = aws.iam.Role(
            f"{name}-installer",
            name=naming.installer_role_name(iam_names),
            description="Deploys and updates the Elastio Cloud Connector and vaults (pulumi up from CI or the tenant).",
            assume_role_policy=Output.secret(
                Output.from_input(args.external_id).apply(
                    lambda external_id: _json(
                        iam_documents.installer_trust_policy(
                            tenant_principal, external_id, args.iam.installer_principals
                        )
                    )
                )
            ),
            max_session_duration=3600,
            permissions_boundary=own_roles_boundary,
            tags=args.tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-installer-access",
            name=naming.installer_policy_name(iam_names),
            role=installer_role.name,
            policy=Output.all(scope, self.permissions_boundary_arn).apply(
                lambda values: _json(iam_documents.installer_policy(values[0], values[1]))
            ),
            opts=child,
        )

        policy_arns: dict[str, Output[str]] = {}
        documents = scope.apply(iam_documents.managed_policies)
        purposes = iam_documents.managed_policy_purposes()
        for base in MANAGED_POLICY_NAMES:
            policy = aws.iam.Policy(
                f"{name}-{_kebab(base)}",
                name=naming.managed_policy_name(iam_names, base),
                description=purposes[base],
                policy=documents.apply(lambda docs, base=base: _json(docs[base])),
                tags=args.tags,
                opts=child,
            )
            policy_arns[base] = policy.arn

        self.tenant_role_arn = tenant_role.arn
        self.tenant_role_name = tenant_role.name
        self.installer_role_arn = installer_role.arn
        self.managed_policy_arns = Output.all(**policy_arns)
        self.register_outputs(
            {
                "tenant_role_arn": self.tenant_role_arn,
                "installer_role_arn": self.installer_role_arn,
                "permissions_boundary_arn": self.permissions_boundary_arn,
                "managed_policy_arns": self.managed_policy_arns,
            }
        )


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=False)


def _kebab(pascal: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(pascal))

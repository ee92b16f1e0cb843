"""AccountBootstrap: the account-level stack of the reference document, created once per account.

It gives the Elastio tenant a way into this account (the ElastioTenant role, guarded by an external ID),
gives deployments a role to run as (ElastioInstaller), and creates the six customer-attachable managed
policies. Documents come from elastio_pulumi.iam_documents (pure functions); this module only wires them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from elastio_pulumi import iam_documents, naming
from elastio_pulumi.args import IamArgs, TenantArgs
from elastio_pulumi.constants import MANAGED_POLICY_NAMES
from elastio_pulumi.errors import ArgsError
from elastio_pulumi.iam_documents import descriptions
from elastio_pulumi.tags import deployment_tags


@dataclass(frozen=True)
class AccountBootstrapArgs:
    account_id: Input[str]
    """The account being deployed into (from sts:GetCallerIdentity)."""
    tenant: TenantArgs
    external_id: Input[str]
    """Secret shared with the Elastio tenant; every assume-role by the tenant must present it."""
    regions: Sequence[str]
    iam: IamArgs = IamArgs()
    tags: Mapping[str, str] = field(default_factory=dict)
    name_prefix: str = naming.DEFAULT_NAME_PREFIX
    """The deployment's name prefix (elastio:namePrefix): its IAM names' root, and the regional names the
    account-level documents address (elastio_pulumi.naming)."""

    def __post_init__(self):
        object.__setattr__(self, "regions", tuple(self.regions))
        # Checked here, not only in the stack config: a program that builds its own Args gets the same errors
        # at construction instead of a failed `pulumi up`.
        problems = naming.name_prefix_arg_problems(self.name_prefix) or naming.iam_name_problems(
            naming.account_iam_names(self.iam.naming(self.name_prefix)),
            "shorten iam.name_prefix / iam.name_suffix / name_prefix",
        )
        if problems:
            raise ArgsError("AccountBootstrapArgs", problems)


class AccountBootstrap(pulumi.ComponentResource):
    tenant_role_arn: Output[str]
    installer_role_arn: Output[str]
    permissions_boundary_arn: Output[str]
    managed_policy_arns: Output[dict[str, str]]

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: ResourceOptions | None = None):
        super().__init__("elastio:account:AccountBootstrap", name, None, opts)
        child = ResourceOptions(parent=self)
        iam_names = args.iam.naming(args.name_prefix)
        tags = deployment_tags(args.tags, args.name_prefix)
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
                description=descriptions.BOUNDARY_DESCRIPTION,
                policy=scope.apply(lambda s: _json(iam_documents.default_permissions_boundary(s))),
                tags=tags,
                opts=child,
            )
            self.permissions_boundary_arn = boundary.arn

        def account_role(suffix: str, role_name: str, description: str, trust: Callable[[str], dict]) -> aws.iam.Role:
            # The trust holds the external ID, so it stays a secret in state and in the console diff.
            role = aws.iam.Role(
                f"{name}-{suffix}",
                name=role_name,
                description=description,
                assume_role_policy=Output.secret(
                    Output.from_input(args.external_id).apply(lambda external_id: _json(trust(external_id)))
                ),
                max_session_duration=3600,
                permissions_boundary=args.iam.permissions_boundary_arn,  # optional on the two account roles
                tags=tags,
                opts=child,
            )
            return role

        tenant_role = account_role(
            "tenant",
            naming.tenant_role_name(iam_names),
            "Assumed by the Elastio tenant (with its external ID) to send commands and read results.",
            lambda external_id: iam_documents.tenant_trust_policy(tenant_principal, external_id),
        )
        aws.iam.RolePolicy(
            f"{name}-tenant-access",
            name=naming.tenant_access_policy_name(iam_names),
            role=tenant_role.name,
            policy=scope.apply(lambda s: _json(iam_documents.tenant_access_policy(s))),
            opts=child,
        )

        installer_role = account_role(
            "installer",
            naming.installer_role_name(iam_names),
            "Deploys and updates the Elastio Cloud Connector and vaults (pulumi up from CI or the tenant).",
            lambda external_id: iam_documents.installer_trust_policy(
                tenant_principal, external_id, args.iam.installer_principals
            ),
        )
        # The installer's permissions exceed one managed policy (and a role's inline quota), so they come in
        # parts. The number of parts depends only on the config (names and ARN lengths, not values), so it is
        # counted with a stand-in account id before anything is known, and the real split is checked against it.
        installer_parts = Output.all(scope, self.permissions_boundary_arn).apply(
            lambda values: iam_documents.installer_policies(values[0], values[1])
        )
        part_count = len(iam_documents.installer_policies(*_stand_ins(args, iam_names)))
        for part in range(1, part_count + 1):
            installer_policy = aws.iam.Policy(
                f"{name}-installer-access-{part}",
                name=naming.installer_policy_name(iam_names, part),
                description=descriptions.installer_policy_description(part, part_count),
                policy=installer_parts.apply(lambda parts, part=part: _json(_part(parts, part, part_count))),
                tags=tags,
                opts=ResourceOptions.merge(
                    child, ResourceOptions(ignore_changes=descriptions.INSTALLER_POLICY_IGNORED_CHANGES)
                ),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-installer-access-{part}",
                role=installer_role.name,
                policy_arn=installer_policy.arn,
                opts=child,
            )

        policy_arns: dict[str, Output[str]] = {}
        documents = scope.apply(iam_documents.managed_policies)
        for base in MANAGED_POLICY_NAMES:
            policy = aws.iam.Policy(
                f"{name}-{_kebab(base)}",
                name=naming.managed_policy_name(iam_names, base),
                description=descriptions.MANAGED_POLICY_DESCRIPTIONS[base],
                policy=documents.apply(lambda docs, base=base: _json(docs[base])),
                tags=tags,
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


_STAND_IN_ACCOUNT = "000000000000"


def _stand_ins(args: AccountBootstrapArgs, iam_names: naming.IamNaming) -> tuple[iam_documents.AccountScope, str]:
    """A scope and boundary ARN of exactly the real ones' lengths, to count the installer's parts up front."""
    scope = iam_documents.AccountScope(account_id=_STAND_IN_ACCOUNT, regions=tuple(args.regions), iam=iam_names)
    boundary = args.iam.permissions_boundary_arn or iam_documents.policy_arn(
        scope, naming.default_boundary_name(iam_names)
    )
    return scope, boundary


def _part(parts: list[dict], part: int, expected: int) -> dict:
    if len(parts) != expected:  # a bug in the stand-in count: fail the update rather than drop permissions
        raise ValueError(f"installer policy split into {len(parts)} parts, {expected} were planned")
    return parts[part - 1]


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=False)


def _kebab(pascal: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(pascal))

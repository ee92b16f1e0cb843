"""Trust policies: who may assume the tenant and installer roles."""

from __future__ import annotations

from collections.abc import Sequence

from elastio_pulumi import naming
from elastio_pulumi.iam_documents.builder import document


def tenant_principal(tenant_account_id: str, tenant_role_arn: str | None) -> str:
    """The tenant's role when configured, else the tenant account's root (any principal it delegates to)."""
    return tenant_role_arn or naming.iam_arn(tenant_account_id, "root")


def _trust_statement(sid: str, principals: str | list[str], condition: dict | None = None) -> dict:
    stmt: dict = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return stmt


def tenant_trust_policy(tenant_principal_arn: str, external_id: str) -> dict:
    """Only the tenant principal, and only with the external ID (confused-deputy protection)."""
    if not external_id:
        raise ValueError("external_id is empty: the tenant trust needs an sts:ExternalId condition")
    if "*" in tenant_principal_arn:
        raise ValueError(
            f"tenant principal {tenant_principal_arn!r} has a wildcard: name one account or role"
        )
    return document(
        _trust_statement(
            "TenantAssumesWithExternalId",
            tenant_principal_arn,
            {"StringEquals": {"sts:ExternalId": external_id}},
        )
    )


def installer_trust_policy(
    tenant_principal_arn: str, external_id: str, installer_principals: Sequence[str]
) -> dict:
    """The tenant with its external ID, plus the configured installer principals (e.g. a CI role)."""
    trust = tenant_trust_policy(tenant_principal_arn, external_id)
    wildcards = [p for p in installer_principals if "*" in p]
    if wildcards:
        raise ValueError(f"installer principals {wildcards} have wildcards: name each principal ARN")
    if installer_principals:
        trust["Statement"].append(
            _trust_statement("InstallerPrincipalsAssume", sorted(set(installer_principals)))
        )
    return trust

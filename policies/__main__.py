"""The CrossGuard pack: `pulumi preview --policy-pack policies`. Constructing PolicyPack starts the policy
server, so only this file does it; the rules live in elastio_policies (importable offline)."""

from elastio_policies import ALL_POLICIES, PACK_NAME
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
    description="Security and cost promises of the Elastio ScaleZ deployment.",
)

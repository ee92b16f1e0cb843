"""Every IAM document of the planned stacks fits IAM's quotas (IAM and AWS STS quotas,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a managed policy 6,144
characters, all inline policies of a role together 10,240, both counted without white space."""

from __future__ import annotations

from elastio_pulumi.iam_documents import MANAGED_POLICY_MAX_CHARS, policy_size

ROLE_INLINE_MAX_CHARS = 10_240


def test_every_planned_managed_policy_fits_its_quota(stack):
    over = {
        arn: policy_size(doc)
        for arn, doc in stack.managed_policies.items()
        if policy_size(doc) > MANAGED_POLICY_MAX_CHARS
    }
    assert over == {}


def test_the_inline_policies_of_every_planned_role_fit_the_role_quota(stack):
    over = {}
    for role in stack.of_type("aws:iam/role:Role"):
        inline = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.inputs["name"]]
        total = sum(len("".join(p.inputs["policy"].split())) for p in inline)
        if total > ROLE_INLINE_MAX_CHARS:
            over[role.inputs["name"]] = total
    assert over == {}

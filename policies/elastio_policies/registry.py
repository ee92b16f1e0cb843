"""All rules of the pack, in the order they are reported. Importing this starts no policy server."""

from __future__ import annotations

from pulumi_policy import Policy

from .rules import compute, iam, images, lambdas, s3, sqs, storage, tags

ALL_POLICIES: list[Policy] = [
    *s3.POLICIES,
    *storage.POLICIES,
    *sqs.POLICIES,
    *lambdas.POLICIES,
    *iam.POLICIES,
    *compute.POLICIES,
    *images.POLICIES,
    *tags.POLICIES,
]

PACK_NAME = "elastio-policies"


def policy_named(name: str) -> Policy:
    for policy in ALL_POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(name)

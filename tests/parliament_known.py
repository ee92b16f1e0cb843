"""Parliament, loaded for the IAM document tests, and the one list of its findings we accept, with reasons.

parliament 1.6.4 (the latest) imports `pkg_resources`: requirements/runtime.in keeps setuptools<81 for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import parliament

# Why parliament reports RESOURCE_MISMATCH on split statements: its data lists the resource types an action
# may name, and it wants every required one in the same statement. IAM authorizes each resource of a
# multi-resource EC2 action separately, and the EC2 User Guide splits them to put a different condition on
# each (e.g. "create snapshots with tags": the volume unconditioned, the new snapshot with aws:RequestTag).
# The policies for people cannot use our other remedy (one Allow narrowed by a Deny), because a Deny in a
# customer-attached policy would also override the customer's own grants.
SPLIT_MULTI_RESOURCE = (
    "multi-resource EC2 action split across statements so the elastio:resource tag condition applies only "
    "to the resource type that carries it; IAM evaluates each resource separately"
)


@dataclass(frozen=True)
class KnownFinding:
    issue: str
    document: str  # the document's name in the tests
    actions: frozenset[str]  # RESOURCE_MISMATCH: the actions it may list; others: fragments of the detail
    reason: str


KNOWN_FINDINGS: tuple[KnownFinding, ...] = (
    KnownFinding(
        "RESOURCE_MISMATCH",
        "ElastioLocalBackup",
        frozenset({"ec2:CreateSnapshot", "ec2:CreateSnapshots"}),
        SPLIT_MULTI_RESOURCE,
    ),
    KnownFinding(
        "RESOURCE_MISMATCH",
        "ElastioMountAndRestore",
        frozenset({"ec2:CreateVolume", "ec2:AttachVolume", "ec2:DetachVolume"}),
        SPLIT_MULTI_RESOURCE,
    ),
)


def _mismatch_actions(detail: object) -> set[str]:
    return {entry["action"] for entry in detail} if isinstance(detail, list) else set()


def _is_known(name: str, issue: str, detail: object) -> bool:
    for known in KNOWN_FINDINGS:
        if known.document != name or known.issue != issue:
            continue
        if issue == "RESOURCE_MISMATCH":
            if _mismatch_actions(detail) and _mismatch_actions(detail) <= known.actions:
                return True
        elif any(fragment in str(detail) for fragment in known.actions):
            return True
    return False


def findings(name: str, document: dict) -> list[tuple[str, str]]:
    """Parliament's findings for an identity policy, minus the known ones, as (issue, detail) pairs."""
    policy = parliament.analyze_policy_string(json.dumps(document))
    return [(f.issue, str(f.detail)) for f in policy.findings if not _is_known(name, f.issue, f.detail)]


def raw_issues(document: dict) -> list[str]:
    """Every finding's issue, unfiltered (to show the check can fail)."""
    return [f.issue for f in parliament.analyze_policy_string(json.dumps(document)).findings]

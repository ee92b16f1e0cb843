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


# What the IAM tables (tests/iam/) show for each accepted finding: rows carrying one of these names in
# `confirms` are the simulator's evidence, and tests/iam/test_iam_parliament.py requires them to exist.
SPLIT_STATEMENTS = "split-statements"
ECR_TOKEN_SCOPED_BY_ROLE = "ecr-token-scoped-by-role"
KMS_GRANTS_ONLY_FOR_AWS_RESOURCES = "kms-grants-only-for-aws-resources"
PASS_ROLE_ONLY_TO_ITS_SERVICE = "pass-role-only-to-its-service"
INSTALLER_MANAGES_ONLY_ITS_OWN = "installer-manages-only-its-own"
INSTALLER_CODE_RUNS_BOUNDED = "installer-code-runs-bounded"


@dataclass(frozen=True)
class KnownFinding:
    issue: str
    document: str  # the document's name in the tests
    actions: frozenset[str]  # the actions the finding may name (lower case is fine)
    reason: str
    confirmed_by: str  # the IAM tables' rows that show the reason holds


KNOWN_FINDINGS: tuple[KnownFinding, ...] = (
    KnownFinding(
        "RESOURCE_MISMATCH",
        "ElastioLocalBackup",
        frozenset({"ec2:CreateSnapshot", "ec2:CreateSnapshots"}),
        SPLIT_MULTI_RESOURCE,
        SPLIT_STATEMENTS,
    ),
    KnownFinding(
        "RESOURCE_MISMATCH",
        "ElastioMountAndRestore",
        frozenset({"ec2:CreateVolume", "ec2:AttachVolume", "ec2:DetachVolume"}),
        SPLIT_MULTI_RESOURCE,
        SPLIT_STATEMENTS,
    ),
    # Community auditors.
    *(
        KnownFinding(
            "CREDENTIALS_EXPOSURE",
            document,
            frozenset({"ecr:GetAuthorizationToken"}),
            "ECS pulls the vault images with it; the token lets its holder do only what the role's own ECR "
            "permissions allow (pulls of the image repositories), never push",
            ECR_TOKEN_SCOPED_BY_ROLE,
        )
        for document in ("boundary", "vault-exec-private-images")
    ),
    *(
        KnownFinding(
            "PERMISSIONS_MANAGEMENT_ACTIONS",
            document,
            frozenset({"kms:CreateGrant"}),
            "EC2 creates grants on the vault and snapshot keys for the EBS direct APIs and CreateVolume; the "
            "grant is allowed only through EC2 and only for an AWS resource (kms:GrantIsForAWSResource), so the "
            "holder cannot grant a key to anyone directly",
            KMS_GRANTS_ONLY_FOR_AWS_RESOURCES,
        )
        for document in ("boundary", "vault-task", "ElastioLocalBackup", "ElastioMountAndRestore")
    ),
    *(
        KnownFinding(
            "PERMISSIONS_MANAGEMENT_ACTIONS",
            document,
            frozenset({"iam:PassRole"}),
            "the provisioner passes the vault roles to ECS tasks and nothing else: vault roles never to Lambda, "
            "function roles never to ECS (iam:PassedToService)",
            PASS_ROLE_ONLY_TO_ITS_SERVICE,
        )
        for document in ("boundary", "function-provisioner")
    ),
    KnownFinding(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "installer",
        frozenset(),  # any: managing the resources it deploys is the installer's job
        "the installer creates and updates what it deploys; every escalation through these actions (roles "
        "without the boundary or outside the program's names, the people policies, the boundary, its own "
        "policies, trust policies, key policies that bypass the lockout check, weakening vault buckets and "
        "tables) is an explicit Deny",
        INSTALLER_MANAGES_ONLY_ITS_OWN,
    ),
    KnownFinding(
        "PRIVILEGE_ESCALATION",
        "installer",
        frozenset({"iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping",
                   "lambda:UpdateFunctionCode"}),
        "the installer deploys the functions' code, so it can run code as a function role; those roles are "
        "capped by the permissions boundary (no IAM changes, no vault data outside their own, no customer "
        "snapshots), and it can create or change no function outside the elastio- names",
        INSTALLER_CODE_RUNS_BOUNDED,
    ),
)


def _finding_actions(finding) -> set[str]:
    """The actions a finding names: in its detail (RESOURCE_MISMATCH) or its location (community auditors)."""
    detail, location = finding.detail, finding.location
    if isinstance(detail, list):
        return {entry["action"].lower() for entry in detail if isinstance(entry, dict) and "action" in entry}
    if isinstance(location, dict) and location.get("actions"):
        return {action.lower() for action in location["actions"]}
    return set()


def _is_known(name: str, finding) -> bool:
    """Known when accepted entries for this document and issue cover every action the finding names (one
    finding may name actions that several entries accept, each for its own reason)."""
    entries = [k for k in KNOWN_FINDINGS if k.document == name and k.issue == finding.issue]
    if any(not known.actions for known in entries):
        return bool(entries)
    accepted = {action.lower() for known in entries for action in known.actions}
    named = _finding_actions(finding)
    return bool(named) and named <= accepted


def analyze(document: dict):
    """Parliament with its community auditors (credentials exposure, privilege escalation, ...)."""
    return parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)


def findings(name: str, document: dict) -> list[tuple[str, str]]:
    """Parliament's findings for an identity policy, minus the known ones, as (issue, detail) pairs."""
    return [
        (f.issue, str(f.detail or f.location)) for f in analyze(document).findings if not _is_known(name, f)
    ]


def raw_issues(document: dict) -> list[str]:
    """Every finding's issue, unfiltered (to show the check can fail)."""
    return [f.issue for f in analyze(document).findings]

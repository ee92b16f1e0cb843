"""Every service-specific condition key in the IAM documents is one its actions support (issue 11).

AWS leaves a key an action does not support out of the request, so an Allow that needs it never matches and
a Deny that needs it never fires: silently, both ways. The supported keys come from the Service Authorization
Reference as parliament ships it (per action and per resource type). Global keys (aws:PrincipalArn,
aws:SecureTransport, ...) are in every request; the tag keys (aws:ResourceTag/..., aws:RequestTag/...,
aws:TagKeys) are not, so they are checked too.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest

from elastio_pulumi import connector_documents as connector
from elastio_pulumi import naming
from elastio_pulumi import vault_documents as vault
from tests.components.test_connector_documents import SCOPE as CONNECTOR
from tests.components.test_vault_documents import SCOPE as VAULT
from tests.parliament_known import parliament
from tests.test_iam_documents import IDENTITY, _condition_keys

DOCUMENTS = {
    **IDENTITY,
    **{f"function-{f}": connector.function_role_policy(CONNECTOR, f) for f in naming.FUNCTIONS},
    "vault-task": vault.task_role_policy(VAULT),
}
_TAG_KEYS = ("aws:ResourceTag/", "aws:RequestTag/", "aws:TagKeys")


def _actions(pattern: str) -> list[str]:
    service, name = pattern.split(":")
    definition = next(s for s in parliament.iam_definition if s["prefix"] == service)
    return [f"{service}:{p['privilege']}" for p in definition["privileges"] if fnmatchcase(p["privilege"], name)]


def unsupported(document: dict) -> list[tuple[str, str, str]]:
    """(statement, action, key) for every checked key an action of its statement does not support."""
    found = []
    for stmt in document["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        for entries in stmt.get("Condition", {}).values():
            for key in entries:
                if key.startswith("aws:") and not key.startswith(_TAG_KEYS):
                    continue
                for action in (a for pattern in actions for a in _actions(pattern)):
                    if not any(_template(listed).fullmatch(key) for listed in _condition_keys(action)):
                        found.append((stmt.get("Sid", ""), action, key))
    return found


def _template(listed: str) -> re.Pattern:
    """A listed key as a pattern: `${TagKey}`, `${EncryptionContextKey}` stand for any one name; key names are
    case-insensitive."""
    return re.compile(re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(listed)), re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_condition_key_is_supported_by_the_actions_it_conditions(name):
    assert unsupported(DOCUMENTS[name]) == []


def test_the_check_reports_a_key_the_action_does_not_support():
    # s3:prefix is a ListBucket key; GetObject requests never carry it.
    bad = {"Statement": [{"Sid": "X", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                          "Condition": {"StringLike": {"s3:prefix": "reports/*"}}}]}
    assert unsupported(bad) == [("X", "s3:GetObject", "s3:prefix")]


def test_the_check_reads_templated_keys_per_action():
    # kms:EncryptionContext:<key> is a key of the cryptographic operations, not of DescribeKey.
    context = {"StringEquals": {"kms:EncryptionContext:elastio-purpose": "vault-secret"}}
    bad = {"Statement": [{"Sid": "X", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
                          "Resource": "*", "Condition": context}]}
    assert unsupported(bad) == [("X", "kms:DescribeKey", "kms:EncryptionContext:elastio-purpose")]

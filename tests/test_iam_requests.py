"""The small evaluator of tests/iam_requests.py against documented AWS evaluation cases."""

from __future__ import annotations

from tests.iam_requests import Request, is_allowed

ROLE = "arn:aws:iam::111122223333:role/ElastioVault-primary-euw1-task"
ROOT = "arn:aws:iam::111122223333:root"
OBJECT = "arn:aws:s3:::elastio-primary-111122223333-eu-west-1/packs/1.pack"


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str, resource: str = "*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


GET = Request(ROLE, "s3:GetObject", OBJECT)


def test_nothing_is_allowed_without_an_allow():
    assert not is_allowed(GET, [_doc(_allow("s3:PutObject"))])


def test_an_explicit_deny_wins_over_an_allow():
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert is_allowed(GET, [_doc(_allow("s3:GetObject"))])
    assert not is_allowed(GET, [_doc(_allow("s3:GetObject"), deny)])


def test_a_boundary_caps_an_identity_grant():
    assert not is_allowed(GET, [_doc(_allow("s3:GetObject"))], boundary=_doc(_allow("s3:PutObject")))


def test_a_boundary_caps_a_resource_policy_grant_to_the_role_arn():
    # IAM user guide, "Evaluating identity-based policies with resource-based policies" and permissions
    # boundaries: a same-account resource policy naming the role ARN is limited by the role's boundary.
    bucket_policy = _doc(_allow("s3:GetObject", OBJECT, Principal={"AWS": ROLE}))
    assert is_allowed(GET, [], resource_policy=bucket_policy)
    assert not is_allowed(GET, [], resource_policy=bucket_policy, boundary=_doc(_allow("s3:PutObject")))


def test_a_key_policy_must_delegate_to_iam_before_identity_policies_count():
    request = Request(ROLE, "kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/k")
    identity = [_doc(_allow("kms:Decrypt"))]
    assert not is_allowed(request, identity, key_policy=_doc(_allow("kms:Encrypt", Principal={"AWS": ROOT})))
    assert is_allowed(request, identity, key_policy=_doc(_allow("kms:*", Principal={"AWS": ROOT})))


def test_a_missing_condition_key_never_matches_an_allow_and_always_matches_a_negated_deny():
    tagged = {"StringEquals": {"aws:ResourceTag/elastio:resource": "true"}}
    assert not is_allowed(GET, [_doc(_allow("s3:GetObject", Condition=tagged))])
    untagged_deny = {
        "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:ResourceTag/elastio:resource": "true"}},
    }
    assert not is_allowed(GET, [_doc(_allow("s3:GetObject"), untagged_deny)])


def test_for_all_values_holds_on_a_subset_and_fails_on_an_extra_value():
    only_marker = {"ForAllValues:StringEquals": {"aws:TagKeys": ["elastio:resource"]}}
    policy = [_doc(_allow("ec2:CreateTags", Condition=only_marker))]
    assert is_allowed(Request(ROLE, "ec2:CreateTags", "x", {"aws:TagKeys": ["elastio:resource"]}), policy)
    assert not is_allowed(Request(ROLE, "ec2:CreateTags", "x", {"aws:TagKeys": ["elastio:resource", "a"]}), policy)


def test_a_resource_policy_deny_applies_through_a_principal_arn_condition():
    deny_others = {
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECT,
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ROLE}},
    }
    identity = [_doc(_allow("s3:GetObject"))]
    assert is_allowed(GET, identity, resource_policy=_doc(deny_others))
    other = Request("arn:aws:iam::111122223333:role/Admin", "s3:GetObject", OBJECT)
    assert not is_allowed(other, identity, resource_policy=_doc(deny_others))

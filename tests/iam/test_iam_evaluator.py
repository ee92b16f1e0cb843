"""The evaluator against the cases the AWS IAM and KMS guides document (each test names its page)."""

from __future__ import annotations

import pytest

from tests.iam.evaluator import Principal, Request, conditions_hold, decide, resource_matches

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Worker"
BUCKET = "arn:aws:s3:::data"
OBJECT = f"{BUCKET}/reports/a.json"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def allow(action, resource, condition=None, sid="A", effect="Allow"):
    statement = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def deny(action, resource, condition=None, sid="D"):
    return allow(action, resource, condition, sid, effect="Deny")


def resource_policy(principal, action, resource, effect="Allow", element="Principal", condition=None):
    statement = {"Effect": effect, element: principal, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


GET = Request("s3:GetObject", OBJECT)
EVERYTHING = allow("*", "*")
NOTHING_HERE = allow("sqs:SendMessage", "*")


# --- reference_policies_evaluation-logic_policy-eval-denyallow.html -------------------------------------


def test_a_request_nothing_allows_is_implicitly_denied():
    assert not decide(Principal(ROLE, (NOTHING_HERE,)), GET)


def test_an_identity_allow_grants_without_a_boundary():
    assert decide(Principal(ROLE, (allow("s3:GetObject", f"{BUCKET}/*"),)), GET)


def test_an_explicit_deny_in_any_identity_policy_overrides_an_allow():
    decision = decide(Principal(ROLE, (EVERYTHING, deny("s3:Get*", f"{BUCKET}/*"))), GET)
    assert not decision and "explicit deny" in decision.reason


def test_an_explicit_deny_in_the_resource_policy_overrides_an_identity_allow():
    bucket_policy = resource_policy({"AWS": "*"}, "s3:GetObject", f"{BUCKET}/*", effect="Deny")
    assert not decide(Principal(ROLE, (EVERYTHING,)), GET, bucket_policy)


# --- access_policies_boundaries.html ---------------------------------------------------------------------


def test_the_boundary_caps_an_identity_allow():
    bounded = Principal(ROLE, (EVERYTHING,), boundary=allow("sqs:*", "*"))
    decision = decide(bounded, GET)
    assert not decision and "boundary" in decision.reason


def test_the_boundary_grants_nothing_by_itself():
    assert not decide(Principal(ROLE, (NOTHING_HERE,), boundary=EVERYTHING), GET)


def test_a_deny_in_the_boundary_wins():
    bounded = Principal(
        ROLE,
        (EVERYTHING,),
        boundary={"Version": "2012-10-17", "Statement": EVERYTHING["Statement"] + deny("s3:*", "*")["Statement"]},
    )
    assert not decide(bounded, GET)


def test_a_same_account_resource_policy_naming_the_role_arn_is_still_capped_by_the_boundary():
    """The case principalmapper gets wrong: AWS applies the boundary to a grant that names the role ARN."""
    bounded = Principal(ROLE, (), boundary=allow("sqs:*", "*"))
    bucket_policy = resource_policy({"AWS": ROLE}, "s3:GetObject", f"{BUCKET}/*")
    decision = decide(bounded, GET, bucket_policy)
    assert not decision and "boundary" in decision.reason


def test_a_same_account_resource_policy_naming_the_role_arn_needs_no_identity_allow():
    bounded = Principal(ROLE, (), boundary=allow("s3:*", "*"))
    assert decide(bounded, GET, resource_policy({"AWS": ROLE}, "s3:GetObject", f"{BUCKET}/*"))


def test_a_grant_to_the_role_session_arn_is_not_limited_by_the_boundary():
    bounded = Principal(ROLE, (), boundary=allow("sqs:*", "*"))
    bucket_policy = resource_policy({"AWS": bounded.session_arn}, "s3:GetObject", f"{BUCKET}/*")
    assert decide(bounded, GET, bucket_policy)


def test_a_grant_to_the_account_root_only_delegates_to_identity_policies():
    bucket_policy = resource_policy({"AWS": ROOT}, "s3:GetObject", f"{BUCKET}/*")
    assert not decide(Principal(ROLE, (NOTHING_HERE,)), GET, bucket_policy)
    assert decide(Principal(ROLE, (allow("s3:GetObject", "*"),)), GET, bucket_policy)


def test_a_not_principal_deny_always_denies_a_bounded_role_even_when_it_lists_the_role():
    bounded = Principal(ROLE, (EVERYTHING,), boundary=EVERYTHING)
    listed = [ROLE, bounded.session_arn]
    bucket_policy = resource_policy({"AWS": listed}, "s3:*", f"{BUCKET}/*", effect="Deny", element="NotPrincipal")
    assert not decide(bounded, GET, bucket_policy)
    assert decide(Principal(ROLE, (EVERYTHING,)), GET, bucket_policy)


def test_an_arn_not_equals_principal_arn_deny_spares_the_listed_role():
    """The documented replacement for NotPrincipal: a Deny conditioned on aws:PrincipalArn."""
    bucket_policy = resource_policy(
        "*", "s3:*", f"{BUCKET}/*", effect="Deny", condition={"ArnNotEquals": {"aws:PrincipalArn": ROLE}}
    )
    assert decide(Principal(ROLE, (EVERYTHING,), boundary=EVERYTHING), GET, bucket_policy)
    other = Principal(f"arn:aws:iam::{ACCOUNT}:role/Other", (EVERYTHING,))
    assert not decide(other, GET, bucket_policy)


# --- KMS key-policies.html ---------------------------------------------------------------------------------


def test_an_identity_allow_on_a_key_grants_nothing_unless_the_key_policy_allows_the_account():
    use = Request("kms:Decrypt", KEY)
    principal = Principal(ROLE, (allow("kms:Decrypt", "*"),))
    assert not decide(principal, use, resource_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Admin"}, "kms:*", "*"))
    assert decide(principal, use, resource_policy({"AWS": ROOT}, "kms:*", "*"))


def test_a_key_policy_naming_the_role_grants_without_identity_but_within_the_boundary():
    use = Request("kms:Decrypt", KEY)
    key_policy = resource_policy({"AWS": ROLE}, "kms:Decrypt", "*")
    assert decide(Principal(ROLE, ()), use, key_policy)
    assert not decide(Principal(ROLE, (), boundary=allow("s3:*", "*")), use, key_policy)


def test_a_key_request_without_its_key_policy_is_a_mistake_in_the_table():
    with pytest.raises(ValueError, match="key policy"):
        decide(Principal(ROLE, (EVERYTHING,)), Request("kms:Decrypt", KEY))


# --- reference_policies_elements_condition_operators.html --------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"aws:RequestTag/team": "a"}}, {}, False),
        ({"StringNotEquals": {"aws:RequestTag/team": "a"}}, {}, True),  # negated operator, key absent
        ({"StringNotLike": {"aws:RequestTag/team": "a*"}}, {}, True),  # principalmapper returns False
        ({"ArnNotLike": {"aws:PrincipalArn": ROLE}}, {}, True),
        ({"StringEqualsIfExists": {"ec2:CreateAction": "CreateVolume"}}, {}, True),
        ({"StringEqualsIfExists": {"ec2:CreateAction": "CreateVolume"}}, {"ec2:CreateAction": "RunInstances"}, False),
        ({"Null": {"aws:RequestTag/team": "true"}}, {}, True),
        ({"Null": {"aws:RequestTag/team": "false"}}, {}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"StringEquals": {"AWS:REQUESTTAG/team": "a"}}, {"aws:RequestTag/team": "a"}, True),  # key names: any case
        ({"StringEquals": {"aws:RequestTag/team": "a"}}, {"aws:RequestTag/team": "A"}, False),  # values: exact
        ({"StringEquals": {"aws:RequestTag/team": ["b", "a"]}}, {"aws:RequestTag/team": "a"}, True),  # values OR
        (
            {"StringEquals": {"aws:RequestTag/team": "a", "aws:RequestTag/env": "p"}},
            {"aws:RequestTag/team": "a"},
            False,
        ),  # keys AND
        ({"StringLike": {"s3:prefix": "reports/*"}}, {"s3:prefix": "reports/2025/x"}, True),
        (
            {"ArnLike": {"ecs:cluster": f"arn:aws:ecs:*:{ACCOUNT}:cluster/elastio-*"}},
            {"ecs:cluster": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:cluster/elastio-a"},
            True,
        ),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),  # empty set: vacuously true
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ("a", "c")}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ("c", "a")}, True),
    ],
)
def test_condition_operators_follow_the_documented_rules(condition, context, holds):
    assert conditions_hold(condition, context) is holds


def test_a_multivalued_key_under_a_plain_operator_is_refused():
    with pytest.raises(ValueError, match="ForAllValues/ForAnyValue"):
        conditions_hold({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ("a", "b")})


def test_an_unknown_operator_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="not implemented"):
        conditions_hold({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}, {"aws:CurrentTime": "2021"})


# --- reference_policies_elements_resource.html, _notaction.html, _notresource.html ---------------------------


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("arn:aws:sqs:*:111122223333:elastio-*", "arn:aws:sqs:eu-west-1:111122223333:elastio-commands", True),
        ("arn:aws:sqs:*:111122223333:elastio-*", "arn:aws:sqs:eu-west-1:444455556666:elastio-commands", False),
        (
            "arn:aws:logs:*:1:log-group:/aws/lambda/e-*",
            "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/e-x:log-stream:s",
            True,
        ),  # the resource part may hold colons
        ("arn:aws:s3:::elastio-*", "arn:aws:s3:::elastio-a/packs/1", True),
        ("arn:aws:iam::1:role/Elastio*", "arn:aws:iam::1:role/elastioX", False),  # case-sensitive
        ("arn:aws:ec2:*::snapshot/*", "arn:aws:ec2:us-east-1:1:volume/vol-1", False),
    ],
)
def test_resource_patterns(pattern, arn, matches):
    assert resource_matches(pattern, arn) is matches


def test_not_action_and_not_resource_grant_everything_else():
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/secret/*"}],
    }
    principal = Principal(ROLE, (policy,))
    assert decide(principal, GET)
    assert not decide(principal, Request("iam:PutRolePolicy", ROLE))
    assert not decide(principal, Request("s3:GetObject", f"{BUCKET}/secret/k"))


def test_action_names_match_case_insensitively_with_wildcards():
    principal = Principal(ROLE, (allow("S3:get*", f"{BUCKET}/*"),))
    assert decide(principal, GET)
    assert not decide(principal, Request("s3:PutObject", OBJECT))

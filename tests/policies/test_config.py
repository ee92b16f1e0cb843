"""Policy config: levels per rule or for all, settings checked against each rule's schema."""

import pytest
from elastio_policies.config import PolicyConfigError
from elastio_policies.offline import evaluate

from tests.policies.policy_graph import changed
from tests.policies.test_rule_catalogue import NON_COMPLIANT

OLD_RUNTIME = changed("connector-us-east-1-router", lambda r: r["inputs"].update(runtime="python3.11"))


def test_rule_level_can_be_lowered_to_advisory(verdicts_of):
    verdicts = verdicts_of(OLD_RUNTIME, "lambda-supported-runtime", {"lambda-supported-runtime": "advisory"})
    assert [v.level for v in verdicts] == ["advisory"]


def test_disabled_rule_reports_nothing(verdicts_of):
    config = {"lambda-supported-runtime": "disabled"}
    assert verdicts_of(OLD_RUNTIME, "lambda-supported-runtime", config) == []


def test_all_sets_every_level_and_a_rule_entry_overrides_it():
    nat = NON_COMPLIANT["no-nat-gateway"][0]()
    verdicts = evaluate(nat, {"all": "mandatory", "no-nat-gateway": {"enforcementLevel": "advisory"}})
    assert [v.level for v in verdicts] == ["advisory"]
    assert [v.level for v in evaluate(nat, {"all": "mandatory"})] == ["mandatory"]


def test_remediate_level_is_reported_as_mandatory_like_the_engine(verdicts_of):
    verdicts = verdicts_of(OLD_RUNTIME, "lambda-supported-runtime", {"lambda-supported-runtime": "remediate"})
    assert [v.level for v in verdicts] == ["mandatory"]


def test_allowed_runtimes_setting_accepts_an_older_runtime(verdicts_of):
    config = {"lambda-supported-runtime": {"allowedRuntimes": ["python3.11", "python3.12", "python3.13"]}}
    assert verdicts_of(OLD_RUNTIME, "lambda-supported-runtime", config) == []


def test_required_tags_setting_adds_a_tag_every_resource_must_carry(verdicts_of):
    from tests.policies.policy_graph import compliant_graph

    config = {"required-tags": {"requiredTags": ["elastio:resource", "cost-center"]}}
    verdicts = verdicts_of(compliant_graph(), "required-tags", config)
    assert verdicts and all("cost-center" in v.message for v in verdicts)


def test_customer_managed_key_requirement_can_be_relaxed(verdicts_of):
    records = changed("connector-us-east-1-jobs",
                      lambda r: r["inputs"]["serverSideEncryption"].pop("kmsKeyArn"))
    assert len(verdicts_of(records, "dynamodb-kms-encryption")) == 1
    relaxed = {"dynamodb-kms-encryption": {"requireCustomerManagedKey": False}}
    assert verdicts_of(records, "dynamodb-kms-encryption", relaxed) == []


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"lambda-runtime": "advisory"}, ["'lambda-runtime'", "lambda-supported-runtime"]),
        ({"no-nat-gateway": "warn"}, ["no-nat-gateway", "'warn'", "advisory"]),
        ({"required-tags": {"requiredTag": ["x"]}}, ["required-tags.requiredTag", "requiredTags"]),
        ({"required-tags": {"requiredTags": "elastio:resource"}}, ["required-tags.requiredTags", "array"]),
        ({"lambda-supported-runtime": {"allowedRuntimes": [3.12]}}, ["allowedRuntimes[0]", "3.12", "string"]),
        ({"all": 1}, ["all", "1", "mandatory"]),
        ([1], ["JSON object", "an array"]),
        ("mandatory", ["JSON object", "a string"]),
    ],
    ids=["unknown-rule", "bad-level", "unknown-setting", "setting-not-a-list", "item-not-a-string",
         "bad-all", "config-is-a-list", "config-is-a-string"],
)
def test_bad_config_is_one_clear_error_naming_key_value_and_fix(config, names):
    with pytest.raises(PolicyConfigError) as raised:
        evaluate([], config)
    message = str(raised.value)
    assert "\n" not in message
    for name in names:
        assert name in message

from elastio_pulumi.constants import RESOURCE_TAG_KEY
from elastio_pulumi.tags import deployment_tags, merged_tags


def test_marker_tag_is_added_to_user_tags():
    assert merged_tags({"team": "platform"}) == {"team": "platform", RESOURCE_TAG_KEY: "true"}


def test_marker_tag_cannot_be_overridden():
    assert merged_tags({RESOURCE_TAG_KEY: "false"}, **{RESOURCE_TAG_KEY: "no"})[RESOURCE_TAG_KEY] == "true"


def test_component_tags_override_user_tags():
    assert merged_tags({"component": "user"}, component="vault")["component"] == "vault"


def test_a_components_tags_name_its_deployment_whatever_the_tags_given():
    # The IAM grants on a deployment's keys, jobs and restores key on it (elastio_contract.tags).
    given = {"team": "platform", "elastio:deployment": "production", RESOURCE_TAG_KEY: "no"}
    assert deployment_tags(given, "staging") == {
        "team": "platform", "elastio:deployment": "staging", RESOURCE_TAG_KEY: "true"
    }

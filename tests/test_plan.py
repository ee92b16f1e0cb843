"""The offline plan runner: graph records, regions, exports, determinism."""

from __future__ import annotations

import pytest

from plan import PlanError, build_plan
from tests.support import example_stack_values


def test_every_resource_has_a_configured_region(example_plan):
    regions = {r.region for r in example_plan.resources}
    assert regions == {"us-east-1", "eu-west-1"}


def test_parents_are_registered_resources(example_plan):
    urns = {r.urn for r in example_plan.resources}
    assert all(r.parent is None or r.parent in urns for r in example_plan.resources)


def test_exports_name_the_roles_and_each_region_for_the_tenant(example_plan):
    outputs = example_plan.outputs
    assert outputs["tenantRoleArn"].endswith(":role/ElastioTenant")
    assert set(outputs["regions"]) == {"us-east-1", "eu-west-1"}
    assert outputs["regions"]["us-east-1"]["vaultNames"] == ["primary", "compliance"]
    assert outputs["regions"]["eu-west-1"]["commandQueueUrl"].endswith("/elastio-commands")


def test_the_same_stack_plans_to_the_same_graph_twice(example_plan):
    again = build_plan("example")
    assert again.records() == example_plan.records()


def test_pulumi_yaml_defaults_apply_when_the_stack_omits_a_key():
    values = example_stack_values()
    # The images stay: the example's PrivateLink region cannot pull the default public ones.
    values["elastio:options"] = {k: values["elastio:options"][k] for k in ("workerImage", "serverImage")}
    plan = build_plan("example", stack_values=values)
    assert plan.config.options.log_retention_days == 30


def test_config_error_is_raised_as_plan_error_with_the_key_path():
    values = example_stack_values()
    values["elastio:regions"][1]["region"] = "eu-north-9"
    with pytest.raises(PlanError) as err:
        build_plan("example", stack_values=values)
    assert 'elastio:regions[1].region: "eu-north-9" is not a supported region' in str(err.value)

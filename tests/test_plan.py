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


def test_a_misspelt_top_level_key_fails_the_program_naming_it():
    # Through the program's own path (Pulumi config -> stack_config.from_pulumi), not the pure parser.
    values = example_stack_values()
    values["elastio:tag"] = values.pop("elastio:tags", {"team": "x"})
    with pytest.raises(PlanError) as err:
        build_plan("example", stack_values=values)
    assert "elastio:tag: unknown key; the keys are" in str(err.value)


def test_planned_registrations_carry_no_source_positions(tmp_path, monkeypatch):
    # plan.runner._skip_source_positions patches the SDK (no public hook turns them off); an SDK that collects
    # them some other way would leave the patch doing nothing and every plan a fifth slower.
    from plan import runner

    (tmp_path / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n\nclass Thing(pulumi.ComponentResource):\n"
        "    def __init__(self, name):\n        super().__init__('tiny:index:Thing', name)\n\nThing('one')\n"
    )
    frames = []

    class Counting(runner.RecordingMonitor):
        def RegisterResource(self, request):  # noqa: N802 - gRPC method name
            frames.append(len(request.stackTrace.frames))
            return super().RegisterResource(request)

    monkeypatch.setattr(runner, "RecordingMonitor", Counting)
    build_plan("dev", project_dir=tmp_path, stack_values={})
    assert frames and not any(frames)

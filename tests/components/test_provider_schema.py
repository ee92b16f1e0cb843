"""Every planned resource's inputs are inputs the pulumi-aws v7 SDK knows, down to nested blocks.

The mocks accept anything; a real `pulumi up` does not. See provider_schema.py for how the SDK's input types
are read.
"""

from __future__ import annotations

import copy

import pytest

from plan import Plan
from tests.components.provider_schema import args_class, input_problems


def _problems(plan: Plan) -> list[str]:
    return [
        f"{resource.type} {resource.name}: {problem}"
        for resource in plan.resources
        if resource.custom
        for problem in input_problems(resource.type, resource.inputs)
    ]


def _first(plan: Plan, type_token: str) -> dict:
    record = next(r for r in plan.resources if r.type == type_token)
    return copy.deepcopy(record.inputs)


def test_every_example_stack_input_matches_the_sdk_input_types(example_plan):
    assert _problems(example_plan) == []


def test_every_largest_stack_input_matches_the_sdk_input_types(largest_plan):
    assert _problems(largest_plan) == []


def test_every_planned_resource_type_has_an_sdk_input_type(example_plan, largest_plan):
    types = {r.type for plan in (example_plan, largest_plan) for r in plan.resources if r.custom}
    assert {t: args_class(t).__name__.endswith("Args") for t in types} == dict.fromkeys(types, True)


def test_an_unknown_resource_type_is_reported():
    with pytest.raises(LookupError, match="aws:lambda/function:Functio"):
        args_class("aws:lambda/function:Functio")


def test_a_misspelt_nested_key_is_reported(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["loggingConfig"] = {"log_groupp": "/aws/lambda/x", "logFormat": "JSON"}
    assert input_problems("aws:lambda/function:Function", inputs) == [
        "loggingConfig.log_groupp: not an input of FunctionLoggingConfigArgs "
        "(known: applicationLogLevel, logFormat, logGroup, systemLogLevel)"
    ]


def test_a_snake_case_top_level_key_is_reported(example_plan):
    inputs = _first(example_plan, "aws:sqs/queue:Queue")
    inputs["visibility_timeout_seconds"] = inputs.pop("visibilityTimeoutSeconds")
    problems = input_problems("aws:sqs/queue:Queue", inputs)
    assert [p.split(":")[0] for p in problems] == ["visibility_timeout_seconds"]


def test_a_bad_key_inside_a_list_of_blocks_is_reported(example_plan):
    token = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    inputs = _first(example_plan, token)
    inputs["rules"][1]["noncurrentVersionExpiration"] = {"days": 7.0}
    problems = input_problems(token, inputs)
    assert [p.split(":")[0] for p in problems] == ["rules[1].noncurrentVersionExpiration.days"]


def test_a_value_of_the_wrong_kind_is_reported(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["memorySize"] = "512"
    inputs["tracingConfig"] = "Active"
    problems = input_problems("aws:lambda/function:Function", inputs)
    assert sorted(p.split(":")[0] for p in problems) == ["memorySize", "tracingConfig"]


def test_a_fractional_number_for_an_integer_input_is_reported(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["timeout"] = 0.5
    assert input_problems("aws:lambda/function:Function", inputs) == ["timeout: expected int, got 0.5"]


def test_a_value_outside_an_sdk_enum_is_reported(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["runtime"] = "python3.99"
    problems = input_problems("aws:lambda/function:Function", inputs)
    assert len(problems) == 1 and problems[0].startswith("runtime: 'python3.99' is not one of the SDK's values")


def test_free_form_maps_accept_any_key(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["tags"] = {"any_snake_case:key": "value"}
    inputs["environment"] = {"variables": {"some_variable": "value"}}
    assert input_problems("aws:lambda/function:Function", inputs) == []


def test_a_free_form_map_value_of_the_wrong_kind_is_reported(example_plan):
    inputs = _first(example_plan, "aws:lambda/function:Function")
    inputs["tags"] = {"team": {"nested": "object"}}
    assert input_problems("aws:lambda/function:Function", inputs) == [
        "tags.team: expected str, got {'nested': 'object'}"
    ]


def test_provider_inputs_are_read_as_the_json_text_they_travel_as(example_plan):
    inputs = _first(example_plan, "pulumi:providers:aws")
    assert input_problems("pulumi:providers:aws", inputs) == []
    inputs["skip_region_validation"] = inputs.pop("skipRegionValidation")
    assert [p.split(":")[0] for p in input_problems("pulumi:providers:aws", inputs)] == ["skip_region_validation"]

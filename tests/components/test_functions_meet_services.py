"""The planned functions and the service code meet: environment, router map and handler paths agree."""

from __future__ import annotations

import importlib
import json

from elastio_contract import environment as env_names
from lambdas.shared.config import ROUTED_SERVICES, load_settings

FUNCTION = "aws:lambda/function:Function"


def functions(plan):
    return [r for r in plan.resources if r.type == FUNCTION]


def test_every_function_environment_loads_in_the_services_settings(example_plan):
    for function in functions(example_plan):
        settings = load_settings(function.inputs["environment"]["variables"])
        assert settings.tenant_events_queue_url.endswith("/elastio-tenant-events"), function.name


def test_the_router_map_names_every_routed_service_and_only_planned_functions(example_plan):
    for region in ("us-east-1", "eu-west-1"):
        planned = {f.inputs["name"] for f in functions(example_plan) if f.region == region}
        (router,) = [f for f in functions(example_plan) if f.region == region and f.inputs["name"].endswith("router")]
        routes = json.loads(router.inputs["environment"]["variables"][env_names.FUNCTIONS])
        assert set(routes) == set(ROUTED_SERVICES)
        assert set(routes.values()) <= planned


def test_every_handler_string_points_at_a_callable_in_lambdas(example_plan):
    for function in functions(example_plan):
        module_name, attribute = function.inputs["handler"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module_name), attribute)), function.inputs["handler"]

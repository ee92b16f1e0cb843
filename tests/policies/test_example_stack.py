"""The rules on the example stack's planned graph (the real program under mocks), not just on fixtures."""

import pytest
from elastio_policies.offline import evaluate

from tests.policies.test_engine_parity import engine_diagnostics, offline_diagnostics


@pytest.fixture(scope="module")
def example_records(example_plan):
    return example_plan.records()


def test_example_graph_gives_the_same_verdicts_offline_as_in_the_policy_analyzer(example_records):
    assert offline_diagnostics(example_records) == engine_diagnostics(example_records)


def test_every_verdict_on_the_example_names_a_planned_resource_and_no_rule_fails(example_records):
    urns = {record["urn"] for record in example_records}
    for verdict in evaluate(example_records):
        assert verdict.urn in urns, verdict
        assert "bug in the policy pack" not in verdict.message, verdict

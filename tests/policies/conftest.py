import pytest
from elastio_policies.offline import evaluate


@pytest.fixture
def verdicts_of():
    """verdicts_of(records, rule, config=None): the verdicts one rule gives on the records."""

    def run(records, rule, config=None):
        return [verdict for verdict in evaluate(records, config) if verdict.policy == rule]

    return run

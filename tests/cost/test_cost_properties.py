"""The reference document's trends, as properties of the model over typical workloads.

Typical: at least 500 GB, 0.5-10% changed a day, 7-365 days retention. Where the model disagrees with a
trend inside that range (change rate at short retention), the test pins the disagreement and
cost/README.md explains it.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from cost import Assumptions, Workload, default_table, estimate
from cost.graph import idle_lines
from cost.lines import total
from tests.cost.graphs import stack_records

PRICES = default_table()
MINIMAL = stack_records()

protected = st.floats(min_value=500, max_value=500_000)
rates = st.floats(min_value=0.005, max_value=0.10)
retentions = st.integers(min_value=7, max_value=365)
profiles = st.sampled_from(["general", "database", "media", "logs"])
regions = st.sampled_from(PRICES.regions)


def savings(**workload) -> float:
    result = estimate(MINIMAL, Workload(**workload))
    return result.savings_pct(result.ebs_snapshots)


@settings(max_examples=150, deadline=None)
@given(protected, rates, retentions, retentions, profiles)
def test_savings_grow_with_retention(gb, rate, days_a, days_b, profile):
    short, long = sorted((days_a, days_b))
    if short == long:
        return
    assert savings(
        protected_gb=gb, daily_change_rate=rate, retention_days=long, data_profile=profile
    ) > savings(protected_gb=gb, daily_change_rate=rate, retention_days=short, data_profile=profile)


# Up to 5%/day: above it overlapping rewrites saturate the changed blocks of both the vault and the
# snapshots (1-(1-r)^a), so savings flatten (databases, a = 5) instead of growing further.
moderate_rates = st.floats(min_value=0.005, max_value=0.05)


@settings(max_examples=150, deadline=None)
@given(protected, moderate_rates, moderate_rates, st.integers(min_value=45, max_value=365), profiles)
def test_savings_grow_with_change_rate_from_45_days_retention(gb, rate_a, rate_b, days, profile):
    low, high = sorted((rate_a, rate_b))
    if high - low < 1e-6:
        return
    assert savings(
        protected_gb=gb, daily_change_rate=high, retention_days=days, data_profile=profile
    ) > savings(protected_gb=gb, daily_change_rate=low, retention_days=days, data_profile=profile)


def test_at_one_week_retention_higher_change_rates_save_less():
    # Each changed GB costs the vault index writes and block reads once, while a snapshot keeps it only a
    # week: below about a month of retention the document's change-rate trend reverses (see README).
    assert savings(daily_change_rate=0.10, retention_days=7) < savings(
        daily_change_rate=0.005, retention_days=7
    )


@settings(max_examples=150, deadline=None)
@given(protected, rates, retentions)
def test_compressed_media_saves_less_than_unstructured_data(gb, rate, days):
    workload = {"protected_gb": gb, "daily_change_rate": rate, "retention_days": days}
    assert savings(data_profile="media", **workload) < savings(data_profile="general", **workload)


@settings(max_examples=60, deadline=None)
@given(regions)
def test_minimal_stack_idles_at_or_under_three_dollars_in_any_region(region):
    assert total(idle_lines(stack_records(regions=(region,)), PRICES, Assumptions())) <= 3.0


@settings(max_examples=60, deadline=None)
@given(st.lists(regions, min_size=1, max_size=4, unique=True), st.integers(min_value=1, max_value=3))
def test_idle_cost_grows_with_vaults_and_regions(chosen, vaults):
    def idle(rs, n):
        return total(idle_lines(stack_records(regions=tuple(rs), vaults=n), PRICES, Assumptions()))

    base = idle(chosen, vaults)
    assert idle(chosen, vaults + 1) > base
    extra = next(r for r in PRICES.regions if r not in chosen)
    assert idle([*chosen, extra], vaults) > base

"""The cost target of issue 14, measured by the cost model priced from the engine's own counts.

Target: for 1 TB of `general` data changing 2% a day in us-east-1, the vault side of the monthly cost
(everything but the change-tracking snapshot and the stack's idle floor) within 15% of its storage floor
(unique compressed bytes in S3 plus the changed-block reads) at 30, 90 and 365 days of retention, which
the issue expects to give savings against EBS snapshots of about 20%, 50% and 75%. Definitions:
cost/targets.py. The workload is priced on the minimal stack the real program plans offline (one region,
one vault, public IPs: what the cost README's tables use); 1 TB is the model's default 1000 GB. Prints the
figures with PASS/MISS; never fails (`make bench`).

    .venv/bin/python benchmarks/cost_targets.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cost import Assumptions, Workload, default_table, estimate, get_profile  # noqa: E402
from cost.operations import operation_counts  # noqa: E402
from cost.targets import VAULT_SIDE_TARGET_RATIO, target_check, vault_side_lines  # noqa: E402
from tests.cost.test_cost_planned_graph import minimal_values  # noqa: E402 (the cost README's stack)

REGION = "us-east-1"
PROTECTED_GB = 1000.0
DAILY_CHANGE_RATE = 0.02
PROFILE = "general"
# Retention days -> the savings against EBS snapshots the issue expects once the target is met.
EXPECTED_SAVINGS_PCT = {30: 20.0, 90: 50.0, 365: 75.0}


def minimal_stack_records() -> list[dict]:
    """The graph of a single-region, single-vault stack as the real program plans it (plan/ under mocks)."""
    from plan import build_plan

    return build_plan("example", stack_values=minimal_values()).records()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args()

    records = minimal_stack_records()
    prices = default_table()
    checks, largest = [], {}
    for days in EXPECTED_SAVINGS_PCT:
        workload = Workload(PROTECTED_GB, DAILY_CHANGE_RATE, days, PROFILE)
        checks.append(target_check(records, workload, prices=prices))
        lines = vault_side_lines(estimate(records, workload, prices=prices))
        largest[days] = sorted(lines, key=lambda line: -line.monthly_usd)[:4]
    profile = get_profile(PROFILE)
    operations = operation_counts(Assumptions())

    if args.json:
        print(json.dumps(
            {
                "checks": [
                    {**check.as_dict(), "expected_savings_vs_snapshots_pct": EXPECTED_SAVINGS_PCT[days]}
                    for days, check in zip(EXPECTED_SAVINGS_PCT, checks, strict=True)
                ],
                "profile_sources": list(profile.sources),
                "operations_source": operations.source,
                "prices_as_of": prices.as_of(),
            },
            indent=2,
        ))
        return

    print(
        f"Cost target (issue 14): vault side <= {VAULT_SIDE_TARGET_RATIO:g} x storage floor; "
        f"{PROTECTED_GB:g} GB of '{PROFILE}' data, {DAILY_CHANGE_RATE:.0%}/day, {REGION}, minimal stack"
    )
    print(f"profile '{PROFILE}': dedup {profile.dedup_factor:g}x, compression {profile.compression_factor:g}x, "
          f"changed runs {profile.changed_extent_kib:g} KiB")
    for source in profile.sources:
        print(f"  - {source}")
    print(f"operation counts: {operations.source}")
    print(f"prices as of {prices.as_of()}; monthly USD, steady state")
    print()
    head = (
        f"{'retention':>9}  {'floor':>8}  {'vault side':>10}  {'ratio':>5}  {'target':>6}  {'':4}  "
        f"{'savings vs snapshots':>20}  {'expected':>8}  {'at target':>9}"
    )
    print(head)
    print("-" * len(head))
    for days, check in zip(EXPECTED_SAVINGS_PCT, checks, strict=True):
        print(
            f"{days:>4} days  {check.floor_usd:>8.2f}  {check.vault_side_usd:>10.2f}  {check.ratio:>5.2f}  "
            f"{check.target_ratio:>6.2f}  {'PASS' if check.meets_target else 'MISS':4}  "
            f"{_pct(check.savings_pct):>20}  {'~' + _pct(EXPECTED_SAVINGS_PCT[days]):>8}  "
            f"{_pct(check.savings_at_target_pct):>9}"
        )
    print()
    print("savings: Elastio's whole month (idle floor + change-tracking snapshot + vault side) against daily EBS "
          "snapshots; 'at target': the same with the vault side at exactly the target ratio")
    print(
        f"outside the vault side: idle floor {checks[0].idle_usd:.2f}, change-tracking snapshot "
        f"{checks[0].change_tracking_usd:.2f} a month"
    )
    for days, lines in largest.items():
        shown = "; ".join(f"{line.resource} {line.monthly_usd:.2f}" for line in lines)
        print(f"largest vault-side lines at {days} days: {shown}")


if __name__ == "__main__":
    main()

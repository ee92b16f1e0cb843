"""How long the offline plan of the largest supported deployment takes: 11 regions x 4 vaults.

Target: under 8 s on a 2-core machine (the mock runtime costs about 3 ms per resource). Prints the figures;
run it with `.venv/bin/python -m benchmarks.plan_benchmark [--runs N]`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Any

from components.constants import MAX_VAULTS_PER_REGION, SUPPORTED_REGIONS

TARGET_SECONDS = 8.0


def largest_stack_values(private_link: bool = True) -> dict[str, Any]:
    """Every supported region with the maximum number of vaults, PrivateLink on (the most resources)."""
    regions = []
    for index, region in enumerate(SUPPORTED_REGIONS):
        network: dict[str, Any] = {
            "vpcId": f"vpc-{index:017x}",
            "subnetIds": [f"subnet-{index:08x}{n:09x}" for n in (1, 2)],
            "routeTableIds": [f"rtb-{index:08x}{n:09x}" for n in (1, 2)],
            "privateLink": private_link,
        }
        vaults: list[dict[str, Any]] = [{"name": f"vault{n}"} for n in range(1, MAX_VAULTS_PER_REGION + 1)]
        vaults[-1]["objectLock"] = {"mode": "COMPLIANCE", "days": 365}
        regions.append({"region": region, "network": network, "vaults": vaults})
    return {
        "elastio:tenant": {"accountId": "210987654321"},
        "elastio:externalId": "benchmark-external-id",
        "elastio:regions": regions,
        "elastio:iam": {"namePrefix": "acme-", "nameSuffix": "-prod"},
        "elastio:options": {"tracing": True, "alertEmails": ["ops@example.com", "backup@example.com"]},
        "elastio:tags": {"team": "platform"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=1, help="plan this many times and report each (default 1)"
    )
    args = parser.parse_args(argv)

    from plan import build_plan  # imported here so the import time is reported apart

    started = time.perf_counter()
    import pulumi_aws  # noqa: F401 - loaded by the program; measured apart from planning

    print(f"imports: {time.perf_counter() - started:.2f} s")
    values = largest_stack_values()
    worst = 0.0
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        plan = build_plan("bench", stack_values=values)
        elapsed = time.perf_counter() - started
        worst = max(worst, elapsed)
        count = len(plan.resources)
        custom = sum(1 for r in plan.resources if r.custom)
        print(
            f"run {run}: {len(SUPPORTED_REGIONS)} regions x {MAX_VAULTS_PER_REGION} vaults: {elapsed:.2f} s, "
            f"{count} resources ({custom} cloud resources), {1000 * elapsed / count:.2f} ms per resource"
        )
    per_type = Counter(r.type for r in plan.resources)
    print("largest types: " + ", ".join(f"{t.split(':')[-1]} {n}" for t, n in per_type.most_common(6)))
    verdict = "within" if worst < TARGET_SECONDS else "OVER"
    print(f"slowest run {worst:.2f} s: {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())

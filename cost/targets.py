"""Issue 14's cost target in the model's own terms: the vault side of a workload's monthly cost against its
storage floor.

- **Storage floor**: what no backup of the workload can avoid paying, with the model's byte counts
  (`cost.usage.data_flow`): the unique compressed bytes in S3 (the first full copy and the changes kept for
  retention; no dead chunks awaiting compaction, no noncurrent versions) at S3 Standard, plus each changed
  512 KiB block read once through GetSnapshotBlock (however many calls the engine really makes).
- **Vault side**: every usage line of the estimate except the change-tracking snapshot (the latest EBS
  snapshot per volume, which ListChangedBlocks needs and which the vault cannot shrink); the stack's idle
  floor is not usage, so it is out too. It is priced from the engine's own operation counts
  (cost/operations.py, from the calibration).

The target (issue 14): vault side within 15% of the floor for 1 TB of `general` data at 2%/day in
us-east-1 at 30, 90 and 365 days of retention. `benchmarks/cost_targets.py` prints it (`make bench`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cost.assumptions import Assumptions
from cost.estimate import Estimate, estimate
from cost.lines import Line, priced, total
from cost.operations import KIB_PER_GB
from cost.prices import PriceTable, default_table
from cost.profiles import DataProfile
from cost.usage import data_flow
from cost.workload import Workload

VAULT_SIDE_TARGET_RATIO = 1.15  # issue 14: the vault side within 15% of the storage floor
# The only usage line priced as EBS snapshot storage: the change-tracking snapshot (cost/usage.py).
CHANGE_TRACKING_PRICE_KEY = "ebs.snapshot.standard"


def storage_floor_lines(
    workload: Workload,
    profile: DataProfile,
    region: str,
    prices: PriceTable,
    assumptions: Assumptions,
    component: str = "",
) -> list[Line]:
    """A month of the workload's storage floor: unique compressed bytes in S3, changed blocks read once."""
    a = assumptions
    flow = data_flow(workload, profile, a)
    blocks_per_gb = KIB_PER_GB / a.ebs_block_kib  # each changed block once: 2048 per GB of 512 KiB blocks
    return [
        priced(
            prices,
            "s3.standard.storage",
            region,
            "Floor: unique compressed bytes in S3",
            flow.full_copy_stored_gb + flow.retained_changes_stored_gb,
            "usage",
            "first full copy and the changes kept for retention, nothing else",
            component,
        ),
        priced(
            prices,
            "ebs.direct.get_block",
            region,
            "Floor: changed blocks read once",
            a.days_per_month * flow.changed_block_gb_per_day * blocks_per_gb / 1e3,
            "usage",
            f"{blocks_per_gb:g} GetSnapshotBlock calls per changed GB",
            component,
        ),
    ]


def vault_side_lines(result: Estimate) -> list[Line]:
    """The estimate's usage lines except the change-tracking snapshot (the idle floor is not usage)."""
    return [line for line in result.elastio if line.part == "usage" and line.price_key != CHANGE_TRACKING_PRICE_KEY]


def change_tracking_lines(result: Estimate) -> list[Line]:
    return [line for line in result.elastio if line.part == "usage" and line.price_key == CHANGE_TRACKING_PRICE_KEY]


@dataclass(frozen=True)
class TargetCheck:
    """One workload's vault side against its floor, and what that means for the savings against snapshots."""

    workload: Workload
    floor_usd: float
    vault_side_usd: float
    change_tracking_usd: float
    idle_usd: float
    ebs_snapshots_usd: float
    target_ratio: float = VAULT_SIDE_TARGET_RATIO

    @property
    def ratio(self) -> float:
        return self.vault_side_usd / self.floor_usd

    @property
    def meets_target(self) -> bool:
        return self.ratio <= self.target_ratio

    @property
    def elastio_usd(self) -> float:
        return self.idle_usd + self.change_tracking_usd + self.vault_side_usd

    def _savings(self, elastio_usd: float) -> float | None:
        base = self.ebs_snapshots_usd
        return None if base <= 0 else 100.0 * (base - elastio_usd) / base

    @property
    def savings_pct(self) -> float | None:
        """Savings against EBS snapshots as the model prices the vault today."""
        return self._savings(self.elastio_usd)

    @property
    def savings_at_target_pct(self) -> float | None:
        """The same, if the vault side cost exactly `target_ratio` times the floor."""
        return self._savings(self.idle_usd + self.change_tracking_usd + self.target_ratio * self.floor_usd)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload.as_dict(),
            "floor_monthly_usd": self.floor_usd,
            "vault_side_monthly_usd": self.vault_side_usd,
            "ratio": self.ratio,
            "target_ratio": self.target_ratio,
            "meets_target": self.meets_target,
            "change_tracking_monthly_usd": self.change_tracking_usd,
            "idle_monthly_usd": self.idle_usd,
            "ebs_snapshots_monthly_usd": self.ebs_snapshots_usd,
            "savings_vs_snapshots_pct": self.savings_pct,
            "savings_vs_snapshots_at_target_pct": self.savings_at_target_pct,
        }


def target_check(
    records: Iterable[Mapping[str, Any]],
    workload: Workload,
    *,
    region: str | None = None,
    prices: PriceTable | None = None,
    assumptions: Assumptions | None = None,
    target_ratio: float = VAULT_SIDE_TARGET_RATIO,
) -> TargetCheck:
    """Price `workload` on the graph (`cost.estimate`, one workload) and hold its vault side to the floor."""
    prices = prices or default_table()
    result = estimate(records, workload, prices=prices, assumptions=assumptions, region=region)
    (usage,) = result.usages
    floor = storage_floor_lines(
        usage.workload, usage.profile, usage.region, prices, usage.assumptions, usage.component
    )
    return TargetCheck(
        workload=workload,
        floor_usd=total(floor),
        vault_side_usd=total(vault_side_lines(result)),
        change_tracking_usd=total(change_tracking_lines(result)),
        idle_usd=result.idle_monthly_usd,
        ebs_snapshots_usd=total(result.ebs_snapshots),
        target_ratio=target_ratio,
    )

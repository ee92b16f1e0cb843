"""The estimate: idle lines from the graph, usage lines for the workload, the two baselines, the savings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cost import graph as graph_facts
from cost.assumptions import Assumptions
from cost.errors import CostInputError
from cost.lines import Line, apply_free_tier, total
from cost.prices import PriceTable, default_table
from cost.profiles import DataProfile, get_profile
from cost.usage import aws_backup_lines, ebs_snapshot_lines, elastio_usage_lines
from cost.workload import Workload


class Measurement(Protocol):
    """What `engine.measure.measure_path` returns (only these fields are read)."""

    dedup_factor: float
    compression_factor: float
    logical_bytes: int


@dataclass(frozen=True)
class Estimate:
    workload: Workload
    profile: DataProfile
    region: str
    assumptions: Assumptions
    facts: graph_facts.GraphFacts
    elastio: list[Line]
    ebs_snapshots: list[Line]
    aws_backup: list[Line]
    free_tier: bool
    prices_as_of: str
    notes: list[str] = field(default_factory=list)

    @property
    def idle_monthly_usd(self) -> float:
        return total([line for line in self.elastio if line.part == "fixed"])

    @property
    def elastio_monthly_usd(self) -> float:
        return total(self.elastio)

    def savings_pct(self, baseline: list[Line]) -> float | None:
        base = total(baseline)
        return None if base <= 0 else 100.0 * (base - self.elastio_monthly_usd) / base

    def as_dict(self) -> dict[str, Any]:
        elastio = [line.as_dict() for line in self.elastio]
        return {
            "idle_monthly_usd": self.idle_monthly_usd,
            "usage_monthly_usd": self.elastio_monthly_usd - self.idle_monthly_usd,
            "elastio": {"monthly_usd": self.elastio_monthly_usd, "lines": elastio},
            "ebs_snapshots": {
                "monthly_usd": total(self.ebs_snapshots),
                "lines": [line.as_dict() for line in self.ebs_snapshots],
            },
            "aws_backup": {
                "monthly_usd": total(self.aws_backup),
                "lines": [line.as_dict() for line in self.aws_backup],
            },
            "savings_vs_snapshots_pct": self.savings_pct(self.ebs_snapshots),
            "savings_vs_aws_backup_pct": self.savings_pct(self.aws_backup),
            "assumptions": {
                "workload": self.workload.as_dict(),
                "usage_region": self.region,
                "data_profile": {
                    "name": self.profile.name,
                    "dedup_factor": self.profile.dedup_factor,
                    "compression_factor": self.profile.compression_factor,
                    "changed_extent_kib": self.profile.changed_extent_kib,
                    "sources": list(self.profile.sources),
                },
                "model": self.assumptions.as_dict(),
                "free_tier_included": self.free_tier,
                "prices_as_of": self.prices_as_of,
                "graph_regions": list(self.facts.regions),
                "priced_by_use_only": self.facts.priced_by_use,
            },
            "notes": list(self.notes),
        }


def _with_graph_settings(assumptions: Assumptions, facts: graph_facts.GraphFacts) -> Assumptions:
    """The graph's own settings (job size, lifecycle, log retention) replace the defaults."""
    from_graph = {
        "job_vcpu": facts.job_vcpu,
        "job_memory_gb": facts.job_memory_gb,
        "noncurrent_days": facts.noncurrent_days,
        "log_retention_days": facts.log_retention_days,
    }
    return replace(assumptions, **{k: v for k, v in from_graph.items() if v is not None})


def _usage_region(facts: graph_facts.GraphFacts, region: str | None, prices: PriceTable) -> str:
    if region:
        return prices.check_region(region)
    if facts.vault_regions:
        return facts.vault_regions[0]
    if facts.regions:
        return facts.regions[0]
    raise CostInputError(
        "region", None, "not given, and no resource in the graph has a region: give the workload's, e.g. us-east-1"
    )


def estimate(
    records: Iterable[Mapping[str, Any]],
    workload: Workload | None = None,
    *,
    prices: PriceTable | None = None,
    assumptions: Assumptions | None = None,
    free_tier: bool = False,
    region: str | None = None,
    measurement: Measurement | None = None,
    sample_label: str = "a sample",
) -> Estimate:
    """Price `records` (the planned graph) at rest and with `workload`, against EBS snapshots and AWS Backup.

    The workload is placed in `region`, else in the first vault's region. A `measurement` of real data
    replaces the profile's dedup and compression factors.
    """
    records = list(records)
    prices = prices or default_table()
    workload = workload or Workload()
    facts = graph_facts.facts(records, prices)
    model = _with_graph_settings(assumptions or Assumptions(), facts)
    where = _usage_region(facts, region, prices)
    profile = get_profile(workload.data_profile)
    notes: list[str] = []
    if measurement is not None:
        if not measurement.logical_bytes:
            raise CostInputError(
                "sample", sample_label, "holds no data to measure: give a file or folder with data"
            )
        profile = profile.measured(measurement.dedup_factor, measurement.compression_factor, sample_label)
        notes.append(
            f"dedup {measurement.dedup_factor:.3g}x and compression {measurement.compression_factor:.3g}x "
            f"measured on {sample_label} replace the {workload.data_profile} profile's factors"
        )
    if facts.bucket_key_enabled is None:
        notes.append("no S3 encryption settings in the graph: priced one KMS request per object request")
    fixed = graph_facts.idle_lines(records, prices, model)
    usage = elastio_usage_lines(
        workload,
        profile,
        where,
        prices,
        model,
        spot=facts.compute_type == "FARGATE_SPOT",
        bucket_key=bool(facts.bucket_key_enabled),
        pitr=facts.pitr_enabled is not False,
    )
    elastio = fixed + usage
    if free_tier:
        elastio = apply_free_tier(elastio, prices)
    return Estimate(
        workload=workload,
        profile=profile,
        region=where,
        assumptions=model,
        facts=facts,
        elastio=elastio,
        ebs_snapshots=ebs_snapshot_lines(workload, profile, where, prices, model),
        aws_backup=aws_backup_lines(workload, profile, where, prices, model),
        free_tier=free_tier,
        prices_as_of=prices.as_of(),
        notes=notes,
    )


def summary(
    records: Iterable[Mapping[str, Any]],
    usage: Any = None,
    *,
    free_tier: bool = False,
    prices: PriceTable | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """For the preview: the estimate as a JSON-ready dict (the same shape as `python -m cost --json`).

    `usage` is the stack's usage config (`Plan.config.usage`), a mapping with its camelCase keys, a
    `Workload`, or None for the defaults. Raises `CostInputError`; `err.describe("elastio:usage...")`
    names the key.
    """
    workload = usage if isinstance(usage, Workload) else Workload.from_usage(usage or {})
    return estimate(records, workload, free_tier=free_tier, prices=prices, region=region).as_dict()

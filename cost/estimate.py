"""The estimate: idle lines from the graph, usage lines per vault, the two baselines, the savings, the time
view (month 1, steady state, years 2 and 3) and the $3 floor check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cost import graph as graph_facts
from cost.assumptions import Assumptions
from cost.errors import CostInputError
from cost.lines import Line, apply_free_tier, rollup, total
from cost.operations import operation_counts
from cost.prices import PriceTable, default_table
from cost.profiles import DataProfile, get_profile
from cost.usage import (
    Network,
    aws_backup_lines,
    ebs_snapshot_lines,
    elastio_usage_lines,
    first_backup_lines,
)
from cost.workload import Workload

SCHEMA_VERSION = "1"
# The reference document's claim: a stack at rest costs at most $3 a month.
IDLE_FLOOR_USD = 3.0
YEARS = (1, 2, 3)
# Idle lines the minimal stack (one region, one vault, no PrivateLink) does not have, wherever they are.
BEYOND_MINIMAL_KEYS = ("vpce.interface.hours", "vpc.nat_gateway.hours", "secretsmanager.secret")


class Measurement(Protocol):
    """What `engine.measure.measure_path` returns (only these fields are read)."""

    dedup_factor: float
    compression_factor: float
    logical_bytes: int


@dataclass(frozen=True)
class VaultUsage:
    """One workload, priced in its vault's region with that vault's settings."""

    component: str
    region: str
    workload: Workload
    profile: DataProfile
    assumptions: Assumptions
    source: str  # the config key, "--graph FILE", or "flags and defaults"

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "region": self.region,
            "source": self.source,
            "workload": self.workload.as_dict(),
        }


@dataclass(frozen=True)
class Estimate:
    usages: tuple[VaultUsage, ...]
    facts: graph_facts.GraphFacts
    elastio: list[Line]
    ebs_snapshots: list[Line]
    aws_backup: list[Line]
    first_month: list[Line]  # what month 1 adds once (the first full backups)
    rotation: dict[int, list[Line]]  # year -> the key materials rotation adds that year
    free_tier: bool
    prices_as_of: str
    notes: list[str] = field(default_factory=list)

    # The first workload's view, for callers that price one workload.
    @property
    def workload(self) -> Workload:
        return self.usages[0].workload

    @property
    def profile(self) -> DataProfile:
        return self.usages[0].profile

    @property
    def region(self) -> str:
        return self.usages[0].region

    @property
    def assumptions(self) -> Assumptions:
        return self.usages[0].assumptions

    @property
    def idle(self) -> list[Line]:
        return [line for line in self.elastio if line.part == "fixed"]

    @property
    def idle_monthly_usd(self) -> float:
        return total(self.idle)

    @property
    def elastio_monthly_usd(self) -> float:
        return total(self.elastio)

    def idle_monthly_usd_in_year(self, year: int) -> float:
        return self.idle_monthly_usd + total(self.rotation.get(year, []))

    def savings_pct(self, baseline: list[Line]) -> float | None:
        base = total(baseline)
        return None if base <= 0 else 100.0 * (base - self.elastio_monthly_usd) / base

    def floor_breakers(self) -> list[dict[str, Any]]:
        """The lines that put the idle floor over $3, in any of years 1-3: everything beyond the minimal stack
        (one region's connector and its first vault) in year 1, and rotation from the year it bites."""
        breakers: list[dict[str, Any]] = []
        if self.idle_monthly_usd > IDLE_FLOOR_USD:
            core = _minimal_components(self.facts, self.usages)
            breakers += [
                {**line.as_dict(), "from_year": 1}
                for line in self.idle
                if (line.component not in core or line.price_key in BEYOND_MINIMAL_KEYS) and line.monthly_usd > 0
            ]
        for year in YEARS[1:]:
            if self.idle_monthly_usd_in_year(year) > IDLE_FLOOR_USD:
                breakers += [{**line.as_dict(), "from_year": year} for line in self.rotation.get(year, [])]
                break  # rotation lines of the first year over the floor name the keys; later years add amounts
        return sorted(breakers, key=lambda b: (b["from_year"], -b["monthly_usd"]))

    def as_dict(self) -> dict[str, Any]:
        first = self.usages[0]
        steady = self.elastio_monthly_usd
        by_year = {str(year): self.idle_monthly_usd_in_year(year) for year in YEARS}
        return {
            "schemaVersion": SCHEMA_VERSION,
            "currency": "USD",
            "idle_monthly_usd": self.idle_monthly_usd,
            "usage_monthly_usd": steady - self.idle_monthly_usd,
            "idle_monthly_usd_by_year": by_year,
            "first_month_extra_usd": total(self.first_month),
            "within_three_dollar_floor": self.idle_monthly_usd <= IDLE_FLOOR_USD,
            "floor_breakers": self.floor_breakers(),
            "time_view": {
                "month_1_usd": steady + total(self.first_month),
                "steady_monthly_usd": steady,
                "year_2_monthly_usd": steady + total(self.rotation.get(2, [])),
                "year_3_monthly_usd": steady + total(self.rotation.get(3, [])),
                "first_month_lines": [line.as_dict() for line in self.first_month],
                "rotation_lines": {str(y): [line.as_dict() for line in lines] for y, lines in self.rotation.items()},
            },
            "elastio": {"monthly_usd": steady, "lines": [line.as_dict() for line in self.elastio]},
            "totals": {
                "by_region": rollup(self.elastio, "region"),
                "by_component": rollup(self.elastio, "component"),
            },
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
                "workload": first.workload.as_dict(),
                "usage_region": first.region,
                "workloads": [usage.as_dict() for usage in self.usages],
                "data_profile": {
                    "name": first.profile.name,
                    "dedup_factor": first.profile.dedup_factor,
                    "compression_factor": first.profile.compression_factor,
                    "changed_extent_kib": first.profile.changed_extent_kib,
                    "sources": list(first.profile.sources),
                },
                "model": first.assumptions.as_dict(),
                "operations": operation_counts(first.assumptions).as_dict(),
                "free_tier_included": self.free_tier,
                "prices_as_of": self.prices_as_of,
                "graph_regions": list(self.facts.regions),
                "existing_endpoints": {r: list(s) for r, s in self.facts.existing_endpoints.items()},
                "priced_by_use_only": self.facts.priced_by_use,
            },
            "notes": list(self.notes),
        }


def _minimal_components(facts: graph_facts.GraphFacts, usages: tuple[VaultUsage, ...]) -> set[str]:
    """The components of the smallest stack the $3 claim is about: the account, the home region's
    connector and that region's first vault (the one with usage, if any)."""
    home = facts.home_region or (facts.regions[0] if facts.regions else "")
    vaults = [u.component for u in usages if u.region == home] + [v.component for v in facts.vaults if v.region == home]
    first_vault = vaults[0] if vaults else None
    return {"account", f"{home}/connector", home, *([first_vault] if first_vault else [])}


def _vault_settings(
    assumptions: Assumptions, vault: graph_facts.VaultFacts | None, log_days: float | None
) -> Assumptions:
    """The vault's own settings in the graph (job size, lifecycle) and the log retention replace the defaults."""
    from_graph = {"log_retention_days": log_days}
    if vault is not None:
        from_graph |= {
            "job_vcpu": vault.job_vcpu,
            "job_memory_gb": vault.job_memory_gb,
            "job_ephemeral_gb": vault.job_ephemeral_gb,
            "noncurrent_days": vault.noncurrent_days,
        }
    return replace(assumptions, **{k: v for k, v in from_graph.items() if v is not None})


def _place(
    facts: graph_facts.GraphFacts,
    workload: Workload | None,
    usage_by_vault: Mapping[str, tuple[Workload, str]] | None,
    region: str | None,
    prices: PriceTable,
) -> list[tuple[str, str, Workload, str]]:
    """(component, region, workload, source) for each priced workload."""
    vaults = {v.component: v for v in facts.vaults}
    if usage_by_vault:
        unknown = [c for c in usage_by_vault if c not in vaults]
        if unknown:
            raise CostInputError(
                "usage",
                unknown[0],
                f"names no vault of the graph; vaults: {', '.join(vaults) or 'none'}",
            )
        return [(c, vaults[c].region, w, source) for c, (w, source) in usage_by_vault.items()]
    workload = workload or Workload()
    if region:
        prices.check_region(region)
        vault = next((v for v in facts.vaults if v.region == region), None)
        return [(vault.component if vault else region, region, workload, "--region")]
    home = facts.home_region
    vault = next((v for v in facts.vaults if v.region == home), None) or (facts.vaults[0] if facts.vaults else None)
    if vault:
        return [(vault.component, vault.region, workload, "stack-wide usage on the home region's first vault")]
    if facts.regions:
        return [(facts.regions[0], facts.regions[0], workload, "no vault in the graph: its first region")]
    raise CostInputError(
        "region", None, "not given, and no resource in the graph has a region: give the workload's, e.g. us-east-1"
    )


def estimate(
    records: Iterable[Mapping[str, Any]],
    workload: Workload | None = None,
    *,
    usage_by_vault: Mapping[str, tuple[Workload, str]] | None = None,
    prices: PriceTable | None = None,
    assumptions: Assumptions | None = None,
    free_tier: bool = False,
    region: str | None = None,
    measurement: Measurement | None = None,
    sample_label: str = "a sample",
    existing_endpoints: Mapping[str, Iterable[str]] | None = None,
) -> Estimate:
    """Price `records` (the planned graph) at rest and with its workloads, against EBS snapshots and AWS
    Backup.

    `usage_by_vault` maps vault components (`us-east-1/vault:primary`) to (workload, where it came from);
    each is priced in its vault's region with that vault's settings. Without it, the one `workload` goes
    on the home region's first vault, or on the first vault of `region` when given. A `measurement` of
    real data replaces the profiles' dedup and compression factors. `existing_endpoints` (region ->
    services, from `cost.graph.existing_endpoints(config)`) are endpoints the VPCs already have: the graph
    does not show them, but the engine's bytes take them.
    """
    records = list(records)
    prices = prices or default_table()
    facts = graph_facts.facts(records, prices, existing_endpoints)
    base = assumptions or Assumptions()
    notes: list[str] = []
    if measurement is not None and not measurement.logical_bytes:
        raise CostInputError("sample", sample_label, "holds no data to measure: give a file or folder with data")
    vaults = {v.component: v for v in facts.vaults}
    usages: list[VaultUsage] = []
    fixed = graph_facts.idle_lines(records, prices, _vault_settings(base, None, facts.log_retention_days))
    usage: list[Line] = []
    snapshots: list[Line] = []
    backup: list[Line] = []
    first_month: list[Line] = []
    for component, where, work, source in _place(facts, workload, usage_by_vault, region, prices):
        vault = vaults.get(component)
        model = _vault_settings(base, vault, facts.log_retention_days)
        profile = get_profile(work.data_profile)
        if measurement is not None:
            profile = profile.measured(measurement.dedup_factor, measurement.compression_factor, sample_label)
        usages.append(VaultUsage(component, where, work, profile, model, source))
        network = (
            Network(vault.path, vault.s3_gateway, vault.dynamodb_gateway) if vault else Network("public")
        )
        if vault is not None and vault.bucket_key_enabled is None:
            notes.append(f"{component}: no S3 encryption settings in the graph: one KMS request per object request")
        spot = vault is not None and vault.compute_type == "FARGATE_SPOT"
        usage += elastio_usage_lines(
            work,
            profile,
            where,
            prices,
            model,
            spot=spot,
            bucket_key=bool(vault and vault.bucket_key_enabled),
            network=network,
            component=component,
        )
        snapshots += ebs_snapshot_lines(work, profile, where, prices, model, component)
        backup += aws_backup_lines(work, profile, where, prices, model, component)
        first_month += first_backup_lines(
            work, profile, where, prices, model, spot=spot, network=network, component=component
        )
    if measurement is not None:
        notes.append(
            f"dedup {measurement.dedup_factor:.3g}x and compression {measurement.compression_factor:.3g}x "
            f"measured on {sample_label} replace the profiles' factors"
        )
    elastio = fixed + usage
    estimated = dict.fromkeys(
        (line.price_key, line.region)
        for line in elastio + first_month
        if not prices.price(line.price_key, line.region).confirmed
    )
    notes += [
        f"{key} in {where} is an estimate, not a confirmed price ({prices.price(key, where).source.split(' -- ')[0]}): "
        "run `python -m cost refresh-prices` to replace it"
        for key, where in estimated
    ]
    if free_tier:
        elastio = apply_free_tier(elastio, prices)
    return Estimate(
        usages=tuple(usages),
        facts=facts,
        elastio=elastio,
        ebs_snapshots=snapshots,
        aws_backup=backup,
        first_month=first_month,
        rotation={year: graph_facts.rotation_lines(records, prices, year) for year in YEARS[1:]},
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
    config: Any = None,
) -> dict[str, Any]:
    """For the preview: the estimate as a JSON-ready dict (the same shape as `python -m cost --format json`).

    With `config` (the validated stack config) each vault's usage is priced where the vault is (see
    `cost.workload.usage_sources`). Otherwise `usage` is one usage config (`Plan.config.usage`), a
    camelCase mapping, a `Workload`, or None for the defaults. Raises `CostInputError`; for config values
    its `field` is the full config key.
    """
    from cost.workload import usage_sources, workload_of

    if config is not None:
        sources, notes = usage_sources(config)
        by_vault = {s.component: (workload_of(s), s.key) for s in sources}
        result = estimate(
            records,
            usage_by_vault=by_vault,
            free_tier=free_tier,
            prices=prices,
            existing_endpoints=graph_facts.existing_endpoints(config),
        )
        document = result.as_dict()
        document["notes"] += notes
        return document
    workload = usage if isinstance(usage, Workload) else Workload.from_usage(usage or {})
    return estimate(records, workload, free_tier=free_tier, prices=prices, region=region).as_dict()

"""Text forms of an estimate dict: the Infracost-style breakdown of the CLI and the short preview summary."""

from __future__ import annotations

import math
from typing import Any


def _money(usd: float) -> str:
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    return sign + (f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:,.4f}")


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _unit_price(usd: float) -> str:
    # Six significant digits, written out: a per-request price reads $0.0000002, not $2e-07.
    if usd == 0:
        return "$0"
    decimals = max(0, 5 - math.floor(math.log10(abs(usd))))
    return f"${usd:.{decimals}f}".rstrip("0").rstrip(".")


def _pct(value: float | None) -> str:
    return "n/a (no baseline cost)" if value is None else f"{value:.0f}%"


def _table(lines: list[dict[str, Any]]) -> list[str]:
    header = ("Resource", "Region", "Quantity", "Unit", "Unit price", "Monthly")
    rows = [
        (
            line["resource"],
            line["region"],
            _quantity(line["quantity"]),
            line["unit"],
            _unit_price(line["unit_price_usd"]),
            _money(line["monthly_usd"]),
        )
        for line in lines
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    align = ("<", "<", ">", "<", ">", ">")
    out = []
    for row in [header, *rows]:
        out.append(
            "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)).rstrip()
        )
        if row is header:
            out.append("  ".join("-" * w for w in widths))
    return out


def render_breakdown(result: dict[str, Any]) -> str:
    """The full breakdown: fixed and usage lines, totals, both baselines, the savings and the assumptions."""
    lines = result["elastio"]["lines"]
    fixed = [line for line in lines if line["part"] == "fixed"]
    usage = [line for line in lines if line["part"] == "usage"]
    a = result["assumptions"]
    w, p = a["workload"], a["data_profile"]
    out = [
        f"Elastio ScaleZ monthly cost estimate (prices as of {a['prices_as_of']}, USD, "
        f"free tier {'included' if a['free_tier_included'] else 'excluded'})",
        "",
        "Fixed (idle) part: what the planned stack costs with no backups "
        f"({', '.join(a['graph_regions']) or 'no regions'})",
        *(_table(fixed) if fixed else ["  (nothing in the graph bills at rest)"]),
        f"{'Idle total':<40}{_money(result['idle_monthly_usd']):>14}",
        "",
        f"Usage part: {w['protected_gb']:g} GB protected, {w['daily_change_rate']:.2%} changed a day, "
        f"{w['retention_days']} days retention, '{p['name']}' data, in {a['usage_region']}",
        *_table(usage),
        f"{'Usage total':<40}{_money(result['usage_monthly_usd']):>14}",
        "",
        f"{'Elastio total':<40}{_money(result['elastio']['monthly_usd']):>14}",
        "",
        "Baselines (same workload, daily, same retention)",
        *_table(result["ebs_snapshots"]["lines"] + result["aws_backup"]["lines"]),
        f"{'EBS snapshots total':<40}{_money(result['ebs_snapshots']['monthly_usd']):>14}",
        f"{'AWS Backup total':<40}{_money(result['aws_backup']['monthly_usd']):>14}",
        "",
        f"Savings vs EBS snapshots: {_pct(result['savings_vs_snapshots_pct'])}; "
        f"vs AWS Backup: {_pct(result['savings_vs_aws_backup_pct'])}",
        "",
        "Assumptions",
        f"  data profile '{p['name']}': dedup {p['dedup_factor']:g}x, "
        f"compression {p['compression_factor']:g}x, "
        f"changed runs of {p['changed_extent_kib']:g} KiB",
        *(f"    - {source}" for source in p["sources"]),
        *(f"  {name} = {value}" for name, value in a["model"].items()),
        *(
            "  resources billed only by use: "
            + ", ".join(f"{n} x {t}" for t, n in a["priced_by_use_only"].items())
            for _ in [0]
            if a["priced_by_use_only"]
        ),
        *(f"  note: {note}" for note in result["notes"]),
    ]
    return "\n".join(out)


def format_summary(result: dict[str, Any], stack: str = "<stack>") -> str:
    """A few lines for `python -m preview` to print beside the plan; `stack` completes the details command."""
    w = result["assumptions"]["workload"]
    return "\n".join(
        [
            f"Cost (USD/month, prices as of {result['assumptions']['prices_as_of']}):",
            f"  idle floor {_money(result['idle_monthly_usd'])}; with {w['protected_gb']:g} GB, "
            f"{w['daily_change_rate']:.2%}/day changed, {w['retention_days']} days kept "
            f"({w['data_profile']}): "
            f"{_money(result['elastio']['monthly_usd'])}",
            f"  EBS snapshots {_money(result['ebs_snapshots']['monthly_usd'])} "
            f"(saves {_pct(result['savings_vs_snapshots_pct'])}), "
            f"AWS Backup {_money(result['aws_backup']['monthly_usd'])} "
            f"(saves {_pct(result['savings_vs_aws_backup_pct'])})",
            f"  details: python -m cost --stack {stack}",
        ]
    )

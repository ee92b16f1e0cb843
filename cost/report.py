"""Text forms of an estimate dict and of a diff: the Infracost-style breakdown (table or Markdown) of the CLI
and the short preview summary. They read only the JSON document, so any saved `--format json` renders."""

from __future__ import annotations

import math
from typing import Any

FLOOR_USD = 3.0


def _money(usd: float) -> str:
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    return sign + (f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:,.4f}")


def _delta(usd: float) -> str:
    return ("+" if usd > 0 else "") + _money(usd) if abs(usd) >= 0.00005 else "$0.00"


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


def _grid(header: tuple[str, ...], rows: list[tuple[str, ...]], align: str, markdown: bool) -> list[str]:
    """A fixed-width table, or a GitHub Markdown table (`|` in cells escaped)."""
    if markdown:
        def cells(row: tuple[str, ...]) -> str:
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

        rule = "|" + "|".join("---:" if a == ">" else "---" for a in align) + "|"
        return [cells(header), rule, *(cells(row) for row in rows)]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        out.append("  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)).rstrip())
        if row is header:
            out.append("  ".join("-" * w for w in widths))
    return out


def _sorted(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(lines, key=lambda line: (line.get("component", line["region"]), line["resource"]))


def _table(lines: list[dict[str, Any]], markdown: bool = False) -> list[str]:
    header = ("Component", "Resource", "Quantity", "Unit", "Unit price", "Monthly")
    rows = [
        (
            line.get("component", line["region"]),
            line["resource"],
            _quantity(line["quantity"]),
            line["unit"],
            _unit_price(line["unit_price_usd"]),
            _money(line["monthly_usd"]),
        )
        for line in _sorted(lines)
    ]
    return _grid(header, rows, "<<><>>", markdown)


def _total(label: str, usd: float, markdown: bool) -> str:
    return f"**{label}: {_money(usd)}**" if markdown else f"{label:<40}{_money(usd):>14}"


def _heading(text: str, markdown: bool) -> str:
    return f"#### {text}" if markdown else text


def floor_lines(result: dict[str, Any], markdown: bool = False) -> list[str]:
    """The $3 claim, checked: within it or not in year 1, each year's idle floor, and what puts it over."""
    years = result["idle_monthly_usd_by_year"]
    verdict = "within" if result["within_three_dollar_floor"] else "ABOVE"
    out = [
        f"Idle floor {_money(result['idle_monthly_usd'])}/month: {verdict} the ${FLOOR_USD:g} claim; with KMS "
        f"rotation {_money(years['2'])} in year 2, {_money(years['3'])} from year 3"
    ]
    bullet = "- " if markdown else "  "
    for breaker in result["floor_breakers"]:
        out.append(
            f"{bullet}over ${FLOOR_USD:g} from year {breaker['from_year']}: {breaker['component']} "
            f"{breaker['resource']} {_money(breaker['monthly_usd'])}"
        )
    return out


# What a floor breaker is, in the summary's words (by price key).
_BREAKER_KINDS = {
    "vpce.interface.hours": "interface endpoint AZs",
    "kms.key": "KMS keys",
    "sqs.requests": "polled queues",
    "cloudwatch.alarm": "alarms",
    "vpc.nat_gateway.hours": "NAT gateways",
    "secretsmanager.secret": "secrets",
}


def grouped_breakers(result: dict[str, Any]) -> list[str]:
    """The floor breakers in a few words per year: `year 1: 18 x interface endpoint AZs $131.40, ...`."""
    groups: dict[int, dict[str, list[float]]] = {}
    for breaker in result["floor_breakers"]:
        kind = _BREAKER_KINDS.get(breaker["price_key"], breaker["price_key"])
        if "rotated key material" in breaker["resource"]:
            kind = "KMS key rotations"
        groups.setdefault(breaker["from_year"], {}).setdefault(kind, []).append(breaker["monthly_usd"])
    out = []
    for year, kinds in sorted(groups.items()):
        ranked = sorted(kinds.items(), key=lambda item: -sum(item[1]))
        out.append(f"year {year}: " + ", ".join(f"{len(usd)} x {kind} {_money(sum(usd))}" for kind, usd in ranked))
    return out


def render_breakdown(result: dict[str, Any], markdown: bool = False) -> str:
    """The full breakdown: fixed and usage lines per resource, totals per region and component, the time
    view, the $3 check, both baselines, the savings and the assumptions."""
    lines = result["elastio"]["lines"]
    fixed = [line for line in lines if line["part"] == "fixed"]
    usage = [line for line in lines if line["part"] == "usage"]
    a = result["assumptions"]
    p = a["data_profile"]
    time = result["time_view"]
    md = markdown
    workloads = [
        f"{w['component']}: {w['workload']['protected_gb']:g} GB protected, "
        f"{w['workload']['daily_change_rate']:.2%} changed a day ({w['workload']['change_rate_basis']} basis), "
        f"{w['workload']['retention_days']} days retention, '{w['workload']['data_profile']}' data "
        f"[{w['source']}]"
        for w in a["workloads"]
    ]
    bases = {w["workload"]["change_rate_basis"]: w["workload"]["daily_change_rate_meaning"] for w in a["workloads"]}
    out = [
        ("### " if md else "")
        + f"Elastio ScaleZ monthly cost estimate (prices as of {a['prices_as_of']}, {result['currency']}, "
        f"free tier {'included' if a['free_tier_included'] else 'excluded'})",
        "",
        _heading(
            "Fixed (idle) part: what the planned stack costs with no backups "
            f"({', '.join(a['graph_regions']) or 'no regions'})",
            md,
        ),
        *(_table(fixed, md) if fixed else ["  (nothing in the graph bills at rest)"]),
        _total("Idle total", result["idle_monthly_usd"], md),
        "",
        _heading("Usage part", md),
        *(("- " if md else "  ") + text for text in workloads),
        *(("- " if md else "  ") + f"daily change rate ({basis} basis): {meaning}" for basis, meaning in bases.items()),
        "",
        *_table(usage, md),
        _total("Usage total", result["usage_monthly_usd"], md),
        "",
        _total("Elastio total", result["elastio"]["monthly_usd"], md),
        "",
        _heading("Totals per region and component", md),
        *_grid(
            ("Region or component", "Monthly"),
            [(k, _money(v)) for k, v in result["totals"]["by_region"].items()]
            + [(k, _money(v)) for k, v in result["totals"]["by_component"].items()],
            "<>",
            md,
        ),
        "",
        _heading("Over time", md),
        *_grid(
            ("Period", "Monthly"),
            [
                ("month 1 (first full backups)", _money(time["month_1_usd"])),
                ("steady state, year 1", _money(time["steady_monthly_usd"])),
                ("year 2 (KMS rotation)", _money(time["year_2_monthly_usd"])),
                ("year 3 on", _money(time["year_3_monthly_usd"])),
            ],
            "<>",
            md,
        ),
        "",
        *floor_lines(result, md),
        "",
        _heading("Baselines (same workloads, daily, same retention)", md),
        *_table(result["ebs_snapshots"]["lines"] + result["aws_backup"]["lines"], md),
        _total("EBS snapshots total", result["ebs_snapshots"]["monthly_usd"], md),
        _total("AWS Backup total", result["aws_backup"]["monthly_usd"], md),
        "",
        f"Savings vs EBS snapshots: {_pct(result['savings_vs_snapshots_pct'])}; "
        f"vs AWS Backup: {_pct(result['savings_vs_aws_backup_pct'])}",
        "",
    ]
    if md:  # the PR comment stays short: the model's constants are in the table output and the JSON
        out += [f"- note: {note}" for note in result["notes"]]
        return "\n".join(out)
    out += [
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


def render_diff(diff: dict[str, Any], markdown: bool = False) -> str:
    """The lines that change between two estimates, with their deltas, and the total's delta."""
    md = markdown
    rows = [
        (
            change["component"],
            change["resource"],
            change["change"],
            _money(change["base_monthly_usd"]),
            _money(change["new_monthly_usd"]),
            _delta(change["delta_monthly_usd"]),
        )
        for change in diff["lines"]
    ]
    base, new = diff["base"], diff["new"]
    out = [
        ("### " if md else "")
        + f"Cost diff: {diff['base_label']} -> {diff['new_label']} ({new['currency']}/month)",
        "",
        *(
            _grid(("Component", "Resource", "Change", "Base", "New", "Delta"), rows, "<<<>>>", md)
            if rows
            else ["No line changes."]
        ),
        "",
        *_grid(
            ("", "Base", "New", "Delta"),
            [
                ("Idle", _money(base["idle_monthly_usd"]), _money(new["idle_monthly_usd"]),
                 _delta(diff["delta_idle_monthly_usd"])),
                ("Total (idle + usage)", _money(base["elastio"]["monthly_usd"]), _money(new["elastio"]["monthly_usd"]),
                 _delta(diff["delta_monthly_usd"])),
                ("Month 1", _money(base["time_view"]["month_1_usd"]), _money(new["time_view"]["month_1_usd"]),
                 _delta(new["time_view"]["month_1_usd"] - base["time_view"]["month_1_usd"])),
                ("Year 3 on", _money(base["time_view"]["year_3_monthly_usd"]),
                 _money(new["time_view"]["year_3_monthly_usd"]),
                 _delta(new["time_view"]["year_3_monthly_usd"] - base["time_view"]["year_3_monthly_usd"])),
            ],
            "<>>>",
            md,
        ),
        "",
        *floor_lines(new, md),
    ]
    return "\n".join(out)


def format_summary(result: dict[str, Any], stack: str = "<stack>") -> str:
    """A few lines for `python -m preview` to print beside the plan; `stack` completes the details command."""
    w = result["assumptions"]["workload"]
    years = result["idle_monthly_usd_by_year"]
    return "\n".join(
        [
            f"Cost (USD/month, prices as of {result['assumptions']['prices_as_of']}):",
            f"  idle floor {_money(result['idle_monthly_usd'])} "
            f"({'within' if result['within_three_dollar_floor'] else 'above'} the ${FLOOR_USD:g} claim; "
            f"{_money(years['2'])} in year 2, {_money(years['3'])} from year 3 with KMS rotation)",
            f"  with {w['protected_gb']:g} GB, "
            f"{w['daily_change_rate']:.2%}/day changed, {w['retention_days']} days kept "
            f"({w['data_profile']}) on {result['assumptions']['workloads'][0]['component']}: "
            f"{_money(result['elastio']['monthly_usd'])}; month 1 adds "
            f"{_money(result['first_month_extra_usd'])} (first full backup)",
            *(f"  over ${FLOOR_USD:g} from {group}" for group in grouped_breakers(result)),
            f"  EBS snapshots {_money(result['ebs_snapshots']['monthly_usd'])} "
            f"(saves {_pct(result['savings_vs_snapshots_pct'])}), "
            f"AWS Backup {_money(result['aws_backup']['monthly_usd'])} "
            f"(saves {_pct(result['savings_vs_aws_backup_pct'])})",
            f"  details: python -m cost --stack {stack}",
        ]
    )

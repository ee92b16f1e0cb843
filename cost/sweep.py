"""Savings across retention and change rate: the table of `--sweep` and the chart of `--plot`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from cost.estimate import estimate
from cost.workload import Workload

RETENTIONS = (7, 14, 30, 60, 90, 180, 365)
CHANGE_RATES = (0.005, 0.01, 0.02, 0.05, 0.10)


def sweep(
    records: Iterable[Mapping[str, Any]],
    workload: Workload,
    retentions: Sequence[int] = RETENTIONS,
    change_rates: Sequence[float] = CHANGE_RATES,
    **options: Any,
) -> dict[str, Any]:
    """Savings (percent) against both baselines for each retention (rows) and change rate (columns)."""
    records = list(records)
    snapshots, backup = [], []
    for days in retentions:
        snapshot_row, backup_row = [], []
        for rate in change_rates:
            result = estimate(
                records, replace(workload, retention_days=days, daily_change_rate=rate), **options
            )
            snapshot_row.append(result.savings_pct(result.ebs_snapshots))
            backup_row.append(result.savings_pct(result.aws_backup))
        snapshots.append(snapshot_row)
        backup.append(backup_row)
    return {
        "workload": workload.as_dict(),
        "retention_days": list(retentions),
        "daily_change_rates": list(change_rates),
        "savings_vs_snapshots_pct": snapshots,
        "savings_vs_aws_backup_pct": backup,
    }


def render_sweep(table: dict[str, Any]) -> str:
    """Both baselines' savings tables, one under the other."""
    w = table["workload"]
    rates = table["daily_change_rates"]
    head = f"{'retention':>10} | " + " ".join(f"{rate:>7.1%}" for rate in rates)
    out = []
    for baseline, key in (("EBS snapshots", "savings_vs_snapshots_pct"), ("AWS Backup", "savings_vs_aws_backup_pct")):
        out += [
            f"Savings vs {baseline} (%), {w['protected_gb']:g} GB of '{w['data_profile']}' data; "
            f"rows: retention days, columns: daily change rate ({w['change_rate_basis']} basis)",
            head,
            "-" * len(head),
        ]
        for days, row in zip(table["retention_days"], table[key], strict=True):
            out.append(
                f"{days:>10} | "
                + " ".join(f"{value:>7.0f}" if value is not None else f"{'n/a':>7}" for value in row)
            )
        out.append("")
    return "\n".join(out).rstrip("\n")


def plot_sweep(table: dict[str, Any], path: Path) -> Path:
    """Savings against retention, one line per change rate, written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display here
    import matplotlib.pyplot as plt

    w = table["workload"]
    fig, ax = plt.subplots(figsize=(8, 5))
    columns = list(zip(*table["savings_vs_snapshots_pct"], strict=True))
    for rate, values in zip(table["daily_change_rates"], columns, strict=True):
        ax.plot(table["retention_days"], values, marker="o", label=f"{rate:.1%} changed a day")
    ax.axhspan(50, 80, color="tab:green", alpha=0.1, label="50-80% claimed")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xticks(table["retention_days"], [str(d) for d in table["retention_days"]])
    ax.set_xlabel("retention (days, daily backups)")
    ax.set_ylabel("savings vs EBS snapshots (%)")
    ax.set_title(f"Elastio vs EBS snapshots: {w['protected_gb']:g} GB of '{w['data_profile']}' data")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

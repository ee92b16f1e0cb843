"""`python -m cost`: the cost breakdown of a stack (or a graph file), its sweep and chart, and refresh-prices.

Every bad input ends in one line naming the flag (or the config key it came from), the value and the fix,
with exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from cost.assumptions import Assumptions
from cost.diff import diff
from cost.errors import CostInputError
from cost.estimate import estimate
from cost.graph import existing_endpoints
from cost.prices import DEFAULT_PATH, PriceTable
from cost.profiles import PROFILES
from cost.report import render_breakdown, render_diff
from cost.sweep import CHANGE_RATES, RETENTIONS, plot_sweep, render_sweep, sweep
from cost.workload import CHANGE_RATE_BASES, UsageSource, Workload, usage_sources, workload_of

FLAGS = {
    "protected_gb": "--protected-gb",
    "daily_change_rate": "--daily-change-rate",
    "retention_days": "--retention-days",
    "data_profile": "--data-profile",
    "restore_gb_per_month": "--restore-gb",
    "change_rate_basis": "--change-rate-basis",
    "region": "--region",
    "sample": "--sample",
    "prices": "--prices",
    "graph": "--graph",
}

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OVER_THRESHOLD = 0, 2, 3, 4
FORMATS = ("table", "json", "markdown")


class CliError(Exception):
    """A message for the user, already naming what to change."""


def _common(diffing: bool) -> argparse.ArgumentParser:
    """Flags the estimate and `diff` share: workload, prices, output and the CI threshold."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project-dir", type=Path, help="the Pulumi project folder (default: the repository root)"
    )
    common.add_argument("--protected-gb", type=float, help="GB of used data on the protected volumes")
    common.add_argument(
        "--daily-change-rate",
        type=float,
        help="share changed a day, e.g. 0.02; what it measures is set by --change-rate-basis",
    )
    common.add_argument(
        "--change-rate-basis",
        choices=tuple(CHANGE_RATE_BASES),
        help="data (default): " + CHANGE_RATE_BASES["data"] + ". blocks: " + CHANGE_RATE_BASES["blocks"]
        + ". Rewrites overlap, they do not add: a unit escapes a day of independent writes with "
        "probability (1-r)^a, so the share changed is 1-(1-r)^a (over d days: 1-(1-r)^d)",
    )
    common.add_argument("--retention-days", type=int, help="days each daily recovery point is kept")
    common.add_argument("--data-profile", help=f"kind of data: {', '.join(PROFILES)}")
    common.add_argument("--restore-gb", type=float, help="GB restored per month (default 0)")
    common.add_argument(
        "--free-tier",
        action="store_true",
        help="subtract the AWS always-free allowances "
        "(excluded by default: they are shared with the account's other workloads)",
    )
    common.add_argument(
        "--no-parent-snapshot",
        action="store_true",
        help="what-if: price the vault without the change-tracking snapshot the engine keeps per volume",
    )
    common.add_argument(
        "--prices", type=Path, default=DEFAULT_PATH, help="price table (default: cost/prices.json)"
    )
    common.add_argument("--format", choices=FORMATS, help="table (default), json, or markdown (a PR comment)")
    common.add_argument("--json", action="store_true", help="the same as --format json")
    common.add_argument(
        "--fail-above",
        type=float,
        metavar="USD",
        help=("exit 4 when the monthly DELTA (new - base) of --fail-on is above USD" if diffing else
              "exit 4 (after printing) when the monthly amount of --fail-on is above USD"),
    )
    common.add_argument(
        "--fail-on", choices=("total", "idle"), default="total",
        help="what --fail-above checks: total (idle + usage, default) or idle",
    )
    common.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cost",
        parents=[_common(diffing=False)],
        description="Monthly cost of an Elastio stack: idle floor, usage, and savings vs EBS snapshots and "
        "AWS Backup. `python -m cost diff BASE NEW` compares two stacks; `python -m cost refresh-prices "
        "--help` updates the price table. Exit codes: 0 ok, 2 bad input, 3 internal error, 4 over "
        "--fail-above.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--stack", default="example", help="stack to plan offline (Pulumi.<stack>.yaml); default: example"
    )
    source.add_argument(
        "--graph", type=Path, help="a JSON file of graph records (or `python -m preview --json` output)"
    )
    parser.add_argument(
        "--region", help="price the workload on this region's first vault (default: each vault's own usage)"
    )
    parser.add_argument(
        "--sample",
        type=Path,
        help="measure dedup and compression on this file or folder instead of using the profile's factors",
    )
    parser.add_argument("--sweep", action="store_true", help="savings table over retention x change rate")
    parser.add_argument(
        "--sweep-retention", type=_int_list, metavar="DAYS,...",
        help=f"the sweep's retention rows (default {','.join(map(str, RETENTIONS))})",
    )
    parser.add_argument(
        "--sweep-change-rate", type=_float_list, metavar="RATE,...",
        help=f"the sweep's change-rate columns (default {','.join(map(str, CHANGE_RATES))})",
    )
    parser.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw savings against retention to FILE.png"
    )
    return parser


def _diff_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cost diff",
        parents=[_common(diffing=True)],
        description="Compare the estimates of two stacks (Pulumi.<BASE>.yaml and Pulumi.<NEW>.yaml; an edited "
        "copy of a stack file is another stack): per-line deltas and the monthly total's delta.",
    )
    parser.add_argument("base", help="the stack before the change")
    parser.add_argument("new", help="the stack after the change")
    return parser


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole days separated by commas, e.g. 30,90,365") from None


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give shares separated by commas, e.g. 0.01,0.02") from None


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "protected_gb": args.protected_gb,
        "daily_change_rate": args.daily_change_rate,
        "retention_days": args.retention_days,
        "data_profile": args.data_profile,
        "restore_gb_per_month": args.restore_gb,
        "change_rate_basis": args.change_rate_basis,
    }


def _graph_workloads(document: Any, path: Path, flags: dict[str, Any]) -> dict[str, tuple[Workload, str]] | None:
    """The usage a `python -m preview --json` document carries (its cost section's workloads), or None."""
    placed = (((document.get("cost") or {}).get("assumptions") or {}).get("workloads")
              if isinstance(document, dict) else None)
    if not placed:
        return None
    found = {}
    for entry in placed:
        if not isinstance(entry, dict) or not isinstance(entry.get("component"), str):
            raise CliError(
                f"--graph {path}: cost.assumptions.workloads holds {entry!r}, not a placed workload; give the "
                "output of `python -m preview --json` unchanged, or a bare list of records"
            )
        usage = dict(entry.get("workload") or {})
        restore = usage.pop("restore_gb_per_month", None)
        workload = Workload.from_usage(
            usage, **{"restore_gb_per_month": restore, **{k: v for k, v in flags.items() if v is not None}}
        )
        found[entry["component"]] = (workload, f"--graph {path} ({entry.get('source', 'its usage')})")
    return found


def _load_graph(path: Path) -> tuple[list[dict[str, Any]], Any]:
    """Graph records and the whole document."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(f"--graph {path}: no such file; give a JSON file of graph records") from None
    except json.JSONDecodeError as err:
        raise CliError(f"--graph {path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    records = document.get("resources", document) if isinstance(document, dict) else document
    if not isinstance(records, list):
        raise CliError(f'--graph {path}: expected a list of records or {{"resources": [...]}}')
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise CliError(
                f"--graph {path}: record #{number} is not an object; give the records of "
                "`python -m preview --json` (or a list of {type, inputs, ...} objects)"
            )
    return records, document


def _plan(stack: str, project_dir: Path | None, flag: str) -> tuple[list[dict[str, Any]], Any]:
    try:
        from plan import PlanError, build_plan  # the CLI alone plans; the library takes records
    except ImportError as err:
        raise CliError(f"{flag} {stack}: the offline planner is not available ({err}); use --graph FILE") from None
    try:
        plan = build_plan(stack, project_dir)
    except PlanError as err:
        raise CliError(str(err)) from None
    except Exception as err:  # a bug in the program under plan: say so in one line, not a traceback
        raise CliError(f"{flag} {stack}: planning failed: {type(err).__name__}: {err}") from None
    return plan.records(), getattr(plan, "config", None)


def _workloads(
    config: Any, document: Any, args: argparse.Namespace, label: str
) -> tuple[Workload | None, dict[str, tuple[Workload, str]] | None, list[str]]:
    """The workload(s) to price: each vault's from the stack's config (or from a preview document given as
    --graph), else the flags and defaults; the notes say where they came from when it is not the stack."""
    flags = _flags(args)
    region = getattr(args, "region", None)
    if config is not None and hasattr(config, "regions") and not region:
        sources, notes = usage_sources(config)
        return None, {s.component: (workload_of(s, **flags), s.key) for s in sources}, notes
    if config is not None:  # --region (or a config without regions): the stack-wide usage, placed by the flag
        return workload_of(UsageSource("", getattr(config, "usage", None), "elastio:usage"), **flags), None, []
    graph = getattr(args, "graph", None)
    from_graph = _graph_workloads(document, graph, flags) if graph else None
    if from_graph and not region:
        return None, from_graph, []
    note = (
        f"{label} carries no usage (only `python -m preview --json` output does): the flags and defaults are "
        "priced on its home region's first vault"
    )
    return Workload.from_usage({}, **flags), None, [note]


def _existing_endpoints(config: Any, document: Any) -> dict[str, Any]:
    """The endpoints the VPCs already have: from the stack's config, or as a preview document carried them."""
    if config is not None:
        return existing_endpoints(config)
    if isinstance(document, dict):
        found = ((document.get("cost") or {}).get("assumptions") or {}).get("existing_endpoints")
        if isinstance(found, dict):
            return found
    return {}


def _name(field: str) -> str:
    """How the user gave `field`: its flag, else it is already a config key."""
    return FLAGS.get(field, field)


def _check_plot_path(path: Path) -> None:
    """Refuse a path the chart cannot be written to before the sweep's work, not after it."""
    if path.suffix.lower() != ".png":
        raise CliError(f"--plot {path}: the chart is a PNG; give a file name ending in .png")
    if not path.parent.is_dir():
        raise CliError(f"--plot {path}: the folder {path.parent} does not exist; create it or give another path")


def _format(args: argparse.Namespace) -> str:
    if args.json and args.format not in (None, "json"):
        raise CliError(f"--json and --format {args.format}: choose one (--json is --format json)")
    return "json" if args.json else args.format or "table"


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "prices": PriceTable.load(args.prices),
        "free_tier": args.free_tier,
        "assumptions": replace(Assumptions(), keep_parent_snapshot=not args.no_parent_snapshot),
    }


def _over(amount: float, args: argparse.Namespace, what: str, out) -> int:
    """Exit 4 when `amount` is above --fail-above; the reason goes to stderr, after the estimate."""
    if args.fail_above is None or amount <= args.fail_above:
        return EXIT_OK
    print(
        f"cost check failed: {what} {amount:,.2f} USD/month is above --fail-above {args.fail_above:g}",
        file=sys.stderr,
    )
    return EXIT_OVER_THRESHOLD


def _estimate_of(stack: str | None, args: argparse.Namespace, options: dict[str, Any], flag: str = "--stack"):
    if getattr(args, "graph", None):
        records, document = _load_graph(args.graph)
        config, label = None, f"--graph {args.graph}"
    else:
        records, config = _plan(stack, args.project_dir, flag)
        document, label = None, f"stack {stack}"
    try:
        workload, by_vault, notes = _workloads(config, document, args, label)
        result = estimate(
            records,
            workload,
            usage_by_vault=by_vault,
            region=getattr(args, "region", None),
            existing_endpoints=_existing_endpoints(config, document),
            **options,
        )
    except CostInputError as err:
        if not err.field.startswith("elastio:"):
            raise
        raise CostInputError(f"{err.field} ({label})", err.value, err.problem) from None
    return result, notes, label, records, workload or next(iter(by_vault.values()))[0]


def run(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    output = _format(args)
    if args.fail_above is not None and args.fail_above < 0:
        raise CliError(f"--fail-above {args.fail_above:g}: a monthly amount in USD must be 0 or more")
    if args.plot:
        _check_plot_path(args.plot)
    options = _options(args)
    if args.sample:
        options["measurement"] = _measure(args.sample)
        options["sample_label"] = str(args.sample)
    result, notes, label, records, first = _estimate_of(args.stack, args, options)
    if args.sweep or args.plot or args.sweep_retention or args.sweep_change_rate:
        try:
            table = sweep(
                records,
                first,
                retentions=args.sweep_retention or RETENTIONS,
                change_rates=args.sweep_change_rate or CHANGE_RATES,
                region=result.region,
                **options,
            )
        except CostInputError as err:  # a value of the grid, not of the workload flags
            grid = {"retention_days": "--sweep-retention", "daily_change_rate": "--sweep-change-rate"}
            raise CostInputError(grid.get(err.field, err.field), err.value, err.problem) from None
        if args.plot:
            plot_sweep(table, args.plot)
        if output == "json":
            print(json.dumps(table, indent=2), file=out)
        elif args.sweep or args.sweep_retention or args.sweep_change_rate:
            print(render_sweep(table), file=out)
        if args.plot:
            print(f"wrote {args.plot}", file=sys.stderr if output == "json" else out)
        return EXIT_OK
    document = result.as_dict()
    document["notes"] += notes
    document["source"] = label
    if output == "json":
        print(json.dumps(document, indent=2), file=out)
    else:
        print(render_breakdown(document, markdown=output == "markdown"), file=out)
    out.flush()
    amount = document["idle_monthly_usd"] if args.fail_on == "idle" else document["elastio"]["monthly_usd"]
    return _over(amount, args, f"the {args.fail_on} of {label}", out)


def run_diff(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    output = _format(args)
    options = _options(args)
    base, base_notes, base_label, _, _ = _estimate_of(args.base, args, options, flag="diff BASE")
    new, new_notes, new_label, _, _ = _estimate_of(args.new, args, options, flag="diff NEW")
    base_doc, new_doc = base.as_dict(), new.as_dict()
    base_doc["notes"] += base_notes
    new_doc["notes"] += new_notes
    result = diff(base_doc, new_doc, base_label, new_label)
    if output == "json":
        print(json.dumps(result, indent=2), file=out)
    else:
        print(render_diff(result, markdown=output == "markdown"), file=out)
    out.flush()
    delta = result["delta_idle_monthly_usd"] if args.fail_on == "idle" else result["delta_monthly_usd"]
    return _over(delta, args, f"the {args.fail_on} delta {base_label} -> {new_label}", out)


def _measure(path: Path) -> Any:
    if not path.exists():
        raise CliError(f"--sample {path}: no such file or directory; give a file or folder of sample data")
    try:
        from engine.measure import measure_path
    except ImportError as err:
        raise CliError(f"--sample {path}: the engine's measure is not available ({err})") from None
    try:
        return measure_path(path)
    except ValueError as err:  # engine.measure.MeasureError, which names the path
        raise CliError(f"--sample {err}; give a file or folder of sample data") from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["refresh-prices"]:
        from cost.refresh import main as refresh_main

        return refresh_main(argv[1:])
    diffing = argv[:1] == ["diff"]
    args = (_diff_parser() if diffing else _parser()).parse_args(argv[1:] if diffing else argv)
    try:
        return run_diff(args) if diffing else run(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
    except CostInputError as err:
        print(f"error: {err.describe(_name(err.field))}", file=sys.stderr)
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error. The flush at exit goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:
        print(f"error: {err.filename or ''}: {err.strerror}", file=sys.stderr)
    except Exception as err:  # a bug of ours: one plain line, the traceback only on request
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_BAD_INPUT

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
from cost.errors import CostInputError
from cost.estimate import estimate
from cost.prices import DEFAULT_PATH, PriceTable
from cost.profiles import PROFILES
from cost.report import render_breakdown
from cost.sweep import plot_sweep, render_sweep, sweep
from cost.workload import CONFIG_NAMES, Workload

FLAGS = {
    "protected_gb": "--protected-gb",
    "daily_change_rate": "--daily-change-rate",
    "retention_days": "--retention-days",
    "data_profile": "--data-profile",
    "restore_gb_per_month": "--restore-gb",
    "region": "--region",
    "sample": "--sample",
    "prices": "--prices",
    "graph": "--graph",
}


class CliError(Exception):
    """A message for the user, already naming what to change."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cost",
        description="Monthly cost of an Elastio stack: idle floor, usage, and savings vs EBS snapshots and "
        "AWS Backup. `python -m cost refresh-prices --help` updates the price table.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--stack", default="example", help="stack to plan offline (Pulumi.<stack>.yaml); default: example"
    )
    source.add_argument("--graph", type=Path, help="a JSON file of graph records instead of planning a stack")
    parser.add_argument(
        "--project-dir", type=Path, help="the Pulumi project folder (default: the repository root)"
    )
    parser.add_argument("--protected-gb", type=float, help="GB of used data on the protected volumes")
    parser.add_argument("--daily-change-rate", type=float, help="share of the data changed a day, e.g. 0.02")
    parser.add_argument("--retention-days", type=int, help="days each daily recovery point is kept")
    parser.add_argument("--data-profile", help=f"kind of data: {', '.join(PROFILES)}")
    parser.add_argument("--restore-gb", type=float, help="GB restored per month (default 0)")
    parser.add_argument("--region", help="region of the protected workload (default: the first vault's)")
    parser.add_argument(
        "--sample",
        type=Path,
        help="measure dedup and compression on this file or folder instead of using the profile's factors",
    )
    parser.add_argument(
        "--free-tier",
        action="store_true",
        help="subtract the AWS always-free allowances "
        "(excluded by default: they are shared with the account's other workloads)",
    )
    parser.add_argument(
        "--no-parent-snapshot",
        action="store_true",
        help="what-if: price the vault without the change-tracking snapshot the engine keeps per volume",
    )
    parser.add_argument(
        "--prices", type=Path, default=DEFAULT_PATH, help="price table (default: cost/prices.json)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    parser.add_argument("--sweep", action="store_true", help="savings table over retention x change rate")
    parser.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw savings against retention to FILE.png"
    )
    return parser


def _load_graph(args: argparse.Namespace) -> tuple[list[dict[str, Any]], Any, str]:
    """Graph records, the stack's usage config (or None) and a label for messages."""
    if args.graph:
        try:
            document = json.loads(args.graph.read_text())
        except FileNotFoundError:
            raise CliError(f"--graph {args.graph}: no such file; give a JSON file of graph records") from None
        except json.JSONDecodeError as err:
            raise CliError(f"--graph {args.graph}: not valid JSON ({err.msg}, line {err.lineno})") from None
        records = document.get("resources", document) if isinstance(document, dict) else document
        if not isinstance(records, list):
            raise CliError(f'--graph {args.graph}: expected a list of records or {{"resources": [...]}}')
        for number, record in enumerate(records):
            if not isinstance(record, dict):
                raise CliError(
                    f"--graph {args.graph}: record #{number} is not an object; give the records of "
                    "`python -m preview --json` (or a list of {type, inputs, ...} objects)"
                )
        return records, None, str(args.graph)
    try:
        from plan import PlanError, build_plan  # the CLI alone plans; the library takes records
    except ImportError as err:
        raise CliError(
            f"--stack {args.stack}: the offline planner is not available ({err}); use --graph FILE"
        ) from None
    try:
        plan = build_plan(args.stack, args.project_dir)
    except PlanError as err:
        raise CliError(str(err)) from None
    except Exception as err:  # a bug in the program under plan: say so in one line, not a traceback
        raise CliError(f"--stack {args.stack}: planning failed: {type(err).__name__}: {err}") from None
    config = getattr(plan, "config", None)
    return plan.records(), getattr(config, "usage", None), f"stack {args.stack}"


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


def _name(field: str, args: argparse.Namespace, from_config: bool) -> str:
    flag = FLAGS.get(field)
    given = getattr(args, {"restore_gb_per_month": "restore_gb"}.get(field, field), None)
    if from_config and field in CONFIG_NAMES and given is None:
        return f"elastio:usage.{CONFIG_NAMES[field]} (stack {args.stack})"
    return flag or field


def _check_plot_path(path: Path) -> None:
    """Refuse a path the chart cannot be written to before the sweep's work, not after it."""
    if path.suffix.lower() != ".png":
        raise CliError(f"--plot {path}: the chart is a PNG; give a file name ending in .png")
    if not path.parent.is_dir():
        raise CliError(f"--plot {path}: the folder {path.parent} does not exist; create it or give another path")


def run(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    if args.plot:
        _check_plot_path(args.plot)
    prices = PriceTable.load(args.prices)
    records, usage, label = _load_graph(args)
    workload = Workload.from_usage(
        usage or {},
        protected_gb=args.protected_gb,
        daily_change_rate=args.daily_change_rate,
        retention_days=args.retention_days,
        data_profile=args.data_profile,
        restore_gb_per_month=args.restore_gb,
    )
    options: dict[str, Any] = {
        "prices": prices,
        "free_tier": args.free_tier,
        "region": args.region,
        "assumptions": replace(Assumptions(), keep_parent_snapshot=not args.no_parent_snapshot),
    }
    if args.sample:
        options["measurement"] = _measure(args.sample)
        options["sample_label"] = str(args.sample)
    if args.sweep or args.plot:
        table = sweep(records, workload, **options)
        if args.plot:
            plot_sweep(table, args.plot)
        if args.json:
            print(json.dumps(table, indent=2), file=out)
        elif args.sweep:
            print(render_sweep(table), file=out)
        if args.plot:
            print(f"wrote {args.plot}", file=sys.stderr if args.json else out)
        return 0
    result = estimate(records, workload, **options).as_dict()
    result["source"] = label
    print(json.dumps(result, indent=2) if args.json else render_breakdown(result), file=out)
    out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["refresh-prices"]:
        from cost.refresh import main as refresh_main

        return refresh_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
    except CostInputError as err:
        print(
            f"error: {err.describe(_name(err.field, args, from_config=args.graph is None))}", file=sys.stderr
        )
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error. The flush at exit goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print(f"error: {err.filename or ''}: {err.strerror}", file=sys.stderr)
    except Exception as err:  # a bug of ours: one plain line, the traceback only on request
        if args.debug:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (rerun with --debug for details)", file=sys.stderr)
        return 3
    return 2

"""`python -m preview --stack NAME`: what `pulumi up` would create, checked and priced, without any cloud call."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from plan import Plan, PlanError, build_plan
from preview.tree import render_counts, render_tree

EXIT_OK = 0
EXIT_POLICY_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preview",
        description="Offline preview of an Elastio stack: the resource plan, policy verdicts and cost.",
    )
    parser.add_argument("--stack", default="example", help="stack name: reads Pulumi.<stack>.yaml (default: example)")
    parser.add_argument("--json", action="store_true", help="print one JSON document for machines")
    parser.add_argument(
        "--project-dir", type=Path, default=None, help="the Pulumi project to plan (default: this checkout)"
    )
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    return parser.parse_args(argv)


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "stack": plan.stack,
        "project": plan.project,
        "notes": plan.notes,
        "summary": {
            "resources": sum(plan.by_type().values()),
            "components": sum(1 for r in plan.resources if not r.custom),
            "by_type": dict(sorted(plan.by_type().items())),
            "by_region": dict(sorted(plan.by_region().items())),
        },
        "outputs": plan.outputs,
        "resources": plan.records(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = build_plan(args.stack, project_dir=args.project_dir)
    except PlanError as err:
        print(f"error: stack {args.stack!r} cannot be planned:\n{err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # a bug of ours: say so plainly, keep the traceback for --debug
        if args.debug:
            traceback.print_exc()
        print(f"internal error while planning {args.stack!r}: {err} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL

    if args.json:
        print(json.dumps(plan_document(plan), indent=2, default=str))
        return EXIT_OK

    print(f"Offline plan of stack {plan.stack!r} (project {plan.project}): no AWS calls were made.")
    for note in plan.notes:
        print(f"note: {note}")
    print()
    print("\n".join(render_tree(plan)))
    print()
    print("\n".join(render_counts(plan)))
    return EXIT_OK

"""`python -m preview --stack NAME`: what `pulumi up` would create, checked and priced, with no AWS call."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from elastio_pulumi import packaging
from plan import Plan, PlanError, build_plan
from preview.lambda_code import lambda_code, render_lambda_code
from preview.network_check import network_findings
from preview.tree import render_counts, render_tree

# The policy pack is self-contained: its rules import as `elastio_policies` with policies/ on the path,
# exactly as the real pack runs them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))

from elastio_policies.config import PolicyConfigError  # noqa: E402
from elastio_policies.offline import evaluate, has_mandatory  # noqa: E402
from elastio_policies.report import format_table, to_json  # noqa: E402

import cost  # noqa: E402

EXIT_OK = 0
EXIT_POLICY_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preview",
        description="Offline preview of an Elastio stack: the resource plan, policy verdicts and cost.",
    )
    parser.add_argument(
        "--stack", default="example", help="stack name: reads Pulumi.<stack>.yaml (default: example)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document for machines")
    parser.add_argument(
        "--project-dir", type=Path, default=None, help="the Pulumi project to plan (default: this checkout)"
    )
    parser.add_argument(
        "--policy-config",
        type=Path,
        default=None,
        help="policy pack config JSON, as for `pulumi preview --policy-pack-config` (default: the pack's)",
    )
    parser.add_argument(
        "--free-tier", action="store_true", help="count the AWS free tier in the cost (off: it is shared)"
    )
    parser.add_argument(
        "--build-layer",
        action="store_true",
        help="build the functions' dependency layer first if it is not built (needs PyPI), so its codeSha256 shows",
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


class BadInput(Exception):
    """Input the user can fix; `str()` names the flag or key, the value and what is allowed."""


def _policy_config(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise BadInput(f"--policy-config {path}: cannot read it ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise BadInput(f"--policy-config {path}: not valid JSON ({err.msg}, line {err.lineno})") from None


def _assess(plan: Plan, args: argparse.Namespace) -> tuple[list, dict[str, Any], dict[str, list[str]]]:
    records = plan.records()
    try:
        verdicts = evaluate(records, _policy_config(args.policy_config))
    except PolicyConfigError as err:
        raise BadInput(f"--policy-config: {err}") from None
    try:  # each vault's usage is priced in its own region; errors name the full config key
        estimate = cost.summary(records, config=plan.config, free_tier=args.free_tier)
    except cost.CostInputError as err:
        raise BadInput(err.describe(cost.config_key(err.field))) from None
    network = network_findings(records, plan.config) if plan.config is not None else {"warnings": [], "notes": []}
    return verdicts, estimate, network


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.build_layer:
            packaging.ensure_layer(mocked=False)
        plan = build_plan(args.stack, project_dir=args.project_dir)
        verdicts, estimate, network = _assess(plan, args)
    except packaging.PackagingError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PlanError as err:
        # One problem is one line (it names the stack or file); a list of problems gets a heading.
        message = str(err)
        if "\n" in message:
            message = f"stack {args.stack!r} cannot be planned:\n{message}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # a bug of ours: say so plainly, keep the traceback for --debug
        if args.debug:
            traceback.print_exc()
        print(f"internal error while previewing {args.stack!r}: {err} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL
    exit_code = EXIT_POLICY_VIOLATION if has_mandatory(verdicts) else EXIT_OK
    try:
        _print_report(args, plan, verdicts, estimate, network)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error. Later writes, and the flush at exit, go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return exit_code


def _print_report(args: argparse.Namespace, plan: Plan, verdicts: list, estimate: dict, network: dict) -> None:
    if args.json:
        document = plan_document(plan)
        document["policies"] = to_json(verdicts)
        document["cost"] = estimate
        document["network"] = network
        document["lambdaCode"] = lambda_code(document["resources"])
        print(json.dumps(document, indent=2, default=str))
        return

    print(f"Offline plan of stack {plan.stack!r} (project {plan.project}): no AWS calls were made.")
    for note in plan.notes:
        print(f"note: {note}")
    print()
    print("\n".join(render_tree(plan)))
    print()
    print("\n".join(render_counts(plan)))
    print()
    code = lambda_code(plan.records())
    print("\n".join(render_lambda_code(code)))
    for note in code["notes"]:
        print(f"note: {note}")
    print()
    for warning in network["warnings"]:
        print(f"warning: {warning}")
    for note in network["notes"]:
        print(f"note: {note}")
    if network["warnings"] or network["notes"]:
        print()
    print(format_table(verdicts))
    print()
    print(cost.format_summary(estimate, stack=plan.stack))

"""Offline check of a saved graph: `python -m elastio_policies GRAPH.json [--config CONFIG.json] [--json]`.

GRAPH.json holds the graph records (a list, or `{"resources": [...]}` as `python -m preview --json`
may print them). Exit 0 when no mandatory rule is violated, 1 when one is, 2 when the input is unusable.
Run from policies/ or with policies/ on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import PolicyConfigError
from .offline import GraphRecordError, evaluate, has_mandatory
from .report import format_table, to_json


def _load_json(path: str, what: str):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{what} {path}: cannot read it ({error.strerror})") from None
    except ValueError as error:
        raise ValueError(f"{what} {path}: not valid JSON ({error})") from None


def _records(document) -> list:
    if isinstance(document, dict) and isinstance(document.get("resources"), list):
        return document["resources"]
    if isinstance(document, list):
        return document
    raise ValueError("graph: expected a list of records or an object with a 'resources' list")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elastio_policies", description=__doc__.splitlines()[0])
    parser.add_argument("graph", help="JSON file with the graph records")
    parser.add_argument("--config", help="policy pack config JSON (as for pulumi --policy-pack-config)")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    args = parser.parse_args(argv)
    try:
        records = _records(_load_json(args.graph, "graph"))
        config = _load_json(args.config, "policy config") if args.config else None
        verdicts = evaluate(records, config)
    except (ValueError, PolicyConfigError, GraphRecordError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(to_json(verdicts), indent=2) if args.json else format_table(verdicts))
    return 1 if has_mandatory(verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())

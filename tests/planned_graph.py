"""The planned graph as a comparable snapshot: URNs and inputs, with each zip named by the hash Lambda reports.

A function's or layer's `code` input is a path to a content-addressed zip in a build directory, which differs
between checkouts and machines; its bytes are already in the graph as the function's `codeSha256` and the
layer's `sourceCodeHash` (present once the layer is built), so the path is dropped and those hashes compared.

    python -m tests.planned_graph snapshot PREVIEW.json > SNAPSHOT.json   # from `python -m preview --json`
    python -m tests.planned_graph compare BEFORE.json AFTER.json          # preview documents or snapshots

`compare` prints every URN added or removed and every input that differs, and exits 1 if anything does.
tests/fixtures/example_graph.json is the example stack's snapshot as the last release planned it
(tests/test_planned_graph.py checks the current code against it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

ARCHIVE = "[zip: see codeSha256 / sourceCodeHash]"
COMPARED = ("type", "parent", "region", "inputs", "protect", "retain_on_delete", "ignore_changes", "import_id")


def _without_paths(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"FileArchive"} or set(value) == {"FileAsset"}:
            return ARCHIVE
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


def snapshot(resources: Iterable[Mapping[str, Any]], outputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """URN -> the fields `pulumi preview` diffs on (plus dependencies), archive paths replaced by a marker."""
    return {
        "resources": {
            r["urn"]: {
                **{key: _without_paths(r[key]) for key in COMPARED},
                "dependencies": {k: v for k, v in sorted(r["property_dependencies"].items()) if v},
            }
            for r in sorted(resources, key=lambda r: r["urn"])
        },
        "outputs": dict(outputs or {}),
    }


def from_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot from a `python -m preview --json` document, or the snapshot itself."""
    if isinstance(document.get("resources"), Mapping):
        return dict(document)
    return snapshot(document["resources"], document.get("outputs"))


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """One line per URN added or removed, per changed field or input of a URN both plan, per changed output."""
    old, new = before["resources"], after["resources"]
    lines = [f"- {urn}" for urn in sorted(set(old) - set(new))]
    lines += [f"+ {urn}" for urn in sorted(set(new) - set(old))]
    for urn in sorted(set(old) & set(new)):
        a, b = old[urn], new[urn]
        for field in sorted(set(a) | set(b)):
            if field == "inputs":
                for key in sorted(set(a["inputs"]) | set(b["inputs"])):
                    if a["inputs"].get(key) != b["inputs"].get(key):
                        lines.append(
                            f"~ {urn} inputs.{key}: {_short(a['inputs'].get(key))} -> {_short(b['inputs'].get(key))}"
                        )
            elif a.get(field) != b.get(field):
                lines.append(f"~ {urn} {field}: {_short(a.get(field))} -> {_short(b.get(field))}")
    for key in sorted(set(before.get("outputs", {})) | set(after.get("outputs", {}))):
        if before.get("outputs", {}).get(key) != after.get("outputs", {}).get(key):
            lines.append(f"~ output {key}")
    return lines


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dump(snap: Mapping[str, Any]) -> str:
    """One resource per line, keys sorted: a fixture whose changes read as a line diff."""
    lines = ["{", '"outputs": ' + json.dumps(snap["outputs"], sort_keys=True) + ",", '"resources": {']
    items = list(snap["resources"].items())
    for i, (urn, record) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(urn)}: {json.dumps(record, sort_keys=True)}{comma}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "snapshot":
        sys.stdout.write(dump(from_document(json.load(open(argv[1])))))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        before, after = (from_document(json.load(open(path))) for path in argv[1:])
        found = differences(before, after)
        print("\n".join(found) if found else f"unchanged: {len(after['resources'])} URNs, inputs and outputs equal")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

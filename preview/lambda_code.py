"""Which zip each Lambda function and layer of the plan deploys, named by the `CodeSha256` Lambda will report.

Read from the planned inputs themselves (a function's `codeSha256`, a layer's `sourceCodeHash`; both are the
base64 SHA-256 of the zip the program built), so the preview shows what `pulumi up` sends, not a second
computation of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

HASH_INPUT = {"aws:lambda/function:Function": "codeSha256", "aws:lambda/layerVersion:LayerVersion": "sourceCodeHash"}
KIND = {"aws:lambda/function:Function": "function", "aws:lambda/layerVersion:LayerVersion": "layer"}
UNBUILT_LAYER = (
    "the functions' dependency layer is not built on this machine for "
    "src/elastio_pulumi/functions/lambda-layer.txt, so its codeSha256 is null here; `pulumi preview` and "
    "`pulumi up` build it (pip and PyPI or a mirror), and "
    "`python -m preview --build-layer` builds it now and shows its hash"
)


def lambda_code(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    archives = [
        {
            "name": record["name"],
            "kind": KIND[record["type"]],
            "region": record["region"],
            "codeSha256": record["inputs"].get(HASH_INPUT[record["type"]]),
            "zip": _zip_name(record["inputs"].get("code")),
        }
        for record in records
        if record["type"] in HASH_INPUT
    ]
    archives.sort(key=lambda a: (a["kind"], a["name"]))
    unbuilt = any(a["kind"] == "layer" and a["codeSha256"] is None for a in archives)
    return {"archives": archives, "notes": [UNBUILT_LAYER] if unbuilt else []}


def render_lambda_code(document: Mapping[str, Any]) -> list[str]:
    """One line per distinct zip: kind, CodeSha256 and how many resources deploy it."""
    counts = Counter((a["kind"], a["codeSha256"], a["zip"]) for a in document["archives"])
    lines = ["Lambda code (codeSha256 as Lambda will report it):"]
    for (kind, sha, zip_name), count in sorted(counts.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        shown = sha if sha is not None else "unknown (not built here)"
        lines.append(f"  {kind:<9} {shown:<46} {count:>3} × {zip_name}")
    return lines


def _zip_name(code: Any) -> str | None:
    """The zip's file name (content-addressed), not its absolute path, which differs between checkouts."""
    if isinstance(code, Mapping) and isinstance(code.get("FileArchive"), str):
        return PurePath(code["FileArchive"]).name
    return None

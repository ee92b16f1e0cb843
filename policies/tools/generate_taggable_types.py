"""Regenerates elastio_policies/taggable_types.py from the installed pulumi-aws package.

The pack itself must not import pulumi-aws (a real policy run has only policies/ on its path), so the list
of resource types that take a `tags` input is generated here and committed. Run after upgrading pulumi-aws:

    .venv/bin/python policies/tools/generate_taggable_types.py
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "elastio_policies" / "taggable_types.py"
_TYPE_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_TAGS_INPUT = '__props__.__dict__["tags"] = tags\n'
# A tags map; the few list-shaped `tags` inputs are other things (Auto Scaling propagation blocks, Backup
# selection criteria, Lake Formation LF-tags).
_TAGS_MAP = re.compile(r"\btags: pulumi\.Input\[Optional\[Mapping\[str")


def taggable_types(package_dir: Path) -> list[str]:
    """Type tokens of pulumi-aws resources whose constructor takes a `tags` map."""
    found = set()
    for module in package_dir.rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        tokens = _TYPE_TOKEN.findall(source)
        # The static get() also assigns tags (from state); only the constructor part says it is an input.
        constructor = source.split("def get(", 1)[0]
        if tokens and _TAGS_INPUT in constructor and _TAGS_MAP.search(constructor):
            found.update(tokens)
    return sorted(found)


def render(types: list[str], version: str) -> str:
    lines = "\n".join(f'    "{token}",' for token in types)
    return (
        f'"""Resource types that take a `tags` input, generated from pulumi-aws {version} by\n'
        f'policies/tools/generate_taggable_types.py. Do not edit by hand."""\n\n'
        f'PULUMI_AWS_VERSION = "{version}"\n\n'
        f"TAGGABLE_TYPES = frozenset({{\n{lines}\n}})\n"
    )


def main() -> int:
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        print("pulumi-aws is not installed in this environment", file=sys.stderr)
        return 1
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    version = importlib.metadata.version("pulumi-aws")
    TARGET.write_text(render(taggable_types(package_dir), version), encoding="utf-8")
    print(f"wrote {TARGET} for pulumi-aws {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

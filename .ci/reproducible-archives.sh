#!/usr/bin/env bash
# The Lambda zips are the same bytes on every machine. This checkout, after `make test` (bytecode, caches,
# older mtimes), and a fresh clone of its HEAD (new mtimes, another umask and time zone, CRLF line endings)
# must report the same codeSha256 for every function and layer in `python -m preview --json`. Each builds its
# own layer, so this
# needs PyPI or a mirror (PIP_INDEX_URL); it is a separate CI step, not part of `make test`. 12 s on a quiet
# 2-core machine with pip's cache warm (two offline previews, two layer builds), ~25 s on a busy one.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
python=$checkout/.venv/bin/python
if [ ! -x "$python" ]; then
    echo "error: $python is missing: run \`make test\` first (it creates .venv)" >&2
    exit 2
fi
# The clone holds HEAD only: a change not committed (or an untracked file in what the zips hold) would be
# reported as a difference that is not one.
if [ -n "$(git status --porcelain -- src requirements)" ]; then
    echo "error: src/ or requirements/ differ from HEAD: commit or stash first" >&2
    git status --short -- src requirements >&2
    exit 2
fi

# What the tests leave behind where Python writes bytecode (here PYTHONDONTWRITEBYTECODE may be set): none of
# it may reach a zip.
PYTHONDONTWRITEBYTECODE= "$python" -m compileall -q src >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The clone checks out as Git for Windows does by default (core.autocrlf=true: CRLF in the working tree), so
# a zip built from line endings git rewrote, not from the committed bytes, shows as a difference.
git -c core.autocrlf=true clone --quiet --no-hardlinks "$checkout" "$work/clone"
started=$SECONDS

# Writes "<resource name> <codeSha256>" per function and layer; the layer is built if this tree has none.
code_hashes() {
    local tree=$1 out=$2 status=0
    # Each tree its own cache directory, so each builds its own layer.
    (cd "$tree" && ELASTIO_PULUMI_CACHE_DIR="$out.cache" "$python" -m preview --stack example --json --build-layer) \
        >"$out.json" || status=$?
    if [ "$status" -gt 1 ]; then  # 1 only means a mandatory policy finding; the document is complete
        echo "error: the preview of $tree failed (exit $status)" >&2
        exit "$status"
    fi
    "$python" -c '
import json, sys
archives = json.load(open(sys.argv[1]))["lambdaCode"]["archives"]
for a in archives:
    if a["codeSha256"] is None:
        sys.exit(f"{a['name']}: no codeSha256 (the layer was not built)")
    print(a["name"], a["codeSha256"])
' "$out.json" >"$out"
}

code_hashes "$checkout" "$work/checkout.txt"
(umask 077 && TZ=Pacific/Kiritimati code_hashes "$work/clone" "$work/clone.txt")

if ! diff -u "$work/checkout.txt" "$work/clone.txt"; then
    echo "error: the Lambda zips differ between this checkout and a fresh clone (diff above)" >&2
    exit 1
fi
count=$(wc -l <"$work/checkout.txt")
distinct=$(cut -d' ' -f2 "$work/checkout.txt" | sort -u | tr '\n' ' ')
echo "reproducible: $count functions and layers, the same codeSha256 in both trees ($distinct) in $((SECONDS - started)) s"

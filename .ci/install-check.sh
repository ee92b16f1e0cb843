#!/usr/bin/env bash
# The library is a package others install: `pip install .` into a fresh virtualenv, then its public API imports
# and it builds the same function zip as this checkout (its Lambda code is package data). The contract package
# imports where pulumi is not installed (as in Lambda and the engine image). Needs PyPI or a mirror
# (PIP_INDEX_URL): not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

"$python" -m venv "$work/venv"
venv=$work/venv/bin/python
"$venv" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24,<27"
# Dependencies from the hash-locked lock (pip verifies every download); pip refuses the unhashed `.` in that
# mode, so the package follows without resolving again, and `pip check` proves the lock satisfies it.
"$venv" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/runtime.txt
"$venv" -m pip install --quiet --disable-pip-version-check --no-deps "$checkout"
"$venv" -m pip check
# From outside the checkout, so only the installed package can answer.
(cd "$work" && "$venv" -c '
import pathlib, sys
from elastio_pulumi import AccountBootstrap, CloudConnector, Vault
from elastio_pulumi import ArgsError, ConnectorOptions, IamArgs, NetworkArgs, ObjectLock, TenantArgs, VaultSpec
from elastio_pulumi import packaging
assert "site-packages" in packaging.__file__, packaging.__file__
print(packaging.function_code(build_dir=pathlib.Path(sys.argv[1])).code_sha256)
' "$work/zips") >"$work/installed.txt"
(cd "$checkout" && .venv/bin/python -c '
import pathlib, sys
sys.path.insert(0, "src")
from elastio_pulumi import packaging
print(packaging.function_code(build_dir=pathlib.Path(sys.argv[1])).code_sha256)
' "$work/zips-checkout") >"$work/checkout.txt"
if ! diff -u "$work/checkout.txt" "$work/installed.txt"; then
    echo "error: the installed package builds another function zip than the checkout (package data missing?)" >&2
    exit 1
fi

# The contract alone: a virtualenv with the package but none of its dependencies.
"$python" -m venv "$work/bare"
"$work/bare/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$checkout"
(cd "$work" && "$work/bare/bin/python" -c '
import importlib.util, elastio_contract
from elastio_contract import environment, jobs, messages, tables, tags, VaultRecord
assert importlib.util.find_spec("pulumi") is None, "pulumi is installed in the bare virtualenv"
')
echo "installable: elastio-pulumi imports from a fresh virtualenv, builds function zip $(cat "$work/installed.txt") as the checkout does; elastio_contract imports without pulumi ($((SECONDS - started)) s)"

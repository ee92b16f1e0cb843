"""The connector functions' code archive and their dependency layer.

The code is the `lambdas/` folder, archived as `lambdas/` so handlers import as `lambdas.<service>.handler`
in tests and in Lambda alike. Compiled dependencies (pydantic-core) must match Lambda's platform, not this
machine's, so the layer is filled by pip with `--platform manylinux2014_x86_64 --only-binary=:all:` for the
functions' runtime. That happens at deploy time (`pulumi up`), or on a real `pulumi preview` when the layer
directory does not exist yet, never under the offline plan (mocks) and never when
`ELASTIO_LAYER_BUILD=never`. `ELASTIO_LAYER_BUILD=always` rebuilds even on preview.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pulumi

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_DIR / "lambdas"
REQUIREMENTS = LAMBDAS_DIR / "requirements.txt"
# The layer zip must hold the packages under python/ (Lambda puts /opt/python on sys.path).
LAYER_DIR = PROJECT_DIR / "build" / "lambda-layer"
STAMP = LAYER_DIR / ".requirements.sha256"

RUNTIME = "python3.12"
ARCHITECTURE = "x86_64"  # must match the manylinux2014_x86_64 wheels of the layer
PIP_PLATFORM = "manylinux2014_x86_64"
BUILD_ENV = "ELASTIO_LAYER_BUILD"  # auto (default) | never | always


class PackagingError(Exception):
    """The layer could not be built; `str()` says what to fix."""


def function_code() -> pulumi.AssetArchive:
    return pulumi.AssetArchive({"lambdas": pulumi.FileArchive(str(LAMBDAS_DIR))})


def layer_code() -> pulumi.FileArchive:
    return pulumi.FileArchive(str(LAYER_DIR))


def should_build_layer(
    *, mode: str, dry_run: bool, mocked: bool, layer_exists: bool, stamp_matches: bool
) -> bool:
    """Pure decision: build on deploy (unless built from the same requirements already), or when a real
    preview would have nothing to hash; never under mocks; `mode` (ELASTIO_LAYER_BUILD) overrides."""
    if mocked or mode == "never":
        return False
    if mode == "always":
        return True
    if mode != "auto":
        raise PackagingError(f"{BUILD_ENV}={mode!r} is not one of auto, never, always: fix or unset it")
    if not layer_exists:
        return True
    return not dry_run and not stamp_matches


def pip_command(target: Path, requirements: Path, python: str = sys.executable) -> list[str]:
    version = RUNTIME.removeprefix("python")
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--platform",
        PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--only-binary=:all:",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def requirements_digest(requirements: Path = REQUIREMENTS) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest() if requirements.is_file() else ""


def is_mocked() -> bool:
    """True under `pulumi.runtime.set_mocks` (the offline plan and the tests)."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(settings.get_monitor(), MockMonitor)


@cache
def ensure_layer() -> pulumi.FileArchive:
    """Build the layer directory if this run needs it (once per program run), then return its archive."""
    digest = requirements_digest()
    mocked = is_mocked()
    build = should_build_layer(
        mode=os.environ.get(BUILD_ENV, "auto").strip().lower() or "auto",
        dry_run=pulumi.runtime.is_dry_run(),
        mocked=mocked,
        layer_exists=LAYER_DIR.is_dir(),
        stamp_matches=STAMP.is_file() and STAMP.read_text().strip() == digest,
    )
    if build:
        build_layer(digest)
    elif not mocked and not LAYER_DIR.is_dir():
        raise PackagingError(
            f"the Lambda layer directory {LAYER_DIR} does not exist and {BUILD_ENV}=never: "
            f"unset {BUILD_ENV} so the program builds it"
        )
    return layer_code()


def build_layer(digest: str) -> None:
    if not REQUIREMENTS.is_file():
        raise PackagingError(
            f"{REQUIREMENTS.relative_to(PROJECT_DIR)} is missing: it lists the functions' dependencies for "
            f"the Lambda layer; add it (or set {BUILD_ENV}=never to deploy without rebuilding the layer)"
        )
    target = LAYER_DIR / "python"
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(pip_command(target, REQUIREMENTS), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(
            f"building the Lambda layer failed (pip for {PIP_PLATFORM}, {RUNTIME}):\n"
            f"{result.stderr.strip()}\n"
            "every dependency in lambdas/requirements.txt needs a wheel for that platform"
        )
    STAMP.write_text(digest)

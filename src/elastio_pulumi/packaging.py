"""The connector functions' code archive and their dependency layer, built as reproducible zip files.

Lambda reports a function's and a layer's `CodeSha256` as the base64 SHA-256 of the zip it received, and
Pulumi passes a `FileArchive` of a `.zip` file to the provider byte for byte (its archive hash is the file's
SHA-256). So the same inputs must give the same bytes on every machine, or every checkout publishes a new
layer and updates every function in every region. Both zips are therefore written by this module:

- members sorted by name, every timestamp 1980-01-01 00:00 (the earliest a zip entry holds), mode 0644 or
  0755 (only the owner's execute bit of the source is kept), no directory entries, no extra fields;
- stored, not deflated: deflate output depends on the zlib build (zlib-ng and its forks compress
  differently), stored bytes do not (the layer is ~11 MB instead of ~4 MB, far below Lambda's 50 MB
  direct-upload limit);
- no bytecode and no caches (`__pycache__`, `*.pyc`, hidden files and folders): a `.pyc` holds its source's
  mtime and differs between machines.

The code zip is `lambdas/` under its import name (`lambdas.<service>.handler`, as in the tests) and
`elastio_contract/`, which they import. The layer
zip is the wheels of `functions/lambda-layer.txt` (every package pinned with `==` and a sha256 hash, for
Lambda's platform), downloaded by pip into a fresh directory and unpacked here under `python/` (Lambda puts
`/opt/python` on `sys.path`). pip does not install them: an install rewrites script shebangs to the
installing interpreter's path and records their hashes in RECORD, which differs between machines.

Both zips are content-addressed files in a cache directory (`cache_dir()`, outside the package, so an
installed package and a read-only checkout work alike): the code zip is named by its own hash, the layer
zip by the hash of the lock and of this module (`layer_key`). Building the layer needs the package index,
so the offline plan (mocks: `python -m preview`, the tests) never builds it; it uses a layer already built
for the same lock and reports its hash, or reports the hash as unknown (`None`). A real `pulumi preview` and
`pulumi up` build it when it is not there (`ELASTIO_LAYER_BUILD=never` makes a missing layer an error), so
preview and up deploy the same file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi

import elastio_contract

PACKAGE_DIR = Path(__file__).resolve().parent
LAMBDAS_DIR = PACKAGE_DIR / "functions" / "lambdas"
# The facts the functions share with the components and the engine; its own top-level package in the zip.
CONTRACT_DIR = Path(elastio_contract.__file__).resolve().parent
LAYER_LOCK = PACKAGE_DIR / "functions" / "lambda-layer.txt"
CACHE_ENV = "ELASTIO_PULUMI_CACHE_DIR"


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where built zips are kept: $ELASTIO_PULUMI_CACHE_DIR, else the user's cache directory ($XDG_CACHE_HOME
    or ~/.cache, per the XDG base directory specification) under `elastio-pulumi/lambda`. Read on every call,
    so a test or a CI step can point it elsewhere."""
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV]).expanduser()
    base = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "elastio-pulumi" / "lambda"


RUNTIME = "python3.12"
ARCHITECTURE = "x86_64"  # must match the manylinux2014_x86_64 wheels of the layer
PIP_PLATFORM = "manylinux2014_x86_64"
LOCK_COMMAND = (
    "uv pip compile src/elastio_pulumi/functions/lambda-layer.in --generate-hashes --python-version 3.12 "
    "--python-platform x86_64-manylinux2014 -o src/elastio_pulumi/functions/lambda-layer.txt"
)
BUILD_ENV = "ELASTIO_LAYER_BUILD"  # auto (default): build when missing | never: only use a built layer

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
CACHE_DIRS = frozenset({"__pycache__"})  # besides every hidden folder (.pytest_cache, .mypy_cache, .git, ...)
BYTECODE_SUFFIXES = (".pyc", ".pyo")


class PackagingError(Exception):
    """A zip could not be built; `str()` says what to fix."""


@dataclass(frozen=True)
class LambdaZip:
    """A zip to deploy, and the `CodeSha256` Lambda will report for it (None: not built on this machine)."""

    path: Path
    code_sha256: str | None

    def archive(self) -> pulumi.FileArchive:
        # A `.zip` path: Pulumi hands the provider these exact bytes (no re-archiving), so Lambda's CodeSha256
        # is `code_sha256`.
        return pulumi.FileArchive(str(self.path))


# --- zips -----------------------------------------------------------------------------------------------------

File = tuple[bytes, bool]
"""A member's content and whether it is executable."""


def is_cache(relative_path: str) -> bool:
    """Bytecode, `__pycache__` and hidden files or folders: never part of an archive."""
    parts = relative_path.split("/")
    return (
        any(part in CACHE_DIRS or part.startswith(".") for part in parts)
        or relative_path.endswith(BYTECODE_SUFFIXES)
    )


def deterministic_zip(files: Mapping[str, File]) -> bytes:
    """The same members give the same bytes, whatever their order, mtimes, owner or umask."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            data, executable = files[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            # Unix modes, whatever the building machine's umask: Lambda needs every file readable by all
            # (644, 755 for executables), or imports fail with "permission denied"
            # (https://repost.aws/knowledge-center/lambda-deployment-package-errors).
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def code_sha256(data: bytes) -> str:
    """Lambda's `CodeSha256`: the base64 (not hex) SHA-256 of the zip."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def tree_files(root: Path, prefix: str) -> dict[str, File]:
    """Every file under `root` but caches, named `prefix/<path>`."""
    files: dict[str, File] = {}
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not is_cache(d)]
        for name in names:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if not is_cache(relative):
                files[f"{prefix}/{relative}"] = (path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
    return files


def store(data: bytes, path: Path) -> LambdaZip:
    """Write `data` to `path` unless it is there already; atomic, so a crash never leaves half a zip."""
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    return LambdaZip(path=path, code_sha256=code_sha256(data))


def function_code(
    lambdas_dir: Path | None = None, build_dir: Path | None = None, contract_dir: Path | None = None
) -> LambdaZip:
    """The functions' code zip: `lambdas/` and the contract package they import (no network: built on every
    run, offline plan included)."""
    files = tree_files(lambdas_dir or LAMBDAS_DIR, "lambdas")
    files.update(tree_files(contract_dir or CONTRACT_DIR, CONTRACT_DIR.name))
    data = deterministic_zip(files)
    return store(data, (build_dir or cache_dir()) / f"functions-{hashlib.sha256(data).hexdigest()}.zip")


# --- the layer's lock -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str
    """Normalised as PyPI does (PEP 503): lower case, runs of `-_.` as one `-`."""
    version: str


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([A-Za-z0-9.+!_-]+)\s*(;.*)?")


def read_lock(text: str, source: str) -> list[Pin]:
    """The pins of a hash-locked requirements file; anything pip could resolve differently is refused.

    With a hash on every line, pip runs in --require-hashes mode: a package (or a dependency of one) that the
    lock does not pin with `==` and a hash makes the download fail instead of fetching whatever is newest.
    """
    fix = f"regenerate it with `{LOCK_COMMAND}`"
    pins: list[Pin] = []
    # CRLF too (a checkout with core.autocrlf=true): a continuation is a backslash before either line ending.
    for line in text.replace("\r\n", "\n").replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line:
            continue
        if line.startswith("-"):  # -r, -e, --index-url, ...: the lock is pins only, the index is pip's config
            raise PackagingError(f"{source}: `{line.split()[0]}` is not allowed in the layer's lock: {fix}")
        requirement, *options = re.split(r"\s+--", line)
        match = _REQUIREMENT.fullmatch(requirement)
        if not match:
            raise PackagingError(f"{source}: `{requirement}` is not pinned with `==`: {fix}")
        pin = Pin(normalize(match[1]), match[2])
        if not options:
            raise PackagingError(f"{source}: {match[1]}=={pin.version} has no --hash: {fix}")
        if not all(re.fullmatch(r"hash=sha256:[0-9a-f]{64}", option) for option in options):
            raise PackagingError(f"{source}: {match[1]}=={pin.version} may carry only sha256 hashes: {fix}")
        pins.append(pin)
    if not pins:
        raise PackagingError(f"{source}: lists no packages: {fix}")
    return pins


def layer_key(lock: bytes) -> str:
    """Names the layer zip: the same lock and recipe always give the same zip, so one build serves all runs.

    The recipe is this module's source: any change to how a layer is made (even a comment) names a new zip,
    so no machine keeps deploying a zip an older recipe made (a rebuild of an unchanged recipe gives the same
    bytes, so it changes nothing in AWS).
    """
    return hashlib.sha256(Path(__file__).read_bytes() + b"\0" + lock).hexdigest()


def layer_path(lock: Path | None = None, build_dir: Path | None = None) -> Path:
    """Where the layer for `lock` is (or will be) built; the lock is checked on the way."""
    data, _ = _checked_lock(lock or LAYER_LOCK)
    return (build_dir or cache_dir()) / f"layer-{layer_key(data)}.zip"


def _checked_lock(lock: Path) -> tuple[bytes, list[Pin]]:
    if not lock.is_file():
        raise PackagingError(
            f"{_shown(lock)} is missing: it pins the functions' dependencies; create it with `{LOCK_COMMAND}`"
        )
    data = lock.read_bytes()
    return data, read_lock(data.decode(), _shown(lock))


# --- building the layer (needs the package index) -------------------------------------------------------------


def pip_download_command(dest: Path, lock: Path, python: str = sys.executable) -> list[str]:
    return [
        python, "-m", "pip", "download",
        "--quiet", "--disable-pip-version-check", "--no-input",
        "--require-hashes",
        "--only-binary=:all:",
        "--platform", PIP_PLATFORM,
        "--implementation", "cp",
        "--python-version", RUNTIME.removeprefix("python"),
        "--dest", str(dest),
        "-r", str(lock),
    ]  # fmt: skip


def wheel_files(wheel: Path) -> dict[str, File]:
    """A wheel's importable files as they sit in site-packages, under `python/` (a layer's layout).

    As an installer lays a wheel out: `<name>.data/purelib` and `/platlib` go to the top; the other
    `.data` schemes (scripts, headers, data) are nothing Lambda imports and are left out.
    """
    files: dict[str, File] = {}
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            top, _, rest = name.partition("/")
            if top.endswith(".data"):
                scheme, _, name = rest.partition("/")
                if scheme not in ("purelib", "platlib"):
                    continue
            if not is_cache(name):
                files[f"python/{name}"] = (archive.read(info), bool((info.external_attr >> 16) & stat.S_IXUSR))
    return files


def layer_files(wheels: Iterable[Path], pins: list[Pin]) -> dict[str, File]:
    """The layer's members from exactly the pinned wheels; a wheel the lock does not pin is refused."""
    pinned = {(pin.name, pin.version) for pin in pins}
    files: dict[str, File] = {}
    for wheel in sorted(wheels):
        name, version = wheel.name.split("-")[:2]
        if (normalize(name), version) not in pinned:
            raise PackagingError(f"pip fetched {wheel.name}, which the layer's lock does not pin")
        for member, content in wheel_files(wheel).items():
            if files.setdefault(member, content) != content:
                raise PackagingError(f"two wheels of the layer hold {member} with different contents")
    return files


def build_layer(lock: Path | None = None, build_dir: Path | None = None, python: str = sys.executable) -> LambdaZip:
    """Download the locked wheels into a fresh directory and write the layer zip (needs the package index)."""
    lock = lock or LAYER_LOCK
    path = layer_path(lock, build_dir)
    _, pins = _checked_lock(lock)
    with tempfile.TemporaryDirectory(prefix="elastio-layer-") as fresh:
        wheels = Path(fresh, "wheels")
        result = subprocess.run(
            pip_download_command(wheels, lock, python), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PackagingError(
                f"downloading the Lambda layer's wheels failed (pip for {PIP_PLATFORM}, {RUNTIME}):\n"
                f"{result.stderr.strip()}\n"
                f"every package in {_shown(lock)} needs a wheel for that platform, and pip needs PyPI or a "
                "mirror (PIP_INDEX_URL)"
            )
        data = deterministic_zip(layer_files(wheels.glob("*.whl"), pins))
    return store(data, path)


# --- wiring ---------------------------------------------------------------------------------------------------


def layer_action(*, mode: str, mocked: bool, built: bool) -> str:
    """Pure decision: `use` the built layer, `build` it, or report it as `unknown` (offline, not built)."""
    if mode not in ("auto", "never"):
        raise PackagingError(f"{BUILD_ENV}={mode!r} is not one of auto, never: fix or unset it")
    if built:
        return "use"
    if mocked:
        return "unknown"
    if mode == "never":
        raise PackagingError(
            f"the Lambda layer for {_shown(LAYER_LOCK)} is not built and {BUILD_ENV}=never: unset {BUILD_ENV} "
            f"so the program builds it, or copy {cache_dir()} from a machine that did (or point {CACHE_ENV} at a copy)"
        )
    return "build"


def is_mocked() -> bool:
    """True under `pulumi.runtime.set_mocks` (the offline plan and the tests): the one SDK internal read here.

    Pulumi has no public way to ask whether a run is mocked (checked in pulumi 3.272 and on pulumi/pulumi master,
    sdk/python/lib/pulumi/runtime): `is_dry_run()` is also true in a real `pulumi preview`, which must build the
    layer so preview and up deploy the same file. `set_mocks` installs a `MockMonitor` as the run's monitor, and
    `settings.get_monitor()` returns it. tests/components/test_packaging.py calls the public `set_mocks` and
    fails if this stops answering True, so an SDK upgrade cannot make the offline plan start running pip.
    """
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(settings.get_monitor(), MockMonitor)


def ensure_layer(*, mocked: bool | None = None) -> LambdaZip:
    """The layer zip for this run: built once per lock, reused by every later preview and up."""
    path = layer_path()
    action = layer_action(
        mode=os.environ.get(BUILD_ENV, "auto").strip().lower() or "auto",
        mocked=is_mocked() if mocked is None else mocked,
        built=path.is_file(),
    )
    if action == "build":
        return build_layer()
    if action == "unknown":
        return LambdaZip(path=path, code_sha256=None)
    stat_result = path.stat()
    return LambdaZip(path=path, code_sha256=_file_sha256(path, stat_result.st_mtime_ns, stat_result.st_size))


@functools.cache
def _file_sha256(path: Path, _mtime_ns: int, _size: int) -> str:
    """Hashes an ~11 MB layer once per process (the tests plan many stacks), again if the file changes."""
    return code_sha256(path.read_bytes())


def _shown(path: Path) -> str:
    """Relative to the working directory (the project) when inside it, else in full (an installed package)."""
    here = Path.cwd()
    return path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path)

"""The functions' code zip and dependency layer are the same bytes on every machine, and are what is deployed.

The layer tests run the real pip against wheels made here (PIP_NO_INDEX + PIP_FIND_LINKS: no network), so
pip's own behaviour (hash checking, dependency resolution) is what is tested. Budget: 6 s for the file on an
idle machine (five pip runs of about a second; the example plan is shared with the other component tests).
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from elastio_pulumi import naming, packaging
from preview import cli

# --- the functions' code zip --------------------------------------------------------------------------------


def checkout_of_lambdas(tmp_path: Path, name: str) -> Path:
    """A copy of lambdas/ as another checkout would have it (its own mtimes, no caches unless a test adds them)."""
    copy = tmp_path / name / "lambdas"
    shutil.copytree(packaging.LAMBDAS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    return copy


def test_code_zip_is_the_same_bytes_from_checkouts_with_other_mtimes_modes_and_caches(tmp_path):
    fresh = checkout_of_lambdas(tmp_path, "fresh")
    tested = checkout_of_lambdas(tmp_path, "tested")
    # The second checkout ran the tests, an editor and a linter: newer mtimes, group-writable files,
    # bytecode and cache folders.
    for path in tested.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
        if path.is_file():
            path.chmod(0o664)
    (tested / "router" / "__pycache__").mkdir()
    (tested / "router" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\xcb\r\r\n bytecode")
    (tested / "shared" / "stale.pyc").write_bytes(b"bytecode")
    (tested / ".pytest_cache").mkdir()
    (tested / ".pytest_cache" / "README.md").write_text("cache")
    (tested / "catalog" / ".handler.py.swp").write_bytes(b"editor swap")

    first = packaging.function_code(fresh, tmp_path / "build-fresh")
    second = packaging.function_code(tested, tmp_path / "build-tested")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.code_sha256 == second.code_sha256


def test_code_zip_members_are_sorted_with_fixed_timestamps_and_modes_and_no_caches(tmp_path):
    source = checkout_of_lambdas(tmp_path, "checkout")
    (source / "router" / "__pycache__").mkdir()
    (source / "router" / "__pycache__" / "dispatch.cpython-311.pyc").write_bytes(b"bytecode")
    built = packaging.function_code(source, tmp_path / "build")

    with zipfile.ZipFile(built.path) as archive:
        members = archive.infolist()
    names = [m.filename for m in members]
    assert names == sorted(names)
    assert {m.date_time for m in members} == {(1980, 1, 1, 0, 0, 0)}
    assert {(m.external_attr >> 16) & 0o777 for m in members} <= {0o644, 0o755}
    expected = {f"lambdas/{p.relative_to(source).as_posix()}" for p in source.rglob("*") if p.is_file()}
    contract = packaging.CONTRACT_DIR
    expected |= {
        f"elastio_contract/{p.relative_to(contract).as_posix()}"
        for p in contract.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert set(names) == expected - {"lambdas/router/__pycache__/dispatch.cpython-311.pyc"}


def test_code_sha256_is_lambdas_base64_sha256_of_the_zip_file_pulumi_uploads(tmp_path):
    built = packaging.function_code(build_dir=tmp_path)
    # Pulumi sends a FileArchive that names a .zip file as is; Lambda's CodeSha256 is base64(SHA-256(zip)).
    assert built.path.suffix == ".zip" and built.archive().path == str(built.path)
    assert built.code_sha256 == base64.b64encode(hashlib.sha256(built.path.read_bytes()).digest()).decode()


def test_handlers_import_from_the_code_zip_alone(tmp_path):
    built = packaging.function_code(build_dir=tmp_path / "build")
    unpacked = tmp_path / "task"  # Lambda unpacks the zip into /var/task and puts it on sys.path
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(unpacked)
    handlers = [f"lambdas.{service}.handler" for service in naming.FUNCTIONS]
    script = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    result = subprocess.run(
        [sys.executable, "-c", script, *handlers],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked), "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_code_zip_carries_the_contract_package_the_handlers_import(tmp_path):
    """Lambda has no elastio_contract but the zip's: the handlers must import the zip's copy, not the checkout's."""
    built = packaging.function_code(build_dir=tmp_path / "build")
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(unpacked)
    script = (
        "import sys, lambdas.router.handler, elastio_contract; "
        "assert 'pulumi' not in sys.modules; print(elastio_contract.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(unpacked)!r}); {script}"],
        cwd=tmp_path, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(unpacked)


def test_preview_json_lists_the_code_sha256_of_every_function_and_layer(example_plan, capsys):
    """Each is the hash of the zip the plan deploys; the offline plan never builds the layer (null, and a note)."""
    args = cli.parse_args(["--stack", "example", "--json"])
    cli._print_report(args, example_plan, [], {}, {"warnings": [], "notes": []})
    document = json.loads(capsys.readouterr().out)["lambdaCode"]
    planned = {r.name: r for r in example_plan.resources if r.type.startswith("aws:lambda/") and "code" in r.inputs}
    assert {a["name"] for a in document["archives"]} == set(planned)
    kinds = [a["kind"] for a in document["archives"]]
    regions = len(example_plan.config.regions)
    assert (kinds.count("function"), kinds.count("layer")) == (len(naming.FUNCTIONS) * regions, regions)
    for archive in document["archives"]:
        path = Path(planned[archive["name"]].inputs["code"]["FileArchive"])
        assert archive["zip"] == path.name
        assert archive["codeSha256"] == (packaging.code_sha256(path.read_bytes()) if path.is_file() else None)
    assert bool(document["notes"]) == any(a["codeSha256"] is None for a in document["archives"])


# --- the layer: lock, fresh build, reproducible zip ---------------------------------------------------------


def make_wheel(directory: Path, name: str, version: str, modules: dict[str, str], requires=()) -> Path:
    """A minimal pure-Python wheel, with a script (which pip would rewrite for its own interpreter)."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {path: text.encode() for path, text in modules.items()}
    files[f"{dist}.data/scripts/{name}-tool"] = b"#!python\nprint('tool')\n"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{dist}.dist-info/METADATA"] = (metadata + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode()
    files[f"{dist}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}.dist-info/RECORD"] = ("\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n").encode()
    wheel = directory / f"{dist}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def lock_line(wheel: Path, name: str, version: str) -> str:
    return f"{name}=={version} \\\n    --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n"


@pytest.fixture
def index(tmp_path, monkeypatch) -> Path:
    """A local package index pip must use instead of PyPI (so nothing here needs the network)."""
    wheels = tmp_path / "index"
    wheels.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    return wheels


def layer_members(built: packaging.LambdaZip) -> list[str]:
    with zipfile.ZipFile(built.path) as archive:
        return archive.namelist()


def test_a_package_dropped_from_the_lock_does_not_linger_in_the_next_layer(tmp_path, index):
    kept = make_wheel(index, "kept-pkg", "1.0", {"kept_pkg/__init__.py": "VALUE = 1\n"})
    dropped = make_wheel(index, "dropped-pkg", "2.0", {"dropped_pkg/__init__.py": "VALUE = 2\n"})
    lock = tmp_path / "lambda-layer.txt"
    build = tmp_path / "build"
    lock.write_text(lock_line(kept, "kept-pkg", "1.0") + lock_line(dropped, "dropped-pkg", "2.0"))
    before = packaging.build_layer(lock, build)
    assert "python/dropped_pkg/__init__.py" in layer_members(before)

    lock.write_text(lock_line(kept, "kept-pkg", "1.0"))
    after = packaging.build_layer(lock, build)

    members = layer_members(after)
    assert not any("dropped" in member for member in members)
    assert "python/kept_pkg/__init__.py" in members
    # Only importable files: no bytecode, no scripts (pip would rewrite their shebang for its own python).
    assert not any(m.endswith(".pyc") or "__pycache__" in m or "-tool" in m for m in members)
    assert all(m.startswith("python/") for m in members)


def test_layer_zip_is_the_same_bytes_when_built_again_elsewhere(tmp_path, index):
    wheel = make_wheel(index, "some-pkg", "1.0", {"some_pkg/__init__.py": "", "some_pkg/core.py": "X = 1\n"})
    lock = tmp_path / "lambda-layer.txt"
    lock.write_text(lock_line(wheel, "some-pkg", "1.0"))

    first = packaging.build_layer(lock, tmp_path / "machine-a")
    os.utime(wheel, (1_900_000_000, 1_900_000_000))  # downloaded later, elsewhere
    second = packaging.build_layer(lock, tmp_path / "machine-b")

    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        assert {m.date_time for m in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_lock_that_omits_a_dependency_fails_the_build(tmp_path, index):
    make_wheel(index, "needed-dep", "1.0", {"needed_dep/__init__.py": ""})
    top = make_wheel(index, "top-pkg", "1.0", {"top_pkg/__init__.py": ""}, requires=["needed-dep"])
    lock = tmp_path / "lambda-layer.txt"
    lock.write_text(lock_line(top, "top-pkg", "1.0"))  # only the top-level package, as lambdas/requirements.txt was

    with pytest.raises(packaging.PackagingError, match="needed-dep"):
        packaging.build_layer(lock, tmp_path / "build")
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize(
    ("lock", "problem"),
    [
        ("pydantic==2.14.4\n", "pydantic==2.14.4 has no --hash"),
        ("pydantic>=2 \\\n    --hash=sha256:" + "0" * 64 + "\n", "`pydantic>=2` is not pinned"),
        ("pydantic==2.14.4 --hash=md5:0123\n", "may carry only sha256 hashes"),
        ("-r other.txt\n", "`-r` is not allowed"),
        ("--index-url https://example.com/simple\n", "`--index-url` is not allowed"),
        ("# nothing\n", "lists no packages"),
    ],
)
def test_a_lock_without_hashes_or_exact_pins_is_refused_before_pip_runs(tmp_path, lock, problem):
    path = tmp_path / "lambda-layer.txt"
    path.write_text(lock)
    with pytest.raises(packaging.PackagingError, match="regenerate it with `uv pip compile") as refused:
        packaging.build_layer(path, tmp_path / "build", python="/no/python/so/pip/cannot/run")
    assert problem in str(refused.value)
    assert not (tmp_path / "build").exists()


def test_a_missing_lock_is_an_error_that_says_how_to_make_it(tmp_path):
    with pytest.raises(packaging.PackagingError, match="is missing: .* create it with `uv pip compile"):
        packaging.layer_path(tmp_path / "lambda-layer.txt")


def test_the_layer_lock_pins_every_package_with_hashes():
    pins = packaging.read_lock(packaging.LAYER_LOCK.read_text(), "src/elastio_pulumi/functions/lambda-layer.txt")
    # Powertools' own dependencies are pinned too, not only the two packages the functions import.
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "jmespath"} <= {p.name for p in pins}


def test_a_lock_checked_out_with_crlf_line_endings_reads_the_same_pins(tmp_path):
    # Git for Windows checks out with CRLF by default (core.autocrlf=true): each continuation line then ends in a
    # backslash and CRLF, and the lock must still read as the same pins instead of failing every preview.
    text = packaging.LAYER_LOCK.read_text()
    crlf = tmp_path / "lambda-layer.txt"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    packaging.layer_path(crlf, tmp_path / "build")  # checks the lock as the program does
    assert packaging.read_lock(crlf.read_bytes().decode(), "crlf") == packaging.read_lock(text, "lf")


# --- when the layer is built ----------------------------------------------------------------------------------


@pytest.fixture
def layer_lock(tmp_path, monkeypatch) -> Path:
    lock = tmp_path / "lambda-layer.txt"
    lock.write_text("some-pkg==1.0 --hash=sha256:" + "a" * 64 + "\n")
    monkeypatch.setattr(packaging, "LAYER_LOCK", lock)
    monkeypatch.setenv(packaging.CACHE_ENV, str(tmp_path / "build"))
    monkeypatch.delenv(packaging.BUILD_ENV, raising=False)
    return lock


def test_offline_plan_reports_an_unbuilt_layer_as_unknown_and_never_runs_pip(layer_lock, monkeypatch):
    monkeypatch.setattr(packaging, "build_layer", lambda *a, **k: pytest.fail("the offline plan ran pip"))
    layer = packaging.ensure_layer(mocked=True)
    assert layer.code_sha256 is None and layer.path == packaging.layer_path()


def test_every_run_uses_the_layer_built_for_the_same_lock(layer_lock, monkeypatch):
    monkeypatch.setattr(packaging, "build_layer", lambda *a, **k: pytest.fail("rebuilt a built layer"))
    path = packaging.layer_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK built earlier")
    for mocked in (True, False):  # the offline plan, and a real preview or up
        assert packaging.ensure_layer(mocked=mocked).code_sha256 == packaging.code_sha256(b"PK built earlier")


def test_a_changed_lock_names_a_new_layer(layer_lock):
    before = packaging.layer_path()
    layer_lock.write_text("some-pkg==1.1 --hash=sha256:" + "b" * 64 + "\n")
    assert packaging.layer_path() != before


def test_real_runs_build_a_missing_layer_unless_told_never(layer_lock, monkeypatch):
    built = packaging.LambdaZip(Path("layer.zip"), "hash")
    monkeypatch.setattr(packaging, "build_layer", lambda *a, **k: built)
    assert packaging.ensure_layer(mocked=False) is built
    monkeypatch.setenv(packaging.BUILD_ENV, "never")
    with pytest.raises(packaging.PackagingError, match=f"not built and {packaging.BUILD_ENV}=never"):
        packaging.ensure_layer(mocked=False)
    monkeypatch.setenv(packaging.BUILD_ENV, "sometimes")
    with pytest.raises(packaging.PackagingError, match=f"{packaging.BUILD_ENV}='sometimes' is not one of auto, never"):
        packaging.ensure_layer(mocked=False)


def test_a_run_under_the_sdks_public_set_mocks_counts_as_mocked():
    # is_mocked reads the run's monitor (Pulumi has no public "am I mocked"): if an SDK upgrade moves it, this
    # fails instead of the offline plan starting to build the layer with pip.
    import pulumi.runtime

    class NoCloud(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return args.name, args.inputs

        def call(self, args):
            return {}, None

    def mocked_run() -> bool:
        pulumi.runtime.set_mocks(NoCloud(), preview=True)
        return packaging.is_mocked()

    # In a context of its own: the SDK keeps its settings and root stack in context variables, and this run's
    # must not reach the session's plans.
    assert contextvars.copy_context().run(mocked_run)

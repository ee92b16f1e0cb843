"""Runs the real `__main__.py` under `pulumi.runtime.set_mocks` and records what it registers.

The mock monitor is subclassed because `Mocks.new_resource` does not see parents, resource options or
property dependencies, which the policy rules and the plan tree need. Each run gets its own event loop and its
own `set_mocks` call, so runs do not leak state into each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config

from plan.fake_cloud import FakeCloud
from plan.graph import Plan, PlannedResource
from plan.stackfile import StackFileError, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent

_SECRET_SIG = rpc._special_sig_key  # noqa: SLF001 - the wire marker of secret values
_SECRET_VALUE = rpc._special_secret_sig  # noqa: SLF001
REDACTED_SECRET = "[secret]"


class PlanError(Exception):
    """The stack cannot be planned (bad config or stack file). `str()` is the message to print."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, secret_values: list[str]):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []
        self.secret_values = secret_values

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                {
                    "urn": response.urn,
                    "type": request.type,
                    "name": request.name,
                    "parent": None if _is_stack(request.parent) else request.parent,
                    "custom": bool(request.custom),
                    "inputs": _redacted_inputs(request.object, self.secret_values),
                    "protect": bool(request.protect),
                    "retain_on_delete": bool(request.retainOnDelete),
                    "ignore_changes": sorted(request.ignoreChanges),
                    "import_id": request.importId or None,
                    "provider": request.provider or None,
                    "providers": dict(request.providers),
                    "property_dependencies": {
                        key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items()
                    },
                }
            )
        return response


def _is_stack(urn: str) -> bool:
    return not urn or "::pulumi:pulumi:Stack::" in urn


def _redacted_inputs(struct, secret_values: list[str]) -> dict[str, Any]:
    values = rpc.deserialize_properties(struct, keep_unknowns=True)
    return _redact(values, secret_values)


def _redact(value: Any, secret_values: list[str]) -> Any:
    """Unwrap secret markers as the policy engine does, but never let a secret config value through.

    A secret Output (e.g. a trust policy holding the external ID) stays checkable by the policy rules; only
    the secret config values inside it are replaced.
    """
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_VALUE:
            return _redact(value.get("value"), secret_values)
        return {k: _redact(v, secret_values) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secret_values) for v in value]
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return _describe_asset(value)
    if isinstance(value, str):
        if value == rpc.UNKNOWN:
            return "[unknown]"
        for secret in secret_values:
            value = value.replace(secret, REDACTED_SECRET)
    return value


def build_plan(
    stack: str,
    project_dir: Path | None = None,
    stack_values: dict[str, Any] | None = None,
    account_id: str = FakeCloud.ACCOUNT_ID,
    generated_id_prefix: str = "",
) -> Plan:
    """Plan `stack` offline; `stack_values` replaces the `config:` of Pulumi.<stack>.yaml (tests, benchmarks).
    `generated_id_prefix`: see FakeCloud (a second deployment planned beside a first in one account).

    Raises PlanError with one line per problem.
    """
    project_dir = (project_dir or PROJECT_DIR).resolve()
    try:
        stack_config = load_stack_config(project_dir, stack, stack_values)
    except StackFileError as err:
        raise PlanError(str(err)) from None

    # Source positions of each registration are for the engine's diagnostics; offline nobody reads them and
    # collecting them (a full traceback.extract_stack per resource) is a fifth of the plan's time.
    _skip_source_positions()
    cloud = FakeCloud(account_id=account_id, generated_id_prefix=generated_id_prefix)
    secret_values = [stack_config.values[k] for k in stack_config.secret_keys if stack_config.values.get(k)]
    monitor = RecordingMonitor(cloud, secret_values)
    loop = asyncio.new_event_loop()
    # A failing registration fails many Outputs at once; the first error is raised below, the echoes of it
    # ("Future exception was never retrieved") would only bury it.
    loop.set_exception_handler(lambda _loop, _context: None)
    previous_loop = None
    with contextlib.suppress(RuntimeError):
        previous_loop = asyncio.get_event_loop_policy().get_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            cloud, project=stack_config.project, stack=stack, preview=True, monitor=monitor
        )
        set_all_config(stack_config.values, stack_config.secret_keys)
        _run_program(project_dir)
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
        stack_outputs = loop.run_until_complete(_stack_outputs(secret_values))
    except pulumi.RunError as err:
        raise PlanError(str(err)) from None
    finally:
        set_all_config({}, [])
        _close(loop)
        asyncio.set_event_loop(previous_loop)

    # The cost and network checks read the config the program was given, through the library's own adapter
    # (not a global of the program); another program's stack (not Elastio's config) has none.
    config = _deployment_config(stack_config.values)
    # Registration order depends on the event loop; sorting makes the graph (and its JSON) diffable.
    resources = sorted(_resolve(monitor.registrations), key=lambda r: r.urn)
    return Plan(
        stack=stack,
        project=stack_config.project,
        resources=resources,
        outputs=stack_outputs,
        notes=list(stack_config.notes),
        config=config,
    )


def _describe_asset(value: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    """Assets and archives as plain data, so records stay JSON and compare equal across runs."""
    if isinstance(value, pulumi.AssetArchive):
        return {"assetArchive": {name: _describe_asset(item) for name, item in sorted(value.assets.items())}}
    for kind in ("path", "uri", "text"):
        if hasattr(value, kind):
            shown = getattr(value, kind)
            return {type(value).__name__: shown if kind != "text" else f"<{len(shown)} characters>"}
    return {type(value).__name__: None}


async def _stack_outputs(secret_values: list[str]) -> dict[str, Any]:
    """The values of `pulumi.export(...)`: the mock runtime finished the stack before the program ran, so the
    exports are read from the root stack rather than from its (empty) registered outputs."""
    root = pulumi.runtime.settings.get_root_resource()
    exported = dict(getattr(root, "outputs", {}) or {})
    values = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        values[name] = await output.future(with_unknowns=True)
    return _redact(_plain(values), secret_values)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _skip_source_positions() -> None:
    """The plan's one patch of the SDK: registrations carry an empty stack trace.

    No public hook turns source positions off (checked in pulumi 3.272 and on pulumi/pulumi master): every
    register_resource and read_resource calls `pulumi.runtime.resource._get_stack_trace()`, with no setting,
    option or environment variable around it. If an SDK upgrade renames it, assigning here would quietly patch
    nothing, so the name is checked first; tests/test_plan.py also fails if a planned registration carries frames.
    """
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    if not callable(getattr(runtime_resource, "_get_stack_trace", None)):
        raise RuntimeError(
            "pulumi.runtime.resource._get_stack_trace is gone (SDK upgrade?): update plan/runner.py's "
            "_skip_source_positions to the SDK's new way of collecting source positions"
        )
    runtime_resource._get_stack_trace = source_pb2.StackTrace  # noqa: SLF001 - returns an empty trace


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the mock runtime left pending (output callbacks nobody awaits) before closing the loop,
    so no "Task was destroyed but it is pending" noise reaches the user."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    # The SDK keeps cancelled Output tasks for "program exit"; they belong to this loop, so forget them.
    with pulumi.runtime.settings.SETTINGS.lock:
        pulumi.runtime.settings.SETTINGS.outputs.clear()
    loop.close()


def _run_program(project_dir: Path) -> None:
    """Execute __main__.py as the language host would, with the project directory as cwd and on sys.path."""
    main = project_dir / "__main__.py"
    previous_cwd = os.getcwd()
    added = str(project_dir) not in sys.path
    if added:
        sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(main), run_name="__main__")
    finally:
        os.chdir(previous_cwd)
        if added:
            sys.path.remove(str(project_dir))


def _resolve(registrations: list[dict[str, Any]]) -> list[PlannedResource]:
    """Attach a region to each record: its own `region` input, else its provider's, else its parent's."""
    provider_regions: dict[str, str | None] = {}
    for reg in registrations:
        if reg["type"].startswith("pulumi:providers:"):
            provider_regions[reg["urn"]] = reg["inputs"].get("region")
    by_urn: dict[str, str | None] = {}
    resources = []
    for reg in registrations:
        region = reg["inputs"].get("region") if isinstance(reg["inputs"].get("region"), str) else None
        if region is None:
            ref = reg["provider"] or reg["providers"].get("aws")
            if ref:
                region = provider_regions.get(ref.rsplit("::", 1)[0])  # a reference is "<urn>::<id>"
        if region is None and reg["parent"]:
            region = by_urn.get(reg["parent"])
        by_urn[reg["urn"]] = region
        resources.append(
            PlannedResource(
                urn=reg["urn"],
                type=reg["type"],
                name=reg["name"],
                parent=reg["parent"],
                region=region,
                inputs=reg["inputs"],
                protect=reg["protect"],
                retain_on_delete=reg["retain_on_delete"],
                ignore_changes=reg["ignore_changes"],
                import_id=reg["import_id"],
                property_dependencies=reg["property_dependencies"],
                custom=reg["custom"],
            )
        )
    return resources


def _deployment_config(values: dict[str, str]) -> Any:
    from elastio_pulumi.stack_config import ConfigError, parse_stack_values

    try:
        return parse_stack_values(values)
    except ConfigError:
        return None

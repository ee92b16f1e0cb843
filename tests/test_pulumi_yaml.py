"""Pulumi.yaml asks for a CLI that has every feature the project uses (issue 12, item 8).

An older CLI would fail in ways that do not name the cause (an unknown runtime option is ignored, so the
program runs outside the locked virtualenv; a resource option the engine does not know is dropped, so a
retained bucket is deleted). Each feature is detected in the project itself, with the CLI release that
introduced it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.support import ROOT, example_stack_values

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def _range(text: str) -> SpecifierSet:
    """Pulumi's range syntax (">=3.120.0 <4.0.0", blang/semver: space means and) as a SpecifierSet."""
    return SpecifierSet(",".join(text.split()))


def _uses_toolchain() -> bool:
    return "toolchain" in PROJECT["runtime"].get("options", {})


def _uses_project_config_types() -> bool:
    return any(isinstance(v, dict) and "type" in v for v in PROJECT.get("config", {}).values())


@functools.cache
def _adopting_plan():
    from plan import build_plan

    values = example_stack_values()
    values["elastio:options"]["adoptRetained"] = True
    return build_plan("example", stack_values=values)


def _plan_uses(option: str) -> Callable[[], bool]:
    return lambda: any(getattr(r, option) for r in _adopting_plan().resources)


# feature -> (how the project uses it, when the CLI got it, source)
FEATURES: dict[str, tuple[Callable[[], bool], date, str]] = {
    "runtime.options.toolchain": (
        _uses_toolchain, date(2024, 6, 12), "pulumi/pulumi#16315, in the 3.120.0 release (pulumi/pulumi#16376)",
    ),
    "project-level config with types and defaults": (
        _uses_project_config_types, date(2022, 10, 31), "pulumi/pulumi#10832; Pulumi blog 'project-config-mvp'",
    ),
    "retainOnDelete resource option": (
        _plan_uses("retain_on_delete"), date(2022, 2, 17), "pulumi/pulumi#8746; Pulumi blog 'retainondelete'",
    ),
    "import resource option": (
        _plan_uses("import_id"), date(2020, 4, 16), "Pulumi 2.0 (the `import` resource option)",
    ),
}  # fmt: skip
# CLI releases the floor may name, with their dates (pulumi/pulumi release PRs).
RELEASES: dict[str, date] = {"3.120.0": date(2024, 6, 12)}


def _floor() -> str:
    lows = [part.removeprefix(">=") for part in PROJECT["requiredPulumiVersion"].split() if part.startswith(">=")]
    assert len(lows) == 1, "state one lower bound, >=X.Y.Z"
    return lows[0]


def test_the_project_states_a_cli_range_within_major_version_3():
    required = _range(PROJECT["requiredPulumiVersion"])
    assert Version(_floor()) in required and Version("3.999.0") in required and Version("4.0.0") not in required
    assert Version(_floor()).micro == 0 and Version(_floor()).minor > 0
    previous = Version(_floor())
    assert Version(f"{previous.major}.{previous.minor - 1}.99") not in required


@pytest.mark.parametrize("feature", list(FEATURES))
def test_the_oldest_admitted_cli_has_every_feature_the_project_uses(feature):
    used, released, _source = FEATURES[feature]
    assert used(), f"{feature} is no longer used: drop it from FEATURES"
    assert RELEASES[_floor()] >= released


def test_the_floor_is_no_newer_than_the_newest_feature_needs():
    assert RELEASES[_floor()] == max(released for _, released, _ in FEATURES.values())

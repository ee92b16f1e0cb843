"""Parliament, loaded for the IAM document tests, and the one list of its findings we accept.

parliament 1.6.4 (the latest) imports `pkg_resources`, which setuptools 81+ no longer ships (the lock has
setuptools 84 through pulumi-policy). It only calls `resource_filename`, so a stand-in for that one function
is installed when the real module is missing; nothing else changes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path


def _install_pkg_resources_stand_in() -> None:
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        def resource_filename(package: str, resource: str) -> str:
            spec = importlib.util.find_spec(package)
            return str(Path(next(iter(spec.submodule_search_locations))) / resource)

        stand_in = types.ModuleType("pkg_resources")
        stand_in.resource_filename = resource_filename
        sys.modules["pkg_resources"] = stand_in


_install_pkg_resources_stand_in()
import parliament  # noqa: E402

# (issue, action or detail fragment) → why it is not a problem in our documents. Only findings caused by
# parliament's own outdated or incomplete action data belong here.
KNOWN_FINDINGS: dict[tuple[str, str], str] = {}


def findings(document: dict) -> list[tuple[str, str]]:
    """Parliament's findings for an identity policy, minus the known ones, as (issue, detail) pairs."""
    policy = parliament.analyze_policy_string(json.dumps(document))
    return [
        (f.issue, str(f.detail))
        for f in policy.findings
        if not any(f.issue == issue and fragment in str(f.detail) for issue, fragment in KNOWN_FINDINGS)
    ]

"""Offline plan: runs the Pulumi program under mocks and returns the planned resource graph."""

import sys
from pathlib import Path

# The checkout's tools (plan, preview, the cost CLI) use the library from src/ without installing it.
_SRC = str(Path(__file__).resolve().parent.parent / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from plan.graph import Plan, PlannedResource  # noqa: E402
from plan.runner import PlanError, build_plan  # noqa: E402

__all__ = ["Plan", "PlannedResource", "PlanError", "build_plan"]

"""Offline plan: runs the Pulumi program under mocks and returns the planned resource graph."""

from plan.graph import Plan, PlannedResource
from plan.runner import PlanError, build_plan

__all__ = ["Plan", "PlannedResource", "PlanError", "build_plan"]

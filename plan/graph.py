"""The planned resource graph (docs/CONTRACT.md): one record per registered resource, components included."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    region: str | None
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    import_id: str | None = None
    """The `import_` resource option: the id of an existing resource the engine adopts instead of creating."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    custom: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    config: Any = None  # the validated elastio_pulumi.config.DeploymentConfig

    def records(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.resources]

    def children(self, urn: str | None) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.resources if r.custom)

    def by_region(self) -> Counter[str]:
        return Counter(r.region or "global" for r in self.resources if r.custom)

"""Text rendering of a plan: the component tree with counts per type and per region."""

from __future__ import annotations

from plan import Plan, PlannedResource


def _label(resource: PlannedResource) -> str:
    flags = []
    if resource.protect:
        flags.append("protected")
    if resource.retain_on_delete:
        flags.append("retained on delete")
    if resource.import_id:
        flags.append(f"adopts existing {resource.import_id}")
    suffix = f"  ({', '.join(flags)})" if flags else ""
    return f"{resource.name}  {resource.type}{suffix}"


def render_tree(plan: Plan) -> list[str]:
    lines: list[str] = []

    def walk(parent_urn: str | None, prefix: str) -> None:
        children = [r for r in plan.children(parent_urn) if not r.type.startswith("pulumi:providers:")]
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(child)}")
            walk(child.urn, prefix + ("   " if last else "│  "))

    for root in plan.children(None):
        if root.type.startswith("pulumi:providers:"):
            continue
        region = f"  [{root.region}]" if root.region else ""
        lines.append(f"{root.name}  {root.type}{region}")
        walk(root.urn, "")
    return lines


def render_counts(plan: Plan) -> list[str]:
    lines = ["Resources by region:"]
    for region, count in sorted(plan.by_region().items()):
        lines.append(f"  {region:<16} {count:>5}")
    lines.append("Resources by type:")
    counts = sorted(plan.by_type().items())
    width = max((len(typ) for typ, _ in counts), default=0)
    for typ, count in counts:
        lines.append(f"  {typ:<{width}} {count:>5}")
    components = sum(1 for r in plan.resources if not r.custom)
    lines.append(f"Total: {sum(plan.by_type().values())} resources in {components} components")
    return lines

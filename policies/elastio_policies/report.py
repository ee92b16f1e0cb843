"""Verdicts for people (a table) and for machines (JSON-ready dicts)."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable

from .offline import MANDATORY, Verdict

_LEVEL_ORDER = {MANDATORY: 0}


def sorted_verdicts(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Mandatory first, then by rule and resource, so the blocking ones lead."""
    return sorted(verdicts, key=lambda v: (_LEVEL_ORDER.get(v.level, 1), v.policy, v.name, v.urn))


def summary(verdicts: Iterable[Verdict]) -> str:
    verdicts = list(verdicts)
    mandatory = sum(1 for verdict in verdicts if verdict.level == MANDATORY)
    advisory = len(verdicts) - mandatory
    if not verdicts:
        return "Policies: all rules pass."
    verdict = "blocked" if mandatory else "passes (advisory findings only)"
    return f"Policies: {mandatory} mandatory, {advisory} advisory violation(s): {verdict}."


def format_table(verdicts: Iterable[Verdict], width: int | None = None) -> str:
    """A plain-text table (level, rule, resource, message) followed by the summary line."""
    verdicts = sorted_verdicts(verdicts)
    if not verdicts:
        return summary(verdicts)
    width = width or shutil.get_terminal_size((120, 24)).columns
    rows = [(v.level, v.policy, _resource_label(v), v.message) for v in verdicts]
    headers = ("LEVEL", "RULE", "RESOURCE", "MESSAGE")
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(3)]
    indent = sum(widths) + 3 * 2
    message_width = max(30, width - indent)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers[:3], widths, strict=True)) + "  " + headers[3]]
    for row in rows:
        prefix = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  "
        wrapped = textwrap.wrap(row[3], message_width) or [""]
        lines.append(prefix + wrapped[0])
        lines.extend(" " * indent + more for more in wrapped[1:])
    lines.append("")
    lines.append(summary(verdicts))
    return "\n".join(lines)


def to_json(verdicts: Iterable[Verdict]) -> dict:
    """`{"verdicts": [...], "mandatory": n, "advisory": n, "passed": bool}` for `--json` output."""
    verdicts = sorted_verdicts(verdicts)
    mandatory = sum(1 for verdict in verdicts if verdict.level == MANDATORY)
    return {
        "verdicts": [verdict.to_dict() for verdict in verdicts],
        "mandatory": mandatory,
        "advisory": len(verdicts) - mandatory,
        "passed": mandatory == 0,
    }


def _resource_label(verdict: Verdict) -> str:
    if not verdict.urn:
        return "(stack)"
    short_type = verdict.type.split(":")[-1] if verdict.type else "?"
    return f"{verdict.name} ({short_type})"

"""The difference between two estimates (JSON documents of `Estimate.as_dict`): per-line and total deltas.

Lines match on (component, resource, part, price key), so a line a change adds or removes shows as such,
and a line whose quantity or price moves shows its delta."""

from __future__ import annotations

from typing import Any

from cost.estimate import SCHEMA_VERSION

# A line whose monthly cost moves by less than this is unchanged (float noise, not a change).
UNCHANGED_USD = 1e-9


def _key(line: dict[str, Any]) -> tuple[str, str, str, str]:
    return (line.get("component", line["region"]), line["resource"], line["part"], line["price_key"])


def _summed(lines: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Lines by key; two lines with one key (free-tier credits) are summed."""
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for line in lines:
        key = _key(line)
        if key in found:
            found[key] = {
                **found[key],
                "quantity": found[key]["quantity"] + line["quantity"],
                "monthly_usd": found[key]["monthly_usd"] + line["monthly_usd"],
            }
        else:
            found[key] = dict(line)
    return found


def diff(base: dict[str, Any], new: dict[str, Any], base_label: str, new_label: str) -> dict[str, Any]:
    before, after = _summed(base["elastio"]["lines"]), _summed(new["elastio"]["lines"])
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        old, now = before.get(key), after.get(key)
        old_usd = old["monthly_usd"] if old else 0.0
        new_usd = now["monthly_usd"] if now else 0.0
        if old and now and abs(new_usd - old_usd) <= UNCHANGED_USD:
            continue
        line = now or old
        changes.append(
            {
                "component": key[0],
                "resource": key[1],
                "part": key[2],
                "price_key": key[3],
                "region": line["region"],
                "change": "added" if old is None else "removed" if now is None else "changed",
                "base_quantity": old["quantity"] if old else 0.0,
                "new_quantity": now["quantity"] if now else 0.0,
                "unit": line["unit"],
                "base_monthly_usd": old_usd,
                "new_monthly_usd": new_usd,
                "delta_monthly_usd": new_usd - old_usd,
            }
        )
    changes.sort(key=lambda c: (-abs(c["delta_monthly_usd"]), c["component"], c["resource"]))
    return {
        "schemaVersion": SCHEMA_VERSION,
        "currency": new["currency"],
        "base_label": base_label,
        "new_label": new_label,
        "delta_monthly_usd": new["elastio"]["monthly_usd"] - base["elastio"]["monthly_usd"],
        "delta_idle_monthly_usd": new["idle_monthly_usd"] - base["idle_monthly_usd"],
        "lines": changes,
        "base": base,
        "new": new,
    }

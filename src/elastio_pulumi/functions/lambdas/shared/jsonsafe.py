"""DynamoDB returns numbers as Decimal; tenant events and reports are JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def to_plain(value: Any) -> Any:
    """Decimals become int or float, sets become sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(to_plain(item) for item in value)
    return value

"""What is protected and how: the usage inputs of the estimate, checked once, with a named error each."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cost.errors import CostInputError
from cost.profiles import DEFAULT_PROFILE, get_profile

# Names of the inputs as the stack config (`elastio:usage`) spells them.
CONFIG_NAMES = {
    "protected_gb": "protectedGb",
    "daily_change_rate": "dailyChangeRate",
    "retention_days": "retentionDays",
    "data_profile": "dataProfile",
}


def config_key(field: str, namespace: str = "elastio:usage") -> str:
    """How the stack config names a workload field, for messages: `elastio:usage.dataProfile`."""
    return f"{namespace}.{CONFIG_NAMES[field]}" if field in CONFIG_NAMES else field


@dataclass(frozen=True)
class Workload:
    protected_gb: float = 1000.0  # used (written) data on the protected EBS volumes
    daily_change_rate: float = 0.02  # share of that data the applications rewrite each day
    retention_days: int = 30  # daily recovery points kept this long
    data_profile: str = DEFAULT_PROFILE
    restore_gb_per_month: float = 0.0

    def __post_init__(self) -> None:
        _finite_at_least("protected_gb", self.protected_gb, 0.0, "GB of protected data")
        _finite_at_least(
            "daily_change_rate", self.daily_change_rate, 0.0, "share of the data changed per day"
        )
        if self.daily_change_rate > 1:
            raise CostInputError(
                "daily_change_rate",
                self.daily_change_rate,
                "is above 1: give a share of the data, e.g. 0.02 for 2%",
            )
        days = self.retention_days
        if (
            isinstance(days, bool)
            or not isinstance(days, int | float)
            or days != int(days)
            or not 1 <= days <= 3650
        ):
            raise CostInputError("retention_days", days, "is not a whole number of days from 1 to 3650")
        object.__setattr__(self, "retention_days", int(days))
        _finite_at_least("restore_gb_per_month", self.restore_gb_per_month, 0.0, "GB restored per month")
        get_profile(self.data_profile)

    @classmethod
    def from_usage(cls, usage: Any, **overrides: Any) -> Workload:
        """From the stack's usage config (an object with snake_case attributes, or a camelCase/snake_case
        mapping); keyword overrides that are not None win (command-line flags)."""
        values: dict[str, Any] = {}
        for snake, camel in CONFIG_NAMES.items():
            if isinstance(usage, Mapping):
                value = usage.get(camel, usage.get(snake))
            else:
                value = getattr(usage, snake, None)
            if value is not None:
                values[snake] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "protected_gb": self.protected_gb,
            "daily_change_rate": self.daily_change_rate,
            "retention_days": self.retention_days,
            "data_profile": self.data_profile,
            "restore_gb_per_month": self.restore_gb_per_month,
        }


def _finite_at_least(field: str, value: Any, minimum: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CostInputError(field, value, f"is not a number; give the {what}")
    if value < minimum:
        raise CostInputError(field, value, f"is negative; give the {what} (0 or more)")

"""What is protected and how: the usage inputs of the estimate, checked once, with a named error each."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cost.assumptions import Assumptions
from cost.errors import CostInputError
from cost.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from elastio_pulumi import usage

# Names of the inputs as the stack config (`elastio:usage`) spells them, and their bounds: elastio_pulumi.usage.
CONFIG_NAMES = usage.CONFIG_NAMES

# The EBS block factor of each profile's write runs (1 + block / run), said in the help and the report.
_BLOCK_FACTORS = ", ".join(
    f"x{1 + Assumptions.ebs_block_kib / profile.changed_extent_kib:g} for {name}" for name, profile in PROFILES.items()
)
# What `daily_change_rate` measures, for --help, the table and the JSON.
_BASIS_MEANINGS = {
    "data": "share of the protected data the applications rewrite a day; the estimator turns it into changed "
    f"{Assumptions.ebs_block_kib:g} KiB EBS blocks through the data profile's write-run length ({_BLOCK_FACTORS})",
    "blocks": "share of the volumes' 512 KiB blocks changed a day, as daily EBS snapshot sizes show it "
    "(snapshot GB / used GB); already block-level, so no run-length factor is applied to the blocks read",
}
CHANGE_RATE_BASES = {basis: _BASIS_MEANINGS[basis] for basis in usage.CHANGE_RATE_BASES}


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
    change_rate_basis: str = "data"  # what daily_change_rate measures: see CHANGE_RATE_BASES

    def __post_init__(self) -> None:
        if self.change_rate_basis not in CHANGE_RATE_BASES:
            raise CostInputError(
                "change_rate_basis",
                self.change_rate_basis,
                f"is not a basis; use one of: {', '.join(CHANGE_RATE_BASES)}",
            )
        _finite_at_least("protected_gb", self.protected_gb, usage.PROTECTED_GB_MIN, "GB of protected data")
        _finite_at_least(
            "daily_change_rate",
            self.daily_change_rate,
            usage.DAILY_CHANGE_RATE_MIN,
            "share of the data changed per day",
        )
        if self.daily_change_rate > usage.DAILY_CHANGE_RATE_MAX:
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
            or not usage.RETENTION_DAYS_MIN <= days <= usage.RETENTION_DAYS_MAX
        ):
            raise CostInputError(
                "retention_days",
                days,
                f"is not a whole number of days from {usage.RETENTION_DAYS_MIN} to {usage.RETENTION_DAYS_MAX}",
            )
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
            "change_rate_basis": self.change_rate_basis,
            "daily_change_rate_meaning": CHANGE_RATE_BASES[self.change_rate_basis],
        }


def _finite_at_least(field: str, value: Any, minimum: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CostInputError(field, value, f"is not a number; give the {what}")
    if value < minimum:
        raise CostInputError(field, value, f"is negative; give the {what} (0 or more)")


@dataclass(frozen=True)
class UsageSource:
    """The usage of one vault, as the stack config gives it: `key` names where (for messages)."""

    component: str  # "us-east-1/vault:primary"
    usage: Any  # a camelCase mapping or an object with snake_case attributes (elastio_pulumi.config.UsageConfig)
    key: str  # "elastio:regions[0].vaults[1].usage" or "elastio:usage"


def _given(usage: Any) -> bool:
    if usage is None:
        return False
    if isinstance(usage, Mapping):
        return any(v is not None for v in usage.values())
    return any(getattr(usage, snake, None) is not None for snake in CONFIG_NAMES)


def usage_sources(config: Any) -> tuple[list[UsageSource], list[str]]:
    """Where the stack's usage goes: each vault's own `regions[].vaults[].usage`; when no vault has one,
    the stack-wide `usage` on the first vault of the home region. Returns the sources and notes.

    `config` is the validated stack config (duck-typed: `.regions[].region`, `.vaults[].name`,
    `.vaults[].usage`, `.usage`, `.account_region`), so this module does not import the program."""
    own = [
        UsageSource(f"{region.region}/vault:{vault.name}", vault.usage, f"elastio:regions[{i}].vaults[{j}].usage")
        for i, region in enumerate(config.regions)
        for j, vault in enumerate(region.vaults)
        if _given(getattr(vault, "usage", None))
    ]
    if own:
        notes = [
            "elastio:usage is not used: vaults give their own usage (regions[].vaults[].usage)"
        ] if _given(config.usage) else []
        return own, notes
    home = next(r for r in config.regions if r.region == config.account_region)
    return [UsageSource(f"{home.region}/vault:{home.vaults[0].name}", config.usage, "elastio:usage")], []


def workload_of(source: UsageSource, **overrides: Any) -> Workload:
    """The source's workload with the flags in `overrides` winning; a bad value from the config is named by
    its full config key (`elastio:regions[0].vaults[1].usage.dailyChangeRate`)."""
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Workload.from_usage(source.usage or {}, **flags)
    except CostInputError as err:
        if err.field in flags or err.field not in CONFIG_NAMES:
            raise
        raise CostInputError(config_key(err.field, source.key), err.value, err.problem) from None

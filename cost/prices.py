"""The checked-in price table (`prices.json`): one place for every AWS price the estimator uses.

Each price names its unit, the page it came from and the date it was recorded; `refresh-prices` may
replace a region's value and then records its own source (the Price List SKU) and date for that region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cost.errors import CostInputError

DEFAULT_PATH = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Price:
    key: str
    region: str
    usd: float
    unit: str
    description: str
    source: str
    date: str
    confirmed: bool = True  # False: an estimate its source explains (e.g. a rate not found offline)


@dataclass(frozen=True)
class FreeTier:
    key: str
    quantity: float  # in the price's unit, per account and month
    description: str
    source: str


class PriceTable:
    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.regions: tuple[str, ...] = tuple(document["regions"])
        self._prices: dict[str, dict[str, Any]] = document["prices"]
        self.free_tier: dict[str, FreeTier] = {
            key: FreeTier(key, float(entry["quantity"]), entry["description"], entry["source"])
            for key, entry in document.get("free_tier", {}).items()
        }

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> PriceTable:
        try:
            document = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise CostInputError("prices", str(path), "does not exist: give a price table file") from None
        except json.JSONDecodeError as err:
            raise CostInputError(
                "prices", str(path), f"is not valid JSON ({err.msg}, line {err.lineno})"
            ) from None
        if not (
            isinstance(document, dict)
            and isinstance(document.get("regions"), list)
            and isinstance(document.get("prices"), dict)
        ):
            raise CostInputError(
                "prices",
                str(path),
                "is not a price table (an object with 'regions' and 'prices', like cost/prices.json)",
            )
        return cls(document)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._prices)

    def check_region(self, region: str, field: str = "region") -> str:
        if region not in self.regions:
            raise CostInputError(
                field, region, f"is not a priced region; use one of: {', '.join(self.regions)}"
            )
        return region

    def price(self, key: str, region: str) -> Price:
        self.check_region(region)
        entry = self._prices[key]
        override = entry.get("regional_sources", {}).get(region, {})
        return Price(
            key=key,
            region=region,
            usd=float(entry["usd"][region]),
            unit=entry["unit"],
            description=entry["description"],
            source=override.get("source", entry["source"]),
            date=override.get("date", entry["date"]),
            confirmed=bool(override.get("confirmed", entry.get("confirmed", True))),
        )

    def usd(self, key: str, region: str) -> float:
        return self.price(key, region).usd

    def as_of(self) -> str:
        """The oldest recording date in the table: how stale the worst price may be."""
        dates = [e["date"] for e in self._prices.values()]
        dates += [d["date"] for e in self._prices.values() for d in e.get("regional_sources", {}).values()]
        return min(dates)


_DEFAULT: PriceTable | None = None


def default_table() -> PriceTable:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PriceTable.load()
    return _DEFAULT

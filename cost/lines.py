"""A priced line of an estimate: quantity in the price's unit, times the unit price, is the monthly cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cost.prices import PriceTable

Part = Literal["fixed", "usage"]


@dataclass(frozen=True)
class Line:
    resource: str
    region: str
    part: Part
    quantity: float
    unit: str
    unit_price_usd: float
    price_key: str
    note: str = ""
    component: str = ""  # "us-east-1/vault:primary", "us-east-1/connector", "account"; the region if outside one

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_price_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "component": self.component or self.region,
            "region": self.region,
            "part": self.part,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price_usd": self.unit_price_usd,
            "monthly_usd": self.monthly_usd,
            "price_key": self.price_key,
            "note": self.note,
        }


def priced(
    prices: PriceTable,
    key: str,
    region: str,
    resource: str,
    quantity: float,
    part: Part,
    note: str = "",
    component: str = "",
) -> Line:
    price = prices.price(key, region)
    return Line(resource, region, part, quantity, price.unit, price.usd, key, note, component)


def total(lines: list[Line]) -> float:
    return sum(line.monthly_usd for line in lines)


def apply_free_tier(lines: list[Line], prices: PriceTable) -> list[Line]:
    """Add one credit line per free-tier allowance, taking it from the account's use of that price.

    The always-free allowances are per account across regions, so each is used once, however many regions.
    """
    credits: list[Line] = []
    for key, free in prices.free_tier.items():
        using = [line for line in lines if line.price_key == key and line.quantity > 0]
        remaining = free.quantity
        for line in using:
            taken = min(remaining, line.quantity)
            if taken <= 0:
                break
            credits.append(
                Line(
                    f"free tier: {line.resource}",
                    line.region,
                    line.part,
                    -taken,
                    line.unit,
                    line.unit_price_usd,
                    key,
                    free.description,
                    line.component,
                )
            )
            remaining -= taken
    return lines + credits


def rollup(lines: list[Line], by: str) -> dict[str, float]:
    """Monthly USD per `region` or per `component`, in first-seen order."""
    totals: dict[str, float] = {}
    for line in lines:
        key = line.region if by == "region" else (line.component or line.region)
        totals[key] = totals.get(key, 0.0) + line.monthly_usd
    return totals

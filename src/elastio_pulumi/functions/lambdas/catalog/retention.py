"""Pure retention rules for recovery points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def expires_at(created_at: datetime, retention_days: int) -> str:
    return iso(created_at + timedelta(days=retention_days))


def is_expired(expires_at_iso: str, now: datetime) -> bool:
    # Same format on both sides (UTC, seconds, "Z"), so string order is time order; parse to be safe.
    return datetime.fromisoformat(expires_at_iso.replace("Z", "+00:00")) <= now

"""One source of time for the whole system, so that tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from kluis.kit.errors import Invalid

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no request, complaint or order that staff record is older


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock for tests and simulations: it only moves when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta


def as_utc(at: datetime) -> datetime:
    """Aware datetime in UTC; naive values (as SQLite returns them) are taken as UTC."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def past_instant(at: datetime, now: datetime, what: str, code: str) -> datetime:
    """A moment staff type in that already happened (a receipt, a question asked): with its zone, not before
    2000 and not in the future; in UTC. Checked before any arithmetic, which overflows near year 1."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise Invalid(f"give {what} with its time zone (e.g. +01:00)", code=f"{code}_without_zone")
    if at.year < EARLIEST.year or as_utc(at) < EARLIEST:
        raise Invalid(f"{what} cannot lie before {EARLIEST:%Y-%m-%d}", code=f"{code}_too_early")
    if as_utc(at) > as_utc(now):
        raise Invalid(f"{what} cannot lie in the future", code=f"{code}_in_future")
    return as_utc(at)

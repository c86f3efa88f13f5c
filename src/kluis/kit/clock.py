"""One source of time for the whole system, so that tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from kluis.kit.errors import Invalid, Problem
from kluis.kit.messages import N_

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
        raise Invalid(N_("give %(what)s with its time zone (e.g. +01:00)", what=what), code=f"{code}_without_zone")
    if at.year < EARLIEST.year or as_utc(at) < EARLIEST:
        raise Invalid(N_("%(what)s cannot lie before %(day)s", what=what, day=f"{EARLIEST:%Y-%m-%d}"),
                      code=f"{code}_too_early")
    if as_utc(at) > as_utc(now):
        raise Invalid(N_("%(what)s cannot lie in the future", what=what), code=f"{code}_in_future")
    return as_utc(at)


def amsterdam_wall_time(local: datetime, message: str, code: str, field: str) -> datetime:
    """A date and time as staff read it off a clock in Amsterdam, made one instant. An hour that happens twice
    (the clocks go back on the last Sunday of October) or not at all (they go forward on the last Sunday of
    March) is refused, with ``message`` and ``code``: the same words could mean two instants an hour apart, and
    a deadline counted from the wrong one is an hour off."""
    naive = local.replace(tzinfo=None)
    first, second = naive.replace(tzinfo=AMSTERDAM, fold=0), naive.replace(tzinfo=AMSTERDAM, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if first.astimezone(UTC).astimezone(AMSTERDAM).replace(tzinfo=None) == naive:
        why = N_("%(time)s happened twice in Amsterdam (the clocks went back); give the offset: %(first)s for the "
                 "first time, %(second)s for the second", time=f"{naive:%Y-%m-%d %H:%M}", first=_offset(first),
                 second=_offset(second))
        problem = "time_ambiguous"
    else:
        why = N_("%(time)s did not happen in Amsterdam (the clocks went forward an hour)",
                 time=f"{naive:%Y-%m-%d %H:%M}")
        problem = "time_nonexistent"
    raise Invalid(message, code=code, problems=[Problem(field, problem, why)])


def _offset(at: datetime) -> str:
    minutes = int((at.utcoffset() or timedelta(0)).total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

"""Pure rules of jobs: when a lease has lapsed, and how long a job waits before its next attempt. No I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    """The wait before the next attempt: ``first`` after the first attempt, doubling with each one after it, never
    longer than ``longest``. ``jitter`` spreads each wait by up to that fraction either way, so that the jobs a
    fault held back together do not all come back in the same second."""

    first: timedelta
    longest: timedelta
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.longest < self.first or not 0 <= self.jitter < 1:
            raise ValueError("a backoff starts above zero, ends at or after its start, and jitters by less than 1")

    def after(self, attempts: int, random: Callable[[], float] | None = None) -> timedelta:
        """The wait after ``attempts`` attempts; ``random`` (in [0, 1)) draws the jitter, when there is any."""
        # Doubling stops once it passes ``longest``: the wait is capped there anyway, and the factor stays small.
        doublings = min(max(0, attempts - 1), (self.longest // self.first).bit_length())
        wait = min(self.first * (1 << doublings), self.longest)
        if not self.jitter:
            return wait
        if random is None:
            raise ValueError("a backoff with jitter needs a source of randomness")
        return wait * (1 - self.jitter + 2 * self.jitter * random())


def lapsed(locked_until: datetime | None, now: datetime) -> bool:
    """A lease has lapsed once its end has come: whoever held the job is taken to be dead, and another worker may
    take the job over. A job nobody holds has no lease to lapse."""
    return locked_until is not None and locked_until <= now

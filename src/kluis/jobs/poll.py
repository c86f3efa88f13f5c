"""One poll of one kind of job: claim what is due, then hand each job to the kind's handler.

The claim commits before any work starts (on SQLite an open claim would hold the single write lock for as long as
the work takes); the handler then does one job at a time in transactions of its own, recording its outcome only
while it still holds the job (``lease.held`` / ``lease.holds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from kluis.jobs.lease import Claim

if TYPE_CHECKING:
    from kluis.db import Database

J = TypeVar("J")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Handler(Protocol[J, R_co]):
    """A kind of job: its claim (``lease.claim`` with what the kind does to the jobs it finds) and what to do with
    one job it took."""

    def claim(self, session: Session, owner: str, limit: int) -> Claim[J]: ...

    def handle(self, job: J) -> R_co: ...


@dataclass(frozen=True)
class Polled(Generic[J, R]):
    """What one poll claimed, and what the handler made of each job it took (in the same order)."""

    claim: Claim[J]
    outcomes: list[R]


def poll(db: Database, handler: Handler[J, R], owner: str, limit: int) -> Polled[J, R]:
    """Claim up to ``limit`` due jobs for ``owner`` in a transaction of their own, then handle each one taken."""
    with db.transaction() as session:
        found = handler.claim(session, owner, limit)
    return Polled(found, [handler.handle(job) for job in found.taken])

"""Job claiming with leases, for every kind of job Kluis runs in the background (mail, access packages, erasure).

A job is a row with ``state``, ``attempts``, ``next_attempt_at``, ``locked_until`` and ``locked_by``. A worker
*claims* due jobs in a short transaction of its own: each becomes ``running`` (the kind's name for it), held by the
worker's random token (``locked_by``) until ``locked_until``, the end of its lease. The worker does the work after
that commit, and only while it still holds the job may it record an outcome: it *renews* the lease as it goes,
*releases* the job when done, or puts it back to wait after a *backoff*. A worker that dies leaves its jobs held
until their leases *lapse*; then any worker takes them over.

Claims run ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers claim side by side without waiting for or
overlapping one another. SQLite has one writer, whose lock is taken at ``BEGIN``: claims there simply line up.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from sqlalchemy import ColumnElement, Connection, Select, Update, bindparam, or_, select, update
from sqlalchemy.orm import Session

from kluis.jobs.rules import Backoff, lapsed

# A job: a mapped row (or an object built from one) with the columns ``JobKind`` names. Typed loosely on purpose:
# mapped classes meet a protocol of plain attributes only where mypy sees them outside an import cycle.
JobRow = Any
J = TypeVar("J")


@dataclass(frozen=True)
class JobKind:
    """A table of jobs as the lease sees it: its mapped class (with the columns ``id``, ``state``, ``attempts``,
    ``next_attempt_at``, ``locked_until`` and ``locked_by``), the states a job waits in for ``next_attempt_at``, the
    state of a job a worker holds, and the backoff between attempts."""

    model: type[Any]
    waiting: tuple[str, ...]
    running: str
    backoff: Backoff
    # What ``attempts`` counts: every claim (a worker that dies mid-way used an attempt, so a job that keeps
    # killing its workers ends), or every retry (a long job that waits for a dataset counts its waits).
    counts_claims: bool = True
    # A claim moves ``next_attempt_at`` to the lease's end, so one range of the (state, next_attempt_at) index
    # finds due and lapsed jobs alike. Otherwise lapsed jobs are found by ``locked_until``.
    lease_ends_next_attempt: bool = True
    # The column that orders jobs due at one instant, when their order matters (mail: the order written); without
    # it, jobs with equal ``next_attempt_at`` come in whatever order the database finds them.
    tiebreak: str | None = None


def new_owner() -> str:
    """A worker's token for what it claims (32 characters: ``locked_by`` holds that many)."""
    return secrets.token_hex(16)


def unclaimed(query: Select[Any], of: Any = None) -> Select[Any]:
    """``query``'s rows that no other worker's open transaction holds, locked for this one: the transaction is the
    claim (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; SQLite's one writer lines workers up at ``BEGIN``). For batches
    that a worker handles in the same transaction, with no lease to outlive it."""
    return query.with_for_update(skip_locked=True, of=of)


def due(kind: JobKind, now: datetime, lapsed_only: bool = False) -> ColumnElement[bool]:
    """Which of the kind's jobs a worker may claim at ``now``: those whose next attempt has come, and those whose
    lease has lapsed (only these with ``lapsed_only``)."""
    model = kind.model
    lease_end = model.next_attempt_at if kind.lease_ends_next_attempt else model.locked_until
    lapsed_jobs: ColumnElement[bool] = (model.state == kind.running) & (lease_end <= now)
    if lapsed_only:
        return lapsed_jobs
    if kind.lease_ends_next_attempt:
        ranged: ColumnElement[bool] = model.state.in_((*kind.waiting, kind.running)) & (model.next_attempt_at <= now)
        return ranged
    return or_(model.state.in_(kind.waiting) & (model.next_attempt_at <= now), lapsed_jobs)


@dataclass(frozen=True)
class Claim(Sequence[J]):
    """What one claim found, in the order of their next attempt (then the kind's tiebreak): ``taken``, now held by
    the claiming worker, and ``abandoned``, lapsed jobs that had used every attempt (the kind records them as
    failed). As a sequence: all."""

    rows: list[J] = field(default_factory=list)
    taken: list[J] = field(default_factory=list)
    abandoned: list[J] = field(default_factory=list)

    @overload
    def __getitem__(self, index: int) -> J: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[J]: ...

    def __getitem__(self, index: int | slice) -> J | Sequence[J]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[J]:
        return iter(self.rows)


def claim(session: Session, kind: JobKind, now: datetime, owner: str, lease: timedelta, *, limit: int,
          max_attempts: int | None = None, lapsed_only: bool = False) -> Claim[Any]:
    """Take up to ``limit`` due jobs of the kind for ``owner``, in the caller's transaction (commit it before the
    work starts). A lapsed job that already used ``max_attempts`` is not taken but returned as abandoned."""
    model = kind.model
    order = [model.next_attempt_at] + ([getattr(model, kind.tiebreak)] if kind.tiebreak else [])
    query = select(model).where(due(kind, now, lapsed_only)).order_by(*order).limit(limit)
    found = Claim(list(session.scalars(unclaimed(query))))
    for row in found.rows:
        if max_attempts is not None and row.state == kind.running and used_up(row, max_attempts):
            found.abandoned.append(row)
        else:
            take(row, kind, owner, now, lease)
            found.taken.append(row)
    return found


def take(row: JobRow, kind: JobKind, owner: str, now: datetime, lease: timedelta) -> None:
    """Hold one job, already locked by the caller, for ``owner``."""
    row.state, row.locked_by = kind.running, owner
    if kind.counts_claims:
        row.attempts += 1
    renew(row, kind, now, lease)


def renew(row: JobRow, kind: JobKind, now: datetime, lease: timedelta) -> None:
    """A fresh lease for a job its holder is still working on."""
    row.locked_until = now + lease
    if kind.lease_ends_next_attempt:
        row.next_attempt_at = row.locked_until


def release(row: JobRow) -> None:
    """Nobody holds the job any more (its outcome is recorded by the caller)."""
    row.locked_by = row.locked_until = None


def retry(row: JobRow, kind: JobKind, now: datetime, state: str, random: Any = None) -> None:
    """An attempt failed: the job waits in ``state`` for the kind's backoff, released. ``random`` draws the jitter
    of a backoff that has one."""
    if not kind.counts_claims:
        row.attempts += 1
    row.state = state
    row.next_attempt_at = now + kind.backoff.after(row.attempts, random)
    release(row)


def used_up(row: JobRow, max_attempts: int) -> bool:
    """Whether the job has had every attempt it gets."""
    return bool(row.attempts >= max_attempts)


def holds(row: JobRow, kind: JobKind, owner: str | None) -> bool:
    """Whether ``owner`` still holds the job. A worker that overran its lease finds another worker's claim (or its
    outcome) and must leave the job alone."""
    return bool(row.state == kind.running and row.locked_by == owner)


def live(row: JobRow, kind: JobKind, now: datetime) -> bool:
    """Whether some worker holds the job on a lease that has not lapsed."""
    return row.state == kind.running and row.locked_until is not None and not lapsed(row.locked_until, now)


def held(session: Session, kind: JobKind, job_id: uuid.UUID, owner: str | None) -> Any:
    """The job, its row locked, if ``owner`` still holds it; None when not (see ``holds``)."""
    row = session.scalars(select(kind.model).where(kind.model.id == job_id).with_for_update()).one_or_none()
    return row if row is not None and holds(row, kind, owner) else None


def renew_held(connection: Connection, kind: JobKind, job_id: uuid.UUID, owner: str, now: datetime,
               lease: timedelta, **values: Any) -> bool:
    """Renew the lease of a job ``owner`` holds, writing ``values`` (its progress) with it, in one statement that
    reads nothing first; False when the job is no longer theirs."""
    statement = _renewal(kind, tuple(sorted(values)))
    until = now + lease
    bound = {"job_id": job_id, "owner": owner, "locked_until": until, **values}
    if kind.lease_ends_next_attempt:
        bound["next_attempt_at"] = until
    return bool(connection.execute(statement, bound).rowcount)


@functools.cache
def _renewal(kind: JobKind, columns: tuple[str, ...]) -> Update:
    """Built once per kind and set of columns: building a statement costs more client time than running it."""
    table = kind.model.__table__
    lease = ("locked_until", "next_attempt_at") if kind.lease_ends_next_attempt else ("locked_until",)
    return (update(table)
            .where(table.c.id == bindparam("job_id"), table.c.locked_by == bindparam("owner"),
                   table.c.state == kind.running)
            .values({column: bindparam(column) for column in (*lease, *columns)}))

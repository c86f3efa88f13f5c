"""How long anything of a person is kept: ``person.keep_until``, the latest due date among their records.

The sweep erases a person entirely once they have no records left. Finding those people by probing the
records of everyone who lost one costs an index probe per person (hundreds of thousands in a large
sweep); instead the sweep looks only at people whose ``keep_until`` has passed, through its index, and
probes just those.

The column is a bound the sweep can trust in one direction only, and that is the direction it needs:
- ``NULL``: no records (or none written since this column existed): never a candidate;
- ``OPEN``: some record has no due date yet (its trigger has not happened): not a candidate;
- a date: no record is due later than this, unless a write lowered it since (then exact again).
A value that is too early costs a probe that finds records and changes nothing; one that is too late
would only delay the erasure, so every write that can lower it (a trigger event, an activity, an
erasure that keeps records) recomputes it exactly, and adding records raises it without reading any.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Uuid, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from kluis.db import UTCDateTime, given_rows
from kluis.vault.models import Person, Record

# Stands for "kept until a trigger happens": later than any due date a rule can give.
OPEN = datetime(9999, 12, 31, tzinfo=UTC)
_CHUNK = 1000


def widen(bound: datetime | None, due: datetime | None) -> datetime:
    """The bound of some records (``None``: none yet) once one more, due at ``due``, is among them."""
    if due is None:
        return OPEN
    return due if bound is None or due > bound else bound


def bound(dues: Iterable[datetime | None]) -> datetime | None:
    """The ``keep_until`` of a set of records with these due dates (``None``: no records)."""
    latest: datetime | None = None
    for due in dues:
        latest = widen(latest, due)
    return latest


def extend(session: Session, rows: Sequence[Mapping[str, Any]],
           activity: Mapping[uuid.UUID, datetime] | None = None) -> None:
    """New records (``person_id``, ``due_at``) were written: raise each person's bound to cover them,
    one statement for the batch (``given_rows``), reading no records. It writes every such person's row even
    when the bound stays the same: that holds the row's lock until the records are committed, so a sweep erasing
    the people left with nothing (which locks them with SKIP LOCKED) passes over this one meanwhile.
    ``activity``: the person's own last activity as these records show it (data they gave, R-RET-1), moved
    forward in the same statement."""
    dues: dict[uuid.UUID, list[datetime | None]] = {}
    for row in rows:
        dues.setdefault(row["person_id"], []).append(row["due_at"])
    if not dues:
        return
    activity = activity or {}
    table = Person.__table__
    given = [(pid, bound(d), activity.get(pid)) for pid, d in dues.items()]
    for part in given_rows(session, (("pid", Uuid()), ("bound", UTCDateTime()), ("activity", UTCDateTime())), given):
        session.execute(update(table).where(table.c.id == part.c.pid)
                        .values(keep_until=_raised(table.c.keep_until, part.c.bound),
                                last_activity_at=_raised(table.c.last_activity_at, part.c.activity)))


def _raised(current: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    """The later of the two; a NULL ``new`` (nothing to raise it to) leaves ``current`` as it is."""
    return case((new.is_(None), current), (or_(current.is_(None), current < new), new), else_=current)


def refresh(session: Session, person_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the bound of these people from their records (after due dates moved, possibly earlier)."""
    ids = list(dict.fromkeys(person_ids))
    table, records = Person.__table__, Record.__table__
    exact = (select(case((func.count(records.c.id) == 0, None),
                         (func.count(records.c.id) > func.count(records.c.due_at), literal(OPEN, UTCDateTime())),
                         else_=func.max(records.c.due_at)))
             .where(records.c.person_id == table.c.id).scalar_subquery())
    for start in range(0, len(ids), _CHUNK):
        session.execute(update(table).where(table.c.id.in_(ids[start:start + _CHUNK])).values(keep_until=exact)
                        .execution_options(synchronize_session=False))

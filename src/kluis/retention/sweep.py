"""The sweep (R-RET-2): erase what is due and not held, in batches, resumably; and the dry run that
reports what it would erase.

Two phases, each a series of short transactions on whatever pooled connection comes (nothing is kept in a
connection between them, so a transaction-mode pooler or any session of the pool will do):
1. Records. The due rows are walked in (due_at, person_id, id) order, a batch at a time; the walk remembers
   only the key of the last row taken. Each batch deletes up to ``batch`` due, unheld records, naming
   them by key, never by physical address: (person_id, id) is unique however the record table is laid
   out (partitioned by person or not), where a ctid is unique only within one partition. The DELETE
   itself checks again that each is still due and that no hold covers it. Each batch
   writes its audit event with counts per rule. On PostgreSQL a batch never waits for a row another
   transaction holds (see ``_sweep_records``): two sweeps, or a sweep and an erasure, never take the same rows.
2. People. Anyone left with no records is erased entirely (their key destroyed: ``Vault.shred``), found through
   ``person.keep_until`` (``kluis.retention.emptied``): in each batch's transaction, those whose latest due date
   lies in the stretch the batch walked, so that a person goes with their last records; after the walk,
   whoever else is left with nothing and whose latest due date has passed.
A sweep stopped at any point has committed whole batches only, each with the people it left with nothing;
run again, it walks from the start, where what it deleted is no longer due, takes up what still is and then
the people, so nothing is lost. The instant it sweeps up to is fixed when it starts, so its totals equal a dry
run at that instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from kluis.audit import service as audit
from kluis.config import Settings
from kluis.db import Database
from kluis.kit.clock import Clock, as_utc
from kluis.kit.ids import new_id
from kluis.retention import emptied
from kluis.retention.holds import ActiveHolds, HeldBack, active_holds, covered_now, held_back
from kluis.retention.models import SweepRun
from kluis.vault.keystore import KeyStore
from kluis.vault.models import Person, Record
from kluis.vault.service import Vault

# Records per batch by default: KLUIS_RETENTION_SWEEP_BATCH (``Settings.retention_sweep_batch``, which says why).
BATCH: int = Settings.model_fields["retention_sweep_batch"].default
# A record with no rule has no term to run out; it is never swept.
NO_RULE = "(none)"
# PostgreSQL's error for a lock not taken: by NOWAIT, or within lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"
# How long a batch's DELETE waits for a row another transaction holds before it gives up (lock_timeout; zero
# would mean no limit at all): not at all, to within the timer's tick.
NO_WAIT = "1ms"


class Running(Protocol):
    """What the sweep uses of the running Kluis (``kluis.wiring.Kluis``, which is built above this domain)."""

    db: Database
    clock: Clock
    settings: Settings

    @property
    def keystore(self) -> KeyStore: ...

    def vault(self, session: Session, actor: str) -> Vault: ...


@dataclass
class RuleTally:
    records: int = 0
    earliest: datetime | None = None
    latest: datetime | None = None

    def add(self, records: int, earliest: datetime, latest: datetime) -> None:
        self.records += records
        self.earliest = min(self.earliest, earliest) if self.earliest else earliest
        self.latest = max(self.latest, latest) if self.latest else latest

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "earliest": self.earliest.isoformat() if self.earliest else None,
                "latest": self.latest.isoformat() if self.latest else None}


@dataclass
class SweepReport:
    """What a sweep erased, or (dry run) would erase: records per rule with their earliest and latest due
    dates, how many people would be left with nothing and so be erased entirely, and what legal holds keep."""

    at: datetime
    dry_run: bool
    per_rule: dict[str, RuleTally] = field(default_factory=dict)
    people: int = 0
    held: HeldBack = field(default_factory=HeldBack)
    batches: int = 0
    run_id: UUID | None = None

    @property
    def records(self) -> int:
        return sum(t.records for t in self.per_rule.values())

    def rules_dict(self) -> dict[str, dict[str, Any]]:
        return {rule: tally.as_dict() for rule, tally in sorted(self.per_rule.items())}


def sweepable(record: FromClause, now: datetime, holds: ActiveHolds) -> ColumnElement[bool]:
    """Rows of ``record`` that are due at ``now`` and not covered by a hold."""
    due = record.c.due_at <= now
    return and_(due, not_(holds.covers(record))) if holds else due


def plan(session: Session, now: datetime) -> SweepReport:
    """The dry run: what a sweep at ``now`` would erase. Reads only; writes nothing."""
    holds = active_holds(session, now)
    table = Record.__table__
    report = SweepReport(at=now, dry_run=True)
    for rule_id, count, earliest, latest in session.execute(
            select(table.c.rule_id, func.count(), func.min(table.c.due_at), func.max(table.c.due_at))
            .where(sweepable(table, now, holds)).group_by(table.c.rule_id)):
        report.per_rule.setdefault(rule_id or NO_RULE, RuleTally()).add(count, as_utc(earliest), as_utc(latest))
    # Who would be left with nothing: people whose latest due date has passed (kluis.retention.keep) and
    # none of whose records stays (not yet due, or held); as the sweep's second phase finds them.
    stays = or_(table.c.due_at.is_(None), table.c.due_at > now, holds.covers(table))
    report.people = int(session.scalar(
        select(func.count()).select_from(Person)
        .where(Person.keep_until <= now, Person.shredded_at.is_(None),
               ~exists().where(table.c.person_id == Person.id, stays))) or 0)
    report.held = held_back(session, now, holds)
    return report


def due_count(session: Session, now: datetime) -> int:
    """How many records a sweep at ``now`` would erase (the total of its progress bar)."""
    holds, table = active_holds(session, now), Record.__table__
    return int(session.scalar(select(func.count()).select_from(table).where(sweepable(table, now, holds))) or 0)


def sweep(kluis: Running, actor: str = "system", batch: int | None = None,
          on_batch: Callable[[int], None] | None = None, now: datetime | None = None) -> SweepReport:
    """Erase every record due at ``now`` (default: the clock, read once) that no hold covers, ``batch`` a
    transaction (default: the setting), and everyone left with nothing."""
    at = now or kluis.clock.now()
    report = SweepReport(at=at, dry_run=False)
    with kluis.db.transaction() as session:
        run = SweepRun(id=new_id(), actor=actor, started_at=kluis.clock.now(), records=0, people=0, per_rule={})
        session.add(run)
        session.flush()
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_started", object_type="sweep",
                     object_ids=[run.id], details={"due_before": at.isoformat()})
    report.run_id = run.id

    def account(session: Session, tallies: dict[str, RuleTally], within: emptied.Stretch) -> None:
        taken = _record_batch(kluis, session, run.id, actor, report, tallies, within)
        report.batches += 1 if taken else 0
        if on_batch and taken:
            on_batch(taken)

    _sweep_records(kluis, at, batch or kluis.settings.retention_sweep_batch, account)
    with kluis.db.transaction() as session:
        # Whoever the batches did not find left with nothing (``kluis.retention.emptied``): usually nobody.
        report.people += emptied.erase(kluis, session, run.id, at, actor)
        # What the holds kept: counted once, after the deletes, when only the held rows are still due.
        report.held = held_back(session, at, active_holds(session, at))
        session.execute(update(SweepRun).where(SweepRun.id == run.id)
                        .values(finished_at=kluis.clock.now(), people=report.people, held=report.held.as_dict()))
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_finished", object_type="sweep",
                     object_ids=[run.id],
                     details={"due_before": at.isoformat(), "records": report.records, "people": report.people,
                              "batches": report.batches, "rules": report.rules_dict(), "held": report.held.as_dict()})
    return report


def _record_batch(kluis: Running, session: Session, run_id: UUID, actor: str, report: SweepReport,
                  tallies: dict[str, RuleTally], within: emptied.Stretch) -> int:
    """Account for one batch's deleted records (the run's totals and the batch's audit event), and erase the
    people whose bound lies ``within`` the stretch of due dates it walked and who have nothing left."""
    if not tallies:
        return 0
    for rule_id, tally in tallies.items():
        assert tally.earliest is not None and tally.latest is not None
        report.per_rule.setdefault(rule_id, RuleTally()).add(tally.records, tally.earliest, tally.latest)
    records = sum(t.records for t in tallies.values())
    audit.append(session, kluis.clock, actor=actor, action="retention.swept", object_type="sweep",
                 object_ids=[run_id],
                 details={"records": records, "rules": {r: t.as_dict() for r, t in sorted(tallies.items())}})
    report.people += emptied.erase(kluis, session, run_id, report.at, actor, within)
    session.execute(update(SweepRun).where(SweepRun.id == run_id)
                    .values(records=report.records, people=report.people, per_rule=report.rules_dict()))
    return records


# --- The records phase ----------------------------------------------------------------------------------

# Where a walk is: the (due_at, person_id, id) of the last row a batch took. (person_id, id) names a row in
# every layout of the record table, partitioned by person or not; due_at comes first so that each batch
# reads a stretch of the due_at index, as a plain DELETE does, instead of every row of the table.
Key = tuple[datetime, UUID, UUID]


@dataclass
class _Batch:
    tallies: dict[str, RuleTally]
    last: Key | None  # the last row taken (deleted or not), None when there was none
    full: bool  # as many rows taken as asked for: the walk goes on


class _PassedOver(Exception):
    """A row of the batch is locked by another transaction (the batch's DELETE gave up on it at once)."""


def _sweep_records(kluis: Running, now: datetime, batch: int,
                   account: Callable[[Session, dict[str, RuleTally], emptied.Stretch], None]) -> None:
    """Walk the due rows in key order, a batch a transaction, each on whatever connection the pool gives:
    the walk's only state is the last key, so nothing lives in a connection between transactions.

    No batch waits for a row another transaction has locked (an erasure, a second sweep): its DELETE gives
    up at once (``_delete_stretch_pg``), and the batch is taken again passing over locked rows (SKIP LOCKED), as
    every later batch of the walk then is. A walk that passed over anything is followed by one more from
    the start, which takes what is still due: rows another sweep held and let go, or an erasure kept."""
    for again in (False, True):
        skipping, passed_over, after = again, False, None
        while True:
            with kluis.db.transaction() as session:
                holds = active_holds(session, now)
                taken: _Batch | None = None
                if not skipping:
                    try:
                        with session.begin_nested():
                            taken = _delete_batch(session, now, holds, batch, after, skip_locked=False)
                    except _PassedOver:
                        skipping = passed_over = True
                if taken is None:
                    taken = _delete_batch(session, now, holds, batch, after, skip_locked=True)
                # The due dates this batch walked: from the previous batch's last (a tie may lie on either
                # side) to its own last, or to the end.
                account(session, taken.tallies, (after[0] if after else None,
                                                 taken.last[0] if taken.full and taken.last else now))
            after = taken.last
            if not taken.full:
                break
        if not passed_over:
            return


def _delete_batch(session: Session, now: datetime, holds: ActiveHolds, batch: int, after: Key | None,
                  skip_locked: bool) -> _Batch:
    """Delete up to ``batch`` due, unheld records after ``after`` in key order; the counts per rule.

    The DELETE asks again, as it deletes, whether each row is still due and whether a hold in force covers
    it (``holds.covered_now``, read by the statement itself, not only the holds read when the batch began):
    a row re-dated or put on hold after it was chosen stays."""
    table = Record.__table__
    key = (table.c.due_at, table.c.person_id, table.c.id)
    walk = [sweepable(table, now, holds)]
    if after is not None:
        # The first column alone bounds the index scan; the row comparison then skips ties already taken.
        previous = tuple_(*(literal(value, column.type) for value, column in zip(after, key, strict=True)))
        walk += [table.c.due_at >= after[0], tuple_(*key) > previous]
    recheck = and_(*walk, table.c.due_at <= now, not_(covered_now(table, now)))
    postgresql = session.get_bind().dialect.name == "postgresql"
    if skip_locked and postgresql:
        return _delete_locked_pg(session, select(*key).where(*walk).order_by(*key).limit(batch), recheck, batch)
    # The batch's stretch of the walk: from ``after`` up to its ``batch``-th row in key order, read from the
    # walk's index (ix_record_due) alone; without one, the walk has fewer rows left and takes them all.
    bound = session.execute(select(*key).where(*walk).order_by(*key).offset(batch - 1).limit(1)).first()
    stretch = [recheck]
    if bound is not None:
        stretch += _stretch(table, [literal(value, column.type) for value, column in zip(bound, key, strict=True)])
    last = (as_utc(bound.due_at), bound.person_id, bound.id) if bound is not None else None
    if postgresql:
        return _Batch(_delete_stretch_pg(session, stretch), last, bound is not None)
    # SQLite (one writer: nothing changes between the statements of this transaction; no data-modifying
    # CTE): the counts of the stretch, then its DELETE, each a range of the walk's index. Nothing per
    # record reaches this process.
    tallies = {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(latest))
               for rule_id, count, first, latest in session.execute(
                   select(table.c.rule_id, func.count(), func.min(table.c.due_at), func.max(table.c.due_at))
                   .where(*stretch).group_by(table.c.rule_id))}
    session.execute(delete(table).where(*stretch))
    return _Batch(tallies, last, bound is not None)


def _stretch(table: FromClause, last: list[ColumnElement[Any]]) -> list[ColumnElement[bool]]:
    """The rows up to ``last`` (due_at, person_id, id) in key order: the first column bounds the index scan."""
    key = (table.c.due_at, table.c.person_id, table.c.id)
    return [key[0] <= last[0], tuple_(*key) <= tuple_(*last)]


def _counted(gone: FromClause) -> Select[Any]:
    """Per rule: how many rows ``gone`` (a DELETE's RETURNING rule_id, due_at) holds, the earliest and latest due."""
    return (select(gone.c.rule_id, func.count().label("records"), func.min(gone.c.due_at).label("earliest"),
                   func.max(gone.c.due_at).label("latest")).group_by(gone.c.rule_id))


def _tallies(rows: Any) -> dict[str, RuleTally]:
    return {row.rule_id or NO_RULE: RuleTally(row.records, as_utc(row.earliest), as_utc(row.latest))
            for row in rows if row.records}


def _delete_stretch_pg(session: Session, stretch: list[ColumnElement[bool]]) -> dict[str, RuleTally]:
    """Delete the stretch, never waiting for a row another transaction holds, and count per rule what went.

    The DELETE is the batch's only lock on its rows: a lock taken before it (``FOR UPDATE``) wrote every row
    twice, once to lock it and once to delete it, twice the WAL of the plain DELETE it stands for. Not waiting
    is ``lock_timeout``, local to this transaction (through a pooler in transaction mode too) and set back
    before the batch's audit event, which waits for the audit chain as any writer does: a row another
    transaction holds makes the DELETE give up at once with PostgreSQL's lock_not_available, as ``NOWAIT`` would,
    and the walk then passes over locked rows (``_delete_locked_pg``)."""
    table = Record.__table__
    gone = delete(table).where(*stretch).returning(table.c.rule_id, table.c.due_at).cte("gone")
    try:
        session.execute(text(f"SET LOCAL lock_timeout = '{NO_WAIT}'"))
        rows = session.execute(_counted(gone)).all()
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise _PassedOver from error
        raise
    session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
    return _tallies(rows)


def _named_by(table: FromClause, rows: FromClause) -> ColumnElement[bool]:
    """The rows of ``table`` whose (person_id, id) is among ``rows``: a row's name in any layout of the table."""
    return tuple_(table.c.person_id, table.c.id).in_(select(rows.c.person_id, rows.c.id))


def _delete_locked_pg(session: Session, chosen: Select[Any], recheck: ColumnElement[bool], batch: int) -> _Batch:
    """Passing over rows other transactions hold: one statement locks the chosen rows with SKIP LOCKED,
    deletes those still due and unheld, named by (person_id, id) (the stretch holds rows of other transactions),
    and returns the counts per rule with the last row taken; nothing per record reaches this process."""
    table = Record.__table__
    locked = chosen.with_for_update(skip_locked=True).cte("chosen")
    last = (select(locked.c.due_at, locked.c.person_id, locked.c.id, func.count().over().label("taken"))
            .order_by(locked.c.due_at.desc(), locked.c.person_id.desc(), locked.c.id.desc()).limit(1).cte("last"))
    stretch = _stretch(table, [select(column).scalar_subquery() for column in (last.c.due_at, last.c.person_id,
                                                                                 last.c.id)])
    gone = (delete(table).where(*stretch, _named_by(table, locked), recheck)
            .returning(table.c.rule_id, table.c.due_at).cte("gone"))
    counts = _counted(gone).subquery("counts")
    rows = session.execute(select(last, counts).select_from(last.outerjoin(counts, true()))).all()
    if not rows:
        return _Batch({}, None, False)
    first = rows[0]
    return _Batch(_tallies(rows), (as_utc(first.due_at), first.person_id, first.id), first.taken == batch)

"""The sweep (R-RET-2): erase what is due and not held, in batches, resumably; and the dry run that
reports what it would erase.

Each batch is one transaction: take up to ``batch`` due, unheld records (on PostgreSQL with ``FOR
UPDATE SKIP LOCKED``, so two sweeps never take the same rows or wait for each other), delete them,
fully erase anyone left with no records (their key is destroyed: ``Vault.shred``), and write the
batch's audit event with counts per rule. A sweep stopped at any point has committed whole batches
only; run again, it takes up what is still due. The instant it sweeps up to is fixed when it starts,
so its totals equal a dry run at that instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    any_,
    delete,
    exists,
    func,
    insert,
    literal_column,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause, Select

from kluis.audit import service as audit
from kluis.db import UTCDateTime
from kluis.kit.clock import as_utc
from kluis.kit.ids import new_id
from kluis.retention.holds import ActiveHolds, active_holds
from kluis.retention.models import SweepRun
from kluis.vault.models import Person, Record

if TYPE_CHECKING:
    from kluis.wiring import Kluis

BATCH = 10_000
# A record with no rule has no term to run out; it is never swept.
NO_RULE = "(none)"


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
    dates, and how many people would be left with nothing and so be erased entirely."""

    at: datetime
    dry_run: bool
    per_rule: dict[str, RuleTally] = field(default_factory=dict)
    people: int = 0
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
    other = table.alias("other")
    stays = or_(other.c.due_at.is_(None), other.c.due_at > now, holds.covers(other))
    report.people = int(session.scalar(
        select(func.count(func.distinct(table.c.person_id)))
        .join(Person, Person.id == table.c.person_id)
        .where(sweepable(table, now, holds), Person.shredded_at.is_(None),
               ~exists().where(other.c.person_id == table.c.person_id, stays))) or 0)
    return report


def due_count(session: Session, now: datetime) -> int:
    """How many records a sweep at ``now`` would erase (the total of its progress bar)."""
    holds, table = active_holds(session, now), Record.__table__
    return int(session.scalar(select(func.count()).select_from(table).where(sweepable(table, now, holds))) or 0)


def sweep(kluis: Kluis, actor: str = "system", batch: int = BATCH, on_batch: Callable[[int], None] | None = None,
          now: datetime | None = None) -> SweepReport:
    """Erase every record due at ``now`` (default: the clock, read once) that no hold covers."""
    at = now or kluis.clock.now()
    report = SweepReport(at=at, dry_run=False)
    with kluis.db.transaction() as session:
        run = SweepRun(id=new_id(), actor=actor, started_at=kluis.clock.now(), records=0, people=0, per_rule={})
        session.add(run)
        session.flush()
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_started", object_type="sweep",
                     object_ids=[run.id], details={"due_before": at.isoformat()})
    report.run_id = run.id
    while True:
        with kluis.db.transaction() as session:
            taken = _sweep_batch(kluis, session, run.id, at, batch, actor, report)
        report.batches += 1 if taken else 0
        if on_batch and taken:
            on_batch(taken)
        if taken < batch:
            break
    with kluis.db.transaction() as session:
        finished = kluis.clock.now()
        session.execute(update(SweepRun).where(SweepRun.id == run.id).values(finished_at=finished))
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_finished", object_type="sweep",
                     object_ids=[run.id],
                     details={"due_before": at.isoformat(), "records": report.records, "people": report.people,
                              "batches": report.batches, "rules": report.rules_dict()})
    return report


def _sweep_batch(kluis: Kluis, session: Session, run_id: UUID, now: datetime, batch: int, actor: str,
                 report: SweepReport) -> int:
    holds = active_holds(session, now)
    if session.connection().dialect.name == "postgresql":
        tallies, emptied = _delete_batch_pg(session, now, holds, batch)
    else:
        tallies, emptied = _delete_batch(session, now, holds, batch)
    if not tallies:
        return 0
    if emptied:
        kluis.vault(session, actor).shred(emptied, reason="retention")
    for rule_id, tally in tallies.items():
        assert tally.earliest is not None and tally.latest is not None
        report.per_rule.setdefault(rule_id, RuleTally()).add(tally.records, tally.earliest, tally.latest)
    report.people += len(emptied)
    session.execute(update(SweepRun).where(SweepRun.id == run_id)
                    .values(records=report.records, people=report.people, per_rule=report.rules_dict()))
    records = sum(t.records for t in tallies.values())
    audit.append(session, kluis.clock, actor=actor, action="retention.swept", object_type="sweep",
                 object_ids=[run_id],
                 details={"records": records, "people": len(emptied),
                          "rules": {r: t.as_dict() for r, t in sorted(tallies.items())}})
    return records


# Who lost records in this batch, kept on the server (PostgreSQL): one row per person, gone at commit.
# No index: it is written once and read once, front to back.
_SWEPT = Table("retention_swept_person", MetaData(), Column("person_id", Uuid),
               prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS")


def _emptied_pg() -> Select[tuple[UUID]]:
    """Of the people noted in ``_SWEPT``, those not yet erased who have no record left. The lateral
    ``LIMIT 1`` keeps it one index probe per person whatever the planner thinks of the temporary
    table (an anti-join could become a hash join over every record); the few it finds are then
    looked up in ``person`` by key."""
    table = Record.__table__
    left = (select(literal_column("1").label("found")).select_from(table)
            .where(table.c.person_id == _SWEPT.c.person_id).limit(1).lateral("left_over"))
    nothing_left = (select(_SWEPT.c.person_id).select_from(_SWEPT.outerjoin(left, true()))
                    .where(left.c.found.is_(None)))
    return select(Person.id).where(Person.id == any_(func.array(nothing_left.scalar_subquery())),
                                   Person.shredded_at.is_(None))


def _delete_batch_pg(session: Session, now: datetime, holds: ActiveHolds, batch: int
                     ) -> tuple[dict[str, RuleTally], list[UUID]]:
    """One statement deletes the batch by row address (a TID scan of rows locked with SKIP LOCKED), notes
    who lost records in a temporary table and returns only the counts per rule; a second finds who of
    them has nothing left. Per record, nothing travels to this process."""
    table = Record.__table__
    _SWEPT.create(session.connection(), checkfirst=True)
    # ORDER BY due_at is read off the due_at index (no sort): the earliest due go first.
    chosen = (select(literal_column("ctid")).where(sweepable(table, now, holds)).order_by(table.c.due_at)
              .limit(batch).with_for_update(skip_locked=True))
    gone = (delete(table).where(literal_column("ctid") == any_(func.array(chosen.scalar_subquery())))
            .returning(table.c.person_id, table.c.rule_id, table.c.due_at).cte("gone"))
    noted = insert(_SWEPT).from_select(["person_id"], select(gone.c.person_id).distinct()).cte("noted")
    tallies = {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(last))
               for rule_id, count, first, last in session.execute(
                   select(gone.c.rule_id, func.count(), func.min(gone.c.due_at), func.max(gone.c.due_at))
                   .group_by(gone.c.rule_id).add_cte(noted))}
    if not tallies:
        return {}, []
    # Take the audit head's lock before looking: a concurrent sweep's batch has committed by then, and
    # this statement sees its deletes, so two sweeps emptying one person a record each cannot both miss it.
    audit.line_up(session)
    return tallies, list(session.scalars(_emptied_pg()))


# The same on SQLite, which has no data-modifying CTEs: the batch's rows (row number, person, rule, due
# date) go to a temporary table, are deleted by row number and are counted and looked up from there; the
# table is emptied again in the same transaction.
_SWEPT_ROWS = Table("retention_swept_row", MetaData(), Column("record_rowid", Integer), Column("person_id", Uuid),
                    Column("rule_id", String(40)), Column("due_at", UTCDateTime()), prefixes=["TEMPORARY"])


def _delete_batch(session: Session, now: datetime, holds: ActiveHolds, batch: int
                  ) -> tuple[dict[str, RuleTally], list[UUID]]:
    """The same for a single-writer database (SQLite), set-based too: nothing per record reaches this
    process."""
    table, rows = Record.__table__, _SWEPT_ROWS
    rows.create(session.connection(), checkfirst=True)
    session.execute(insert(rows).from_select(
        ["record_rowid", "person_id", "rule_id", "due_at"],
        select(literal_column("record.rowid"), table.c.person_id, table.c.rule_id, table.c.due_at)
        .where(sweepable(table, now, holds)).order_by(table.c.due_at).limit(batch)))
    session.execute(delete(table).where(literal_column("record.rowid").in_(select(rows.c.record_rowid))))
    tallies = {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(last))
               for rule_id, count, first, last in session.execute(
                   select(rows.c.rule_id, func.count(), func.min(rows.c.due_at), func.max(rows.c.due_at))
                   .group_by(rows.c.rule_id))}
    if not tallies:
        return {}, []
    # Every batch appends to the audit chain, whose head is locked until commit; taking that lock before
    # looking means a concurrent writer's batch has committed by then, and this statement sees its deletes.
    audit.line_up(session)
    # NOT EXISTS per person: one index probe each, never a scan of every record.
    kept = exists().where(table.c.person_id == Person.id)
    emptied = list(session.scalars(select(Person.id).where(
        Person.id.in_(select(rows.c.person_id).distinct()), Person.shredded_at.is_(None), ~kept)))
    session.execute(delete(rows))  # empty again before commit, as PostgreSQL's ON COMMIT DELETE ROWS
    return tallies, emptied

"""The sweep (R-RET-2): erase what is due and not held, in batches, resumably; and the dry run that
reports what it would erase.

Two phases, each a series of short transactions:
1. Records. Each batch deletes up to ``batch`` due, unheld records and writes its audit event with
   counts per rule. On PostgreSQL the sweep first notes the addresses of the due rows, in physical
   order, in a temporary table (one scan, reading only pages that hold due rows, as a plain ``DELETE``
   does); each batch then takes the next stretch of them, so a batch's rows lie together on disk, and
   locks them with ``FOR UPDATE SKIP LOCKED``: two sweeps, or a sweep and an erasure, never take the
   same rows or wait for each other. A row passed over because another writer held it is looked for
   again at the end through the ``due_at`` index. On SQLite (one writer) batches come from that index.
2. People. Anyone left with no records is erased entirely (their key destroyed: ``Vault.shred``). They
   are found through ``person.keep_until`` (``kluis.retention.keep``): only people whose latest due date
   has passed are looked at, not everyone who lost a record.
A sweep stopped at any point has committed whole batches only; run again, it takes up what is still
due and then the people, so nothing is lost. The instant it sweeps up to is fixed when it starts, so
its totals equal a dry run at that instant.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
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
    tuple_,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.types import UserDefinedType

from kluis import jobs
from kluis.audit import service as audit
from kluis.consent.marketing.service import suppress_before_erasure
from kluis.db import Database, UTCDateTime
from kluis.kit.clock import Clock, as_utc
from kluis.kit.ids import new_id
from kluis.retention.holds import ActiveHolds, HeldBack, active_holds, held_back
from kluis.retention.models import SweepRun
from kluis.vault.keystore import KeyStore
from kluis.vault.models import Person, Record
from kluis.vault.service import Vault

# Records per batch. A batch holds its rows' locks until it commits (about half a second at this size on the
# benchmark's machine) but not the audit chain's head, which it takes only to append its event: larger
# batches cost other writers nothing, and fewer commits make the sweep faster (bench/retention.py).
BATCH = 50_000
# A record with no rule has no term to run out; it is never swept.
NO_RULE = "(none)"


class Running(Protocol):
    """What the sweep uses of the running Kluis (``kluis.wiring.Kluis``, which is built above this domain)."""

    db: Database
    clock: Clock
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


def sweep(kluis: Running, actor: str = "system", batch: int = BATCH, on_batch: Callable[[int], None] | None = None,
          now: datetime | None = None) -> SweepReport:
    """Erase every record due at ``now`` (default: the clock, read once) that no hold covers, then
    everyone left with nothing."""
    at = now or kluis.clock.now()
    report = SweepReport(at=at, dry_run=False)
    with kluis.db.transaction() as session:
        run = SweepRun(id=new_id(), actor=actor, started_at=kluis.clock.now(), records=0, people=0, per_rule={})
        session.add(run)
        session.flush()
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_started", object_type="sweep",
                     object_ids=[run.id], details={"due_before": at.isoformat()})
    report.run_id = run.id

    def account(session: Session, tallies: dict[str, RuleTally]) -> int:
        taken = _record_batch(kluis, session, run.id, actor, report, tallies)
        report.batches += 1 if taken else 0
        if on_batch and taken:
            on_batch(taken)
        return taken

    if kluis.db.dialect == "postgresql":
        # One connection for the whole run: the noted addresses and people live in its temporary tables.
        with kluis.db.engine.connect() as connection:
            unchanged = _sweep_records_pg(kluis, connection, at, batch, account)
            _erase_people(kluis, lambda: kluis.db.transaction_on(connection), run.id, at, actor, report, unchanged)
            with kluis.db.transaction_on(connection) as session:
                for table in (_DUE, _PEOPLE):
                    table.drop(session.connection(), checkfirst=True)
    else:
        while True:
            with kluis.db.transaction() as session:
                if account(session, _delete_batch(session, at, active_holds(session, at), batch)) < batch:
                    break
        _erase_people(kluis, kluis.db.transaction, run.id, at, actor, report, unchanged=False)
    with kluis.db.transaction() as session:
        # What the holds kept: counted once, after the deletes, when only the held rows are still due.
        report.held = held_back(session, at, active_holds(session, at))
        session.execute(update(SweepRun).where(SweepRun.id == run.id)
                        .values(finished_at=kluis.clock.now(), held=report.held.as_dict()))
        audit.append(session, kluis.clock, actor=actor, action="retention.sweep_finished", object_type="sweep",
                     object_ids=[run.id],
                     details={"due_before": at.isoformat(), "records": report.records, "people": report.people,
                              "batches": report.batches, "rules": report.rules_dict(), "held": report.held.as_dict()})
    return report


def _record_batch(kluis: Running, session: Session, run_id: UUID, actor: str, report: SweepReport,
                  tallies: dict[str, RuleTally]) -> int:
    """Account for one batch's deleted records: the run's totals and the batch's audit event."""
    if not tallies:
        return 0
    for rule_id, tally in tallies.items():
        assert tally.earliest is not None and tally.latest is not None
        report.per_rule.setdefault(rule_id, RuleTally()).add(tally.records, tally.earliest, tally.latest)
    session.execute(update(SweepRun).where(SweepRun.id == run_id)
                    .values(records=report.records, per_rule=report.rules_dict()))
    records = sum(t.records for t in tallies.values())
    audit.append(session, kluis.clock, actor=actor, action="retention.swept", object_type="sweep",
                 object_ids=[run_id],
                 details={"records": records, "rules": {r: t.as_dict() for r, t in sorted(tallies.items())}})
    return records


PEOPLE_BATCH = 2000


def _emptied(now: datetime) -> ColumnElement[bool]:
    """People whose every record was due by ``now`` and who have none left, not yet erased."""
    return and_(Person.keep_until <= now, Person.shredded_at.is_(None),
                ~exists().where(Record.person_id == Person.id))


def _erase_emptied(kluis: Running, session: Session, run_id: UUID, now: datetime, actor: str, report: SweepReport,
                   after: tuple[datetime, UUID] | None, unchanged: bool = False) -> tuple[datetime, UUID] | bool:
    """Erase up to ``PEOPLE_BATCH`` people left with nothing, in (keep_until, id) order from ``after``;
    returns where to go on from, or False when done. On PostgreSQL one statement picks them, locking their
    rows with SKIP LOCKED (a concurrent sweep passes over them; a record being added for one of them
    waits for this commit), and marks them erased; their keys and identifiers go next.

    ``unchanged`` (PostgreSQL): take only the people noted before the records phase whose row has not
    changed since (see ``_note_people``), without looking for records of theirs."""
    person = Person.__table__
    if unchanged:
        noted = _PEOPLE
        query = (select(person.c.id, person.c.keep_until).select_from(
            person.join(noted, and_(noted.c.id == person.c.id, noted.c.version == literal_column("person.xmin::text"))))
            .where(person.c.keep_until <= now, person.c.shredded_at.is_(None)))
    else:
        query = select(person.c.id, person.c.keep_until).where(_emptied(now))
    query = query.order_by(person.c.keep_until, person.c.id).limit(PEOPLE_BATCH)
    if after is not None:
        query = query.where(tuple_(person.c.keep_until, person.c.id) > tuple_(*after))
    marked = session.get_bind().dialect.name == "postgresql"
    if marked:
        chosen = jobs.unclaimed(query, of=person).cte("chosen")
        at = kluis.clock.now()
        found = sorted(session.execute(
            update(person).where(person.c.id == chosen.c.id)
            .values(shredded_at=at, updated_at=at, keep_until=None)
            .returning(chosen.c.id, chosen.c.keep_until)).all(), key=lambda row: (row.keep_until, row.id))
    else:
        found = list(session.execute(query).all())
    if not found:
        return False
    ids = sorted(row.id for row in found)  # in key order: the lookups below walk each index forward
    suppress_before_erasure(session, kluis.keystore, kluis.clock.now(), ids)  # R-CONS-2: before the identifiers go
    kluis.vault(session, actor).shred(ids, reason="retention", marked=marked)
    report.people += len(ids)
    session.execute(update(SweepRun).where(SweepRun.id == run_id).values(people=report.people))
    audit.append(session, kluis.clock, actor=actor, action="retention.people_erased", object_type="sweep",
                 object_ids=[run_id], details={"people": len(ids)})
    return (found[-1].keep_until, found[-1].id) if len(found) == PEOPLE_BATCH else False


def _erase_people(kluis: Running, transaction: Callable[[], AbstractContextManager[Session]], run_id: UUID,
                  now: datetime, actor: str, report: SweepReport, unchanged: bool) -> None:
    """The second phase: first (PostgreSQL, when it may) the noted people whose rows did not change, then
    anyone else left with nothing, each looked for."""
    for fast in ([True] if unchanged else []) + [False]:
        last: tuple[datetime, UUID] | bool | None = None
        while last is not False:
            with transaction() as session:
                last = _erase_emptied(kluis, session, run_id, now, actor, report,
                                      last if isinstance(last, tuple) else None, unchanged=fast)


# --- PostgreSQL -----------------------------------------------------------------------------------------

class _RowAddress(UserDefinedType[Any]):
    """PostgreSQL's ``tid``: a row's physical address (page, slot)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "tid"


# The due rows' addresses, in physical order, for the length of one sweep (dropped with its connection).
_DUE = Table("retention_sweep_due", MetaData(), Column("n", BigInteger, primary_key=True), Column("t", _RowAddress()),
             Column("person_id", Uuid), prefixes=["TEMPORARY"])


def _sweep_records_pg(kluis: Running, connection: Connection, now: datetime, batch: int,
                      account: Callable[[Session, dict[str, RuleTally]], int]) -> bool:
    """Note the due rows' addresses once, then delete them a stretch at a time in that order; then,
    if another writer held some of them, whatever is still due, from the index. True when every noted
    row was taken by its batch and no hold was active at the start or the end: then a noted person whose
    row has not changed since has nothing left (``_note_people``)."""
    with kluis.db.transaction_on(connection) as session:
        for table in (_DUE, _PEOPLE):
            table.drop(session.connection(), checkfirst=True)
            table.create(session.connection())
        holds = active_holds(session, now)
        address: ColumnElement[Any] = literal_column("ctid")
        records = Record.__table__
        # Numbered in the order the scan meets them, which for a large sweep (a bitmap scan) is physical order;
        # no sort of a million addresses.
        session.execute(insert(_DUE).from_select(["n", "t", "person_id"], select(
            func.row_number().over(), address, records.c.person_id).where(sweepable(records, now, holds))))
        noted = int(session.scalar(select(func.max(_DUE.c.n))) or 0)
        if not holds:
            _note_people(session, now)
    passed_over, short = 0, False
    for lo in range(0, noted, batch):
        with kluis.db.transaction_on(connection) as session:
            tallies, skipped = _delete_noted_pg(session, now, active_holds(session, now), lo, min(lo + batch, noted))
            # Fewer taken than noted (held, re-dated, erased or locked meanwhile): the noted people are looked for.
            short = short or sum(t.records for t in tallies.values()) < min(lo + batch, noted) - lo
            account(session, tallies)
            passed_over += skipped
    while passed_over:
        with kluis.db.transaction_on(connection) as session:
            if account(session, _delete_batch_pg(session, now, active_holds(session, now), batch)) < batch:
                break
    with kluis.db.transaction_on(connection) as session:
        return not holds and not short and not active_holds(session, now)


# The people the records phase will leave with nothing, noted in the same snapshot as the due rows: their
# latest due date has passed and every record of theirs is among the noted rows (counted in the record
# table's person index, which needs no read of the rows themselves), with the version (xmin) of their
# row. Every write that adds a record or moves a due date also writes the person's row
# (kluis.retention.keep), so a noted person whose row is still that version has had nothing added or
# re-dated since, and once every noted row is deleted, has nothing left. They need no look at the record
# table after the deletes, where each of their just-deleted rows would cost a read of its page to see
# that it is gone. Anyone else (changed since, or while a hold was active) is looked for.
_PEOPLE = Table("retention_sweep_people", MetaData(), Column("id", Uuid, primary_key=True),
                Column("version", String(20)), prefixes=["TEMPORARY"])


def _note_people(session: Session, now: datetime) -> None:
    person, records = Person.__table__, Record.__table__
    candidates = (select(person.c.id).where(person.c.keep_until <= now, person.c.shredded_at.is_(None))
                  .cte("candidates"))
    noted = (select(_DUE.c.person_id, func.count().label("due")).where(_DUE.c.person_id.in_(select(candidates.c.id)))
             .group_by(_DUE.c.person_id).cte("noted"))
    kept = select(func.count()).select_from(records).where(records.c.person_id == person.c.id).scalar_subquery()
    session.execute(insert(_PEOPLE).from_select(["id", "version"], select(
        person.c.id, literal_column("person.xmin::text"))
        .select_from(person.join(noted, noted.c.person_id == person.c.id))
        .where(person.c.keep_until <= now, person.c.shredded_at.is_(None), kept == noted.c.due)))


def _delete_noted_pg(session: Session, now: datetime, holds: ActiveHolds, lo: int, hi: int
                     ) -> tuple[dict[str, RuleTally], int]:
    """Delete the due, unheld rows among the addresses noted as numbers (lo, hi] in the temporary table,
    locking them with SKIP LOCKED; the counts per rule, and how many due rows were passed over because
    another transaction held them."""
    table = Record.__table__
    noted = func.array(select(_DUE.c.t).where(_DUE.c.n > lo, _DUE.c.n <= hi).scalar_subquery())
    here = and_(literal_column("ctid") == any_(noted), sweepable(table, now, holds))
    chosen = jobs.unclaimed(select(literal_column("ctid")).where(here))
    gone = (delete(table).where(literal_column("ctid") == any_(func.array(chosen.scalar_subquery())))
            .returning(table.c.rule_id, table.c.due_at).cte("gone"))
    tallies = {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(last))
               for rule_id, count, first, last in session.execute(
                   select(gone.c.rule_id, func.count(), func.min(gone.c.due_at), func.max(gone.c.due_at))
                   .group_by(gone.c.rule_id))}
    if sum(t.records for t in tallies.values()) == hi - lo:
        return tallies, 0  # every noted row taken: nothing passed over
    # Fewer: gone meanwhile, held or re-dated since, or locked by another transaction. Only the last are
    # still there and due, unheld, as this transaction sees it (its own deletes included).
    return tallies, int(session.scalar(select(func.count()).select_from(table).where(here)) or 0)


def _delete_batch_pg(session: Session, now: datetime, holds: ActiveHolds, batch: int) -> dict[str, RuleTally]:
    """Up to ``batch`` due, unheld rows from the due_at index, the earliest due first (no sort: the order
    is the index's), locked with SKIP LOCKED and deleted by row address; the counts per rule."""
    table = Record.__table__
    chosen = jobs.unclaimed(select(literal_column("ctid")).where(sweepable(table, now, holds))
                            .order_by(table.c.due_at).limit(batch))
    gone = (delete(table).where(literal_column("ctid") == any_(func.array(chosen.scalar_subquery())))
            .returning(table.c.rule_id, table.c.due_at).cte("gone"))
    return {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(last))
            for rule_id, count, first, last in session.execute(
                select(gone.c.rule_id, func.count(), func.min(gone.c.due_at), func.max(gone.c.due_at))
                .group_by(gone.c.rule_id))}


# --- SQLite ---------------------------------------------------------------------------------------------

# SQLite has no data-modifying CTEs: the batch's rows (row number, rule, due date) go to a temporary table,
# are deleted by row number and counted from there; the table is emptied again in the same transaction.
_SWEPT_ROWS = Table("retention_swept_row", MetaData(), Column("record_rowid", Integer),
                    Column("rule_id", String(40)), Column("due_at", UTCDateTime()), prefixes=["TEMPORARY"])


def _delete_batch(session: Session, now: datetime, holds: ActiveHolds, batch: int) -> dict[str, RuleTally]:
    """Up to ``batch`` due, unheld records, the earliest due first; the counts per rule. Set-based:
    nothing per record reaches this process."""
    table, rows = Record.__table__, _SWEPT_ROWS
    rows.create(session.connection(), checkfirst=True)
    session.execute(insert(rows).from_select(
        ["record_rowid", "rule_id", "due_at"],
        select(literal_column("record.rowid"), table.c.rule_id, table.c.due_at)
        .where(sweepable(table, now, holds)).order_by(table.c.due_at).limit(batch)))
    session.execute(delete(table).where(literal_column("record.rowid").in_(select(rows.c.record_rowid))))
    tallies = {rule_id or NO_RULE: RuleTally(count, as_utc(first), as_utc(last))
               for rule_id, count, first, last in session.execute(
                   select(rows.c.rule_id, func.count(), func.min(rows.c.due_at), func.max(rows.c.due_at))
                   .group_by(rows.c.rule_id))}
    session.execute(delete(rows))  # empty again before commit
    return tallies

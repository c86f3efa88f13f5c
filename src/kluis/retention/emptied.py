"""The people a sweep leaves with nothing (R-RET-2): erased entirely (their key destroyed: ``Vault.shred``).

They are found through ``person.keep_until`` (``kluis.retention.keep``), the latest due date among a person's
records: only people whose bound has passed are looked at, and each is erased only if no record of theirs is
left. The sweep looks for them twice:
- in each batch's transaction, right after its DELETE, among the people whose bound lies in the stretch of due
  dates the batch walked (``within``): a person's last record goes in the batch whose stretch holds their bound,
  so each is looked at once, and gone with it. Looked at in the transaction that deleted their records, a
  person's deleted rows are this transaction's own: the look reads pages the DELETE just read, where a later
  transaction would first have to clean up the dead rows it meets (prune them, mark their index entries,
  write that to the WAL: three times the time at 100,000 people, bench/retention.py);
- once after the walk, among everyone whose bound has passed: whoever is left with nothing otherwise (records
  deleted by an earlier sweep killed before it erased them, a bound below the records' latest due date).
"""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Protocol
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, select, tuple_, update
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.consent.marketing.service import suppress_before_erasure
from kluis.kit.clock import Clock
from kluis.vault.keystore import KeyStore
from kluis.vault.models import Person, Record
from kluis.vault.service import Vault


class Running(Protocol):
    """What erasing people uses of the running Kluis (``kluis.retention.sweep.Running`` has it all)."""

    clock: Clock
    @property
    def keystore(self) -> KeyStore: ...

    def vault(self, session: Session, actor: str) -> Vault: ...


# People per statement, audit event and erasure-log write: a batch of records may leave many more with nothing.
PEOPLE_BATCH = 2000
# Where a look for people is: the (keep_until, id) of the last person taken.
Cursor = tuple[datetime, UUID]
# A stretch of due dates, lowest (None: from the start) to highest, both included.
Stretch = tuple[datetime | None, datetime]


def emptied(now: datetime, within: Stretch | None = None) -> ColumnElement[bool]:
    """People whose every record was due by ``now`` (their bound ``within`` the stretch, if given) and who have
    none left, not yet erased."""
    bound = Person.keep_until
    parts = [bound <= now, Person.shredded_at.is_(None), ~exists().where(Record.person_id == Person.id)]
    if within is not None:
        lowest, highest = within
        parts += [bound <= highest] + ([bound >= lowest] if lowest is not None else [])
    return and_(*parts)


def erase(kluis: Running, session: Session, run_id: UUID, now: datetime, actor: str,
          within: Stretch | None = None) -> int:
    """Erase, in this transaction, everyone left with nothing (``within`` a stretch of due dates, if given),
    ``PEOPLE_BATCH`` at a time; how many. The run's count of people is the caller's to keep."""
    total, after = 0, None
    while True:
        erased, after = _erase_some(kluis, session, run_id, now, actor, within, after)
        total += erased
        if after is None:
            return total


def _erase_some(kluis: Running, session: Session, run_id: UUID, now: datetime, actor: str, within: Stretch | None,
                after: Cursor | None) -> tuple[int, Cursor | None]:
    """Erase up to ``PEOPLE_BATCH`` people left with nothing, in (keep_until, id) order from ``after``; how many,
    and where to go on from (None when done). On PostgreSQL one statement picks them, locking their rows with
    SKIP LOCKED (a concurrent sweep passes over them; a record being added for one of them waits for this
    commit, and one added already holds the row, so they are passed over), and marks them erased; their keys
    and identifiers go next."""
    person = Person.__table__
    query = (select(person.c.id, person.c.keep_until).where(emptied(now, within))
             .order_by(person.c.keep_until, person.c.id).limit(PEOPLE_BATCH))
    if after is not None:
        query = query.where(tuple_(person.c.keep_until, person.c.id) > tuple_(*after))
    marked = session.get_bind().dialect.name == "postgresql"
    if marked:
        chosen = jobs.unclaimed(query, of=person).cte("chosen")
        at = kluis.clock.now()
        found = session.execute(update(person).where(person.c.id == chosen.c.id)
                                .values(shredded_at=at, updated_at=at, keep_until=None)
                                .returning(chosen.c.id, chosen.c.keep_until)).all()
    else:
        found = list(session.execute(query).all())
    if not found:
        return 0, None
    # In key order, the lookups below walk each index forward; sorted by the number, which Python compares in C
    # (``UUID``'s own comparison is Python code: 40,000 calls for 2,000 people).
    ids = sorted((row.id for row in found), key=attrgetter("int"))
    suppress_before_erasure(session, kluis.keystore, kluis.clock.now(), ids)  # R-CONS-2: before the identifiers go
    kluis.vault(session, actor).shred(ids, reason="retention", marked=marked)
    audit.append(session, kluis.clock, actor=actor, action="retention.people_erased", object_type="sweep",
                 object_ids=[run_id], details={"people": len(ids)})
    if len(found) < PEOPLE_BATCH:
        return len(ids), None
    last = max(found, key=lambda row: (row.keep_until, row.id.int))
    return len(ids), (last.keep_until, last.id)

"""Queries of the breach register. The affected-people selection is one statement, used three ways: counted
(one aggregate), listed in keyset pages (constant memory however many match) and frozen (INSERT ... SELECT,
done by the database without the ids passing through Python)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, String, cast, delete, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.breaches.models import Breach, BreachFiling, BreachPerson
from kluis.kit.clock import as_utc
from kluis.rights.models import DataSubjectRequest
from kluis.vault.models import Employer, Person, Record

PAGE = 1000


def _affected_filter(breach: Breach) -> list[ColumnElement[bool]]:
    """People held, not erased, of the employers and subject types named, with a record of a named category
    that was held during the breach: collected before its end (a record still in the vault was held from its
    collection on; one erased before the breach is gone, and so is its risk)."""
    end = as_utc(breach.happened_until or breach.aware_at)
    held = exists().where(Record.person_id == Person.id, Record.category.in_(breach.categories),
                          Record.collected_at <= end)
    # subject_types is a JSON list of policy ids ([a-z_]): a quoted id matches exactly, on every database.
    types = or_(*(cast(Person.subject_types, String).like(f'%"{t}"%') for t in breach.subject_types))
    conditions: list[ColumnElement[bool]] = [Person.erased_at.is_(None), held, types]
    if breach.employer_ids:
        conditions.append(Person.employer_id.in_([uuid.UUID(e) for e in breach.employer_ids]))
    return conditions


def affected_statement(breach: Breach) -> Select[uuid.UUID]:
    return select(Person.id).where(*_affected_filter(breach))


def count_affected(session: Session, breach: Breach) -> int:
    return int(session.scalar(select(func.count()).select_from(Person).where(*_affected_filter(breach))) or 0)


def affected_page(session: Session, breach: Breach, after: uuid.UUID | None, limit: int = PAGE) -> list[uuid.UUID]:
    query = affected_statement(breach).order_by(Person.id).limit(limit)
    if after is not None:
        query = query.where(Person.id > after)
    return list(session.scalars(query))


def stream_affected(session: Session, breach: Breach, page: int = PAGE) -> Iterator[uuid.UUID]:
    """Every affected person id, in no particular order, through one statement read a page at a time (a
    server-side cursor on PostgreSQL). Keyset pages would be cheaper per request but not in all: each page makes
    the database find every candidate again to sort them, so walking them all costs pages x selection."""
    yield from _stream(session, affected_statement(breach), page)


def stream_snapshot(session: Session, breach_id: uuid.UUID, page: int = PAGE) -> Iterator[uuid.UUID]:
    yield from _stream(session, select(BreachPerson.person_id).where(BreachPerson.breach_id == breach_id), page)


def _stream(session: Session, query: Select[uuid.UUID], page: int) -> Iterator[uuid.UUID]:
    for partition in session.execute(query.execution_options(yield_per=page)).scalars().partitions():
        yield from partition


def freeze(session: Session, breach: Breach) -> int:
    """Replace the breach's snapshot by the current selection; how many people it holds."""
    session.execute(delete(BreachPerson).where(BreachPerson.breach_id == breach.id))
    selection = select(literal(breach.id, BreachPerson.breach_id.type), Person.id).where(*_affected_filter(breach))
    session.execute(insert(BreachPerson).from_select(["breach_id", "person_id"], selection))
    return count_snapshot(session, breach.id)


def count_snapshot(session: Session, breach_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(BreachPerson)
                              .where(BreachPerson.breach_id == breach_id)) or 0)


def snapshot_page(session: Session, breach_id: uuid.UUID, after: uuid.UUID | None,
                  limit: int) -> list[tuple[uuid.UUID, bool]]:
    """(person id, still held) of the next people of the snapshot; an erased person is not held."""
    query = (select(BreachPerson.person_id, Person.erased_at.is_(None))
             .join(Person, Person.id == BreachPerson.person_id)
             .where(BreachPerson.breach_id == breach_id).order_by(BreachPerson.person_id).limit(limit))
    if after is not None:
        query = query.where(BreachPerson.person_id > after)
    return [(row[0], bool(row[1])) for row in session.execute(query)]


def get(session: Session, breach_id: uuid.UUID, lock: bool = False) -> Breach | None:
    query = select(Breach).where(Breach.id == breach_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def all_breaches(session: Session) -> list[Breach]:
    return list(session.scalars(select(Breach).order_by(Breach.aware_at.desc(), Breach.id)))


def filings(session: Session, breach_id: uuid.UUID) -> list[BreachFiling]:
    return list(session.scalars(select(BreachFiling).where(BreachFiling.breach_id == breach_id)
                                .order_by(BreachFiling.filed_at, BreachFiling.id)))


def unfiled_needing_reminder(session: Session, horizon: datetime) -> Sequence[Breach]:
    """Breaches not filed with the AP whose deadline is within the horizon (or passed), not decided as no risk;
    locked, skipping what another worker holds."""
    return list(session.scalars(jobs.unclaimed(
        select(Breach).where(Breach.ap_filed_at.is_(None), Breach.deadline_at <= horizon,
                             or_(Breach.risk.is_(None), Breach.risk != "no_risk"))
        .order_by(Breach.deadline_at))))


def notifying(session: Session) -> Breach | None:
    """One breach whose people are being notified, locked (skipping one another worker holds)."""
    return session.scalars(jobs.unclaimed(select(Breach).where(Breach.notify_state == "running")
                                          .order_by(Breach.notify_started_at).limit(1))).first()


def languages(session: Session, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The language each person last used with benVitaal (their latest request); absent: not known."""
    rows = session.execute(select(DataSubjectRequest.person_id, DataSubjectRequest.lang)
                           .where(DataSubjectRequest.person_id.in_(person_ids))
                           .order_by(DataSubjectRequest.received_at))
    return {person_id: lang for person_id, lang in rows if person_id is not None}


def employers(session: Session, limit: int = 1000) -> list[tuple[uuid.UUID, str]]:
    return [(row[0], row[1]) for row in session.execute(select(Employer.id, Employer.name)
                                                        .order_by(Employer.name).limit(limit))]


def known_employers(session: Session, employer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not employer_ids:
        return set()
    return set(session.scalars(select(Employer.id).where(Employer.id.in_(list(employer_ids)))))

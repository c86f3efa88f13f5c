"""Queries of policy versions and of their announcements. The people a material change affects are read in keyset
pages: the next ids after a cursor, from the indexes that hold them in id order (records by person and category,
current consents by person and purpose), so every page costs about the same however far the run is and however
many people the vault holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kluis.consent.models import ConsentEvent, ConsentState
from kluis.db import among
from kluis.policy.models import PolicyAnnouncement
from kluis.rights.models import DataSubjectRequest
from kluis.vault.identifiers import IdentifierKind
from kluis.vault.models import Identifier, Person, Record

PAGE = 500


def running(session: Session) -> PolicyAnnouncement | None:
    """One announcement under way, locked (skipping one another worker holds)."""
    return session.scalars(select(PolicyAnnouncement).where(PolicyAnnouncement.state == "running")
                           .order_by(PolicyAnnouncement.seq).limit(1).with_for_update(skip_locked=True)).first()


def announcements(session: Session) -> dict[int, PolicyAnnouncement]:
    return {row.seq: row for row in session.scalars(select(PolicyAnnouncement))}


def affected_page(session: Session, categories: Sequence[str], purposes: Sequence[str], after: uuid.UUID | None,
                  limit: int = PAGE) -> list[tuple[uuid.UUID, bool]]:
    """The next ``limit`` people after ``after`` (in id order) with a record of one of ``categories`` or a given
    consent for one of ``purposes``; each with whether they are erased (their kept records still match)."""
    found: set[uuid.UUID] = set()
    for column, kinds, wanted in ((Record.person_id, Record.category, categories),
                                  (ConsentState.person_id, ConsentState.purpose, purposes)):
        if not wanted:
            continue
        query = select(column).where(among(session, kinds, list(wanted))).distinct().order_by(column).limit(limit)
        if after is not None:
            query = query.where(column > after)
        found.update(session.scalars(query))
    page = sorted(found)[:limit]
    if not page:
        return []
    erased = {person_id: flag for person_id, flag in session.execute(
        select(Person.id, or_(Person.erased_at.is_not(None), Person.shredded_at.is_not(None)))
        .where(among(session, Person.id, page)))}
    return [(person_id, bool(erased.get(person_id, True))) for person_id in page]


def categories_of(session: Session, people: Sequence[uuid.UUID], categories: Iterable[str]
                  ) -> dict[uuid.UUID, set[str]]:
    """Which of ``categories`` each person has data of."""
    found: dict[uuid.UUID, set[str]] = {}
    query = select(Record.person_id, Record.category).where(
        among(session, Record.person_id, people), among(session, Record.category, list(categories))).distinct()
    for person_id, category in session.execute(query):
        found.setdefault(person_id, set()).add(category)
    return found


def consents_of(session: Session, people: Sequence[uuid.UUID], purposes: Iterable[str]) -> dict[uuid.UUID, set[str]]:
    """Which of ``purposes`` each person has given consent for (and not withdrawn)."""
    found: dict[uuid.UUID, set[str]] = {}
    wanted = list(purposes)
    if not wanted:
        return found
    query = select(ConsentState.person_id, ConsentState.purpose).where(
        among(session, ConsentState.person_id, people), among(session, ConsentState.purpose, wanted))
    for person_id, purpose in session.execute(query):
        found.setdefault(person_id, set()).add(purpose)
    return found


def reachable(session: Session, people: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``people`` with an e-mail address in the vault."""
    return set(session.scalars(select(Identifier.person_id).where(
        among(session, Identifier.person_id, people), Identifier.kind == IdentifierKind.EMAIL.value).distinct()))


def languages(session: Session, people: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The language each person last used with benVitaal: of their latest consent notice or request; absent when
    neither is known."""
    latest: dict[uuid.UUID, tuple[datetime, str]] = {}
    for query in (select(ConsentEvent.person_id, ConsentEvent.at, ConsentEvent.lang).where(
            among(session, ConsentEvent.person_id, people), ConsentEvent.lang.is_not(None)),
                  select(DataSubjectRequest.person_id, DataSubjectRequest.received_at, DataSubjectRequest.lang).where(
            among(session, DataSubjectRequest.person_id, people))):
        for person_id, at, lang in session.execute(query):
            if person_id is not None and lang and (person_id not in latest or latest[person_id][0] < at):
                latest[person_id] = (at, lang)
    return {person_id: lang for person_id, (_, lang) in latest.items()}

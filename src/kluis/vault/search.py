"""Finding people for staff by what they typed (issue 19 §2, R-VLT-2): through the blind index only.

The typed value is normalised per kind and turned into the index's digests; the database is asked for those
digests in the blind index, never for a decrypted value, so a search costs two indexed queries (the index, then
which of the people found are not erased) however many people the vault holds.
An employee number is unique only within its employer: it is looked for under every employer at once (one
digest each, one query on the index's own key).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import among
from kluis.kit.clock import Clock
from kluis.kit.errors import Invalid, Problem
from kluis.vault import repository
from kluis.vault.crypto import KeyRing
from kluis.vault.identifiers import IdentifierKind, normalise
from kluis.vault.models import Employer, Person

MAX_FOUND = 50  # an identifier belongs to one person per scope; the bound only caps employee numbers


@dataclass(frozen=True)
class Found:
    person_id: uuid.UUID
    kind: str  # which kind of identifier matched; the value is never kept


def guess_kinds(value: str) -> list[IdentifierKind]:
    """What a typed value can be: an address has an @; anything else may be a phone or an employee number."""
    if "@" in value:
        return [IdentifierKind.EMAIL]
    return [IdentifierKind.PHONE, IdentifierKind.EMPLOYEE_NUMBER]


def search(session: Session, clock: Clock, keys: KeyRing, actor: str, value: str,
           kind: IdentifierKind | None = None) -> list[Found]:
    """The live people one of whose identifiers equals ``value`` (as ``kind``, else as whatever it can be).

    Audited with the ids found and the kinds tried, never the value. A value that fits no kind asked for is
    ``Invalid``; one that fits but matches nobody gives an empty list."""
    kinds = [kind] if kind is not None else guess_kinds(value)
    wanted: list[tuple[str, str, bytes]] = []
    problems: list[Problem] = []
    for tried in kinds:
        scopes = _employer_scopes(session) if tried == IdentifierKind.EMPLOYEE_NUMBER else [None]
        for scope in scopes:
            found = normalise(tried, value, scope, "q")
            if isinstance(found, Problem):
                problems.append(found)
                break
            wanted.append((tried.value, found[1], keys.digest(tried.value, found[1], found[0])))
    if not wanted and problems and (kind is not None or len(kinds) == 1):
        raise Invalid("the search value is not valid for this kind", code="search_invalid", problems=problems[:1])
    people = _matching(session, wanted)
    audit.append(session, clock, actor=actor, action="person.searched", object_type="person",
                 object_ids=sorted({f.person_id for f in people}, key=str),
                 details={"via": "console", "kinds": [k.value for k in kinds], "found": len(people)})
    return people


def _employer_scopes(session: Session) -> list[str | None]:
    return [str(employer_id) for employer_id in session.scalars(select(Employer.id).order_by(Employer.id))]


def _matching(session: Session, wanted: list[tuple[str, str, bytes]]) -> list[Found]:
    if not wanted:
        return []
    matched = repository.owners(session, wanted)
    living = set(session.scalars(select(Person.id).where(among(session, Person.id, [p for p, _ in matched]),
                                                         Person.shredded_at.is_(None))))
    return sorted((Found(person_id, kind) for person_id, kind in matched if person_id in living),
                  key=lambda found: str(found.person_id))[:MAX_FOUND]

"""Shared by the retention tests: people with records of each rule, written through the vault."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from kluis.kit.clock import AMSTERDAM
from kluis.vault.models import Person, PersonKey, Record
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.vault.service import add_employer

KINDS = {
    "claim": dict(category="financial", purposes=["expense_claims"], legal_basis="contract", source="employer",
                  controller="employer"),
    "marketing": dict(category="basic", purposes=["marketing_email"], legal_basis="consent", source="direct"),
    "profile": dict(category="interests", purposes=["profiling"], legal_basis="legitimate_interest",
                    source="cookies"),
    "web": dict(category="web_traffic", purposes=["security"], legal_basis="legitimate_interest", source="cookies"),
    "account": dict(category="account", purposes=["accounts"], legal_basis="contract", source="direct"),
    "application": dict(category="application", purposes=["recruitment"], legal_basis="contract", source="direct"),
}
SUBJECTS = {"claim": "employee", "account": "employee", "application": "applicant", "web": "website_visitor"}


def ams(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=AMSTERDAM)


def employer(kluis, name="Werkgever BV"):
    with kluis.db.transaction() as session:
        return add_employer(session, kluis.clock, "test", name).id


def person(kluis, *kinds: str, email: str | None = None, employer_id=None, at: datetime | None = None,
           last_activity: datetime | None = None):
    """A person with one record of each kind; returns (person id, {kind: record id})."""
    subject = next((SUBJECTS[k] for k in kinds if k in SUBJECTS), "lead")
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        idents = [IdentifierIn(kind="email", value=email)] if email else []
        new = vault.create_person(PersonIn(subject_types=[subject], employer_id=employer_id, identifiers=idents))
        items = [RecordIn(**KINDS[k], content={"n": i}, collected_at=at, last_activity_at=last_activity)
                 for i, k in enumerate(kinds)]
        ids = vault.add_records(new.id, items) if items else []
    return new.id, dict(zip(kinds, ids, strict=True))


def records_of(kluis, person_id) -> list[Record]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(Record).where(Record.person_id == person_id)))


def record(kluis, record_id) -> Record | None:
    with kluis.db.sessions() as session:
        return session.scalars(select(Record).where(Record.id == record_id)).one_or_none()


def erased(kluis, person_id) -> bool:
    """Fully erased: marked shredded, and the data key is gone from the key store."""
    with kluis.db.sessions() as session:
        shredded = session.get(Person, person_id).shredded_at is not None
    with kluis.db.key_sessions() as keys:
        has_key = keys.scalar(select(func.count()).select_from(PersonKey).where(PersonKey.person_id == person_id))
    return shredded and not has_key

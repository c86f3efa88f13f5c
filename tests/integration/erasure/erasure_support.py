"""Shared by the erasure tests: a person with data of every kind, and helpers to look at what is left."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from kluis.consent.marketing.service import Marketing
from kluis.vault.crypto import open_sealed
from kluis.vault.models import Identifier, Record
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.vault.service import add_employer

SETTLED = datetime(2025, 3, 15, tzinfo=UTC)


def person_with_everything(kluis, email="wissen@example.nl", phone="06 12345678", claims=1, extra=0,
                           settled=SETTLED):
    """An employee with an account, marketing consent and a profile, and expense claims held for the
    employer (processor role): what an erasure must take apart."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        employer = add_employer(session, kluis.clock, "test", "Werkgever BV")
        person = vault.create_person(PersonIn(subject_types=["employee", "lead"], employer_id=employer.id,
                                              identifiers=[IdentifierIn(kind="email", value=email),
                                                           IdentifierIn(kind="phone", value=phone)]))
        records = [
            RecordIn(category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
                     content={"name": "Wim Wissen", "city": "Zwolle"}),
            RecordIn(category="interests", purposes=["lead_management"], legal_basis="legitimate_interest",
                     source="direct", content={"interest_topics": "fietsen"}),
            *[RecordIn(category="financial", purposes=["expense_claims", "fiscal_retention"], legal_basis="contract",
                       source="employer", controller="employer", controller_employer_id=employer.id,
                       content={"amount": f"{10 + i}.50", "iban": "NL91ABNA0417164300"}, collected_at=settled)
              for i in range(claims)],
            *[RecordIn(category="content", purposes=["community"], legal_basis="legitimate_interest", source="direct",
                       content={"post": f"bericht {i}"}) for i in range(extra)],
        ]
        vault.add_records(person.id, records)
        kluis.gate(session, "test").add_relation(person.id, "employment", employer_id=employer.id)
        kluis.gate(session, "test").add_relation(person.id, "account")
        kluis.consents(session, "test").give(person.id, "marketing_email", method="form",
                                             notice_text="Ja, stuur mij de nieuwsbrief", lang="nl")
        Marketing(session, kluis, "test").record_click(person.id, "fietsen")
        return person.id, employer.id


def records_of(kluis, person_id):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(Record).where(Record.person_id == person_id)
                                    .order_by(Record.category, Record.id)))


def readable(kluis, person_id):
    """Every record of the person opened with the key the key store holds for them now."""
    with kluis.db.sessions() as session:
        keys = kluis.keystore.data_keys(session, [person_id])
        return [open_sealed(keys[person_id], r.person_id, r.id, r.category, r.ciphertext)
                for r in records_of(kluis, person_id)]


def identifier_count(kluis, person_id):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Identifier).where(Identifier.person_id == person_id))

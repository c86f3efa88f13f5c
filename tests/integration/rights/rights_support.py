"""Shared by the rights tests: a person (optionally with data held for an employer) and the outbox drain.
The tests send mail over a real SMTP server on loopback (the demo's catcher)."""

from __future__ import annotations

import pytest

from kluis.disclosures.models import Disclosure
from kluis.kit.ids import new_id
from kluis.mail.catcher import start_catcher
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.vault.service import add_employer
from kluis.worker import drain, pollers


def catcher_fixture():
    handle = start_catcher(port=0)
    yield handle
    handle.stop()


def mail_settings(settings, catcher):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": catcher.port,
                                       "base_url": "https://kluis.benvitaal.test"})


# The fixtures of a test module that sends over the catcher: ``catcher, settings = rights_support.catcher,
# rights_support.settings`` in the module (a conftest would send every test's mail there).
@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def new_person(kluis, email="vrager@example.nl", employer_held=False):
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        employer = add_employer(session, kluis.clock, "test", "Werkgever BV") if employer_held else None
        person = vault.create_person(PersonIn(
            subject_types=["employee"] if employer else ["lead"], employer_id=employer.id if employer else None,
            identifiers=[IdentifierIn(kind="email", value=email)]))
        if employer:
            vault.add_records(person.id, [RecordIn(
                category="financial", purposes=["expense_claims"], legal_basis="contract", source="employer",
                controller="employer", controller_employer_id=employer.id, content={"amount": "12.50"})])
        return person.id, (employer.id if employer else None)


def send_all(kluis):
    return drain(kluis, pollers())


def log_disclosures(kluis, person_id, parties, purpose="accounts", reference="REF"):
    """Disclosures of the person's data as a service logs them (``{party: [categories]}``): the log that decides
    who is told of a correction, an erasure or a restriction (Art. 19). Written directly: the tests of the log's
    own checks are in tests/integration/test_disclosures.py."""
    with kluis.db.transaction() as session:
        now = kluis.clock.now()
        rows = [Disclosure(id=new_id(), person_id=person_id, party=party, categories=sorted(categories),
                           purpose=purpose, at=now, reference=f"{reference}-{i}", recorded_by="test", recorded_at=now)
                for i, (party, categories) in enumerate(parties.items(), start=1)]
        session.add_all(rows)
        return {row.party: row.id for row in rows}

"""Employers as controllers (R-DSR-8): a request about data benVitaal holds for an employer is mailed to the
employer's privacy contact (the request's reference, never the person's name or address), the person is told which
employer and how to reach it, benVitaal's own data is packaged at once, and the employer's instruction is sealed.
An employer without a contact holds nothing up silently. Real SMTP on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from tests.helpers import api_key
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.audit.models import AuditEvent
from kluis.kit.errors import Conflict, Invalid
from kluis.kit.i18n import day
from kluis.rights.models import DataSubjectRequest
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.vault import employers
from kluis.vault.models import Employer
from kluis.vault.schemas import RecordIn

CONTACT = "privacy@werkgever.example.nl"
PERSON_EMAIL = "vrager@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def set_contact(kluis, employer_id, contact=CONTACT, reference="DV-2025-014"):
    with kluis.db.transaction() as session:
        employers.set_terms(session, kluis.clock, "staff:dpo", employer_id, employers.EmployerTerms(
            contact, reference, date(2025, 1, 6), date(2027, 12, 31)))
        return Rights(session, kluis, "staff:dpo").forward_waiting(employer_id)


def person_with_own_data(kluis):
    """An employee with a claim held for the employer and benVitaal's own account record."""
    person_id, employer_id = new_person(kluis, employer_held=True)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
            content={"name": "Joep Hermans"})])
    return person_id, employer_id


def ask(kluis, person_id, kind="access", lang="nl"):
    with kluis.db.transaction() as session:
        return Rights(session, kluis, "person").receive_from_account(person_id, kind, lang).request.id


def request_of(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id)


def audit_details(kluis):
    with kluis.db.sessions() as session:
        return [(e.action, e.details) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_r_dsr_8_the_employer_is_mailed_the_person_told_and_own_data_packaged_at_once(kluis, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    set_contact(kluis, employer_id)
    request_id = ask(kluis, person_id)
    send_all(kluis)
    [to_employer] = [m for m in catcher.messages if m.to == (CONTACT,)]
    found = request_of(kluis, request_id)
    reference = short_reference(request_id)
    assert reference in to_employer.subject and day(found.deadline_on, "nl") in to_employer.text  # 25 dec 2026
    assert "inzage" in to_employer.text and "DV-2025-014" in to_employer.text  # what was asked, under which agreement
    # pseudonymous: the request's reference, never the person's name, address or id
    assert PERSON_EMAIL not in to_employer.text and "Joep" not in to_employer.text and str(person_id) not in \
        to_employer.text
    [told] = [m for m in catcher.messages if m.to == (PERSON_EMAIL,) and "werkgever" in m.subject]
    assert "Werkgever BV" in told.text and CONTACT in told.text and "meteen" in told.text
    assert found.employer_mailed_at is not None and found.processor_role
    # benVitaal's own data went out at once: the package holds the account record, not the employer's claim.
    made = [d for a, d in audit_details(kluis) if a == "rights.package_made"]
    assert made and made[-1]["counts"] == {"basic": 1}
    assert found.state == "in_progress"  # the employer's part is still to come
    assert any(m.to == (PERSON_EMAIL,) and "klaar" in m.text.lower() for m in catcher.messages)


def test_r_dsr_8_after_the_instruction_the_whole_package_is_built_and_the_request_closes(kluis, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    set_contact(kluis, employer_id)
    request_id = ask(kluis, person_id)
    send_all(kluis)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        rights.record_employer_instruction(request_id, "Geef alle declaraties van deze medewerker.")
        rights.build_package(request_id)
    send_all(kluis)
    made = [d for a, d in audit_details(kluis) if a == "rights.package_made"]
    assert made[-1]["counts"] == {"basic": 1, "financial": 1}
    assert request_of(kluis, request_id).state == "done"


def test_r_dsr_8_the_instruction_is_sealed_names_who_recorded_it_and_is_audited_with_ids_only(kluis, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    set_contact(kluis, employer_id)
    request_id = ask(kluis, person_id, kind="erasure")
    text = "Verwijderen na de laatste salarisrun van maart"
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, "   ", "erase")
    with pytest.raises(Invalid) as undecided, kluis.db.transaction() as session:  # an erasure needs the decision
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, text)
    assert undecided.value.code == "decision_required"
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, text, "erase")
    with kluis.db.engine.connect() as conn:
        raw = repr(conn.exec_driver_sql("SELECT * FROM data_subject_request").fetchall())
        events = repr(conn.exec_driver_sql("SELECT * FROM audit_event").fetchall())
    assert "salarisrun" not in raw and "salarisrun" not in events
    found = request_of(kluis, request_id)
    assert found.instruction_by == "staff:dpo" and found.instruction_at is not None
    with kluis.db.sessions() as session:
        assert Rights(session, kluis, "test").instruction_of(found) == text
    assert ("request.instruction_recorded", {"type": "erasure", "state": found.state,
                                             "employer_id": str(employer_id), "decision": "erase"}
            ) in audit_details(kluis)


def test_r_dsr_8_without_a_contact_the_person_is_told_the_dpo_sees_it_and_a_contact_forwards_it(
        client, kluis, clock, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    request_id = ask(kluis, person_id, lang="en")
    send_all(kluis)
    [told] = [m for m in catcher.messages if m.to == (PERSON_EMAIL,) and "employer" in m.subject]
    assert "Werkgever BV" in told.text and "do not have your employer's privacy contact yet" in told.text
    assert request_of(kluis, request_id).employer_mailed_at is None
    signed_in(client, kluis, clock, "dpo")
    listing = client.get("/console/employers")
    assert short_reference(request_id) in listing.text and "needs a contact" in listing.text
    path = f"/console/employers/{employer_id}"
    bad = client.post(path, data={"csrf": csrf(client, path), "privacy_contact": "not an address"})
    assert bad.status_code == 422 and "privacy_contact" in bad.text
    with kluis.db.sessions() as session:
        assert session.get(Employer, employer_id).privacy_contact is None  # nothing written
    saved = client.post(path, data={"csrf": csrf(client, path), "privacy_contact": CONTACT,
                                    "agreement_reference": "DV-7", "agreement_signed_on": "2025-03-01",
                                    "agreement_ends_on": ""})
    assert saved.status_code == 200 and CONTACT in saved.text and "Requests waiting" not in saved.text
    send_all(kluis)
    [to_employer] = [m for m in catcher.messages if m.to == (CONTACT,)]
    assert short_reference(request_id) in to_employer.text
    assert request_of(kluis, request_id).employer_mailed_at is not None
    assert short_reference(request_id) not in client.get("/console/employers").text
    # the contact is company data, but it is kept out of the audit chain
    assert CONTACT not in json.dumps([d for _, d in audit_details(kluis)])


def test_r_dsr_8_employer_terms_by_api_refuse_bad_input_and_forward_waiting_requests(client, kluis, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    request_id = ask(kluis, person_id)
    auth = api_key(kluis, ["accounts"], service="crm")
    path = f"/api/v1/employers/{employer_id}/terms"
    ends_first = client.put(path, headers=auth, json={"privacy_contact": CONTACT, "agreement_reference": "DV-9",
                                                      "agreement_signed_on": "2025-06-01",
                                                      "agreement_ends_on": "2025-05-01"})
    assert ends_first.status_code == 422 and ends_first.json()["code"] == "employer_invalid"
    assert {p["path"] for p in ends_first.json()["errors"]} == {"agreement_ends_on"}
    no_date = client.put(path, headers=auth, json={"agreement_reference": "DV-9"})
    assert no_date.status_code == 422
    assert client.get(f"/api/v1/employers/{employer_id}", headers=auth).json()["has_privacy_contact"] is False
    done = client.put(path, headers=auth, json={"privacy_contact": CONTACT, "agreement_reference": "DV-9",
                                                "agreement_signed_on": "2025-06-01"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["forwarded"] == 1 and body["has_privacy_contact"] and CONTACT not in done.text
    send_all(kluis)
    assert any(m.to == (CONTACT,) and short_reference(request_id) in m.text for m in catcher.messages)
    assert client.put(f"/api/v1/employers/{person_id}/terms", headers=auth, json={}).status_code == 404


def test_r_dsr_8_a_rectification_corrects_own_records_at_once_and_the_employers_after_its_instruction(
        kluis, catcher):
    person_id, employer_id = person_with_own_data(kluis)
    set_contact(kluis, employer_id)
    request_id = ask(kluis, person_id, kind="rectification")
    with kluis.db.sessions() as session:
        records = {r.category: r.id for r in kluis.vault(session, "test").records_of(person_id)}
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:1").rectify(request_id, records["basic"], {"name": "Joep Hermans-Smeets"})
    with pytest.raises(Conflict) as waiting, kluis.db.transaction() as session:
        Rights(session, kluis, "staff:1").rectify(request_id, records["financial"], {"expense_claims": "13.50"})
    assert waiting.value.code == "instruction_required"
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:1")
        rights.record_employer_instruction(request_id, "Bedrag corrigeren naar 13,50")
        rights.rectify(request_id, records["financial"], {"expense_claims": "13.50"})

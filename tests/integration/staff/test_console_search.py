"""Finding a person in the console (issue 19 §2, R-VLT-2, R-VLT-3, R-GATE-2): by e-mail, phone or employee
number through the blind index, audited with ids only, never the value searched."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kluis.audit.models import AuditEvent
from kluis.vault.schemas import IdentifierIn, PersonIn
from kluis.vault.service import add_employer
from kluis.wiring import Kluis

EMAIL = "Marieke.Visser@Klant-Voorbeeld.nl"
NUMBER = "e-4711"


def _person(kluis: Kluis) -> tuple[str, str]:
    with kluis.db.transaction() as session:
        employer = add_employer(session, kluis.clock, "test", "Bouwbedrijf Noord")
        add_employer(session, kluis.clock, "test", "Zorggroep Zuid")
        person = kluis.vault(session, actor="test").create_person(PersonIn(
            subject_types=["employee"], employer_id=employer.id,
            identifiers=[IdentifierIn(kind="email", value=EMAIL), IdentifierIn(kind="phone", value="06 1234 5678"),
                         IdentifierIn(kind="employee_number", value=NUMBER)]))
        return str(person.id), str(employer.id)


def _searches(kluis: Kluis) -> list[AuditEvent]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "person.searched")
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


@pytest.mark.parametrize(("typed", "kind", "matched"), [
    ("marieke.visser@klant-voorbeeld.nl", "", "e-mail address"),
    ("+31 6 12345678", "", "phone number"),
    ("E-4711", "", "employee number"),
    ("0612345678", "phone", "phone number"),
    ("E-4711", "employee_number", "employee number"),
])
def test_r_vlt_3_issue_19_search_finds_by_each_identifier_kind_and_audits_without_the_value(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable,
        typed: str, kind: str, matched: str) -> None:
    person_id, _ = _person(kluis)
    sign_in(add_member("support"))
    page = client.get("/console/people", params={"q": typed, "kind": kind})
    assert page.status_code == 200
    assert f'href="/console/people/{person_id}"' in page.text and f"<td>{matched}</td>" in page.text
    event = _searches(kluis)[-1]
    assert event.object_ids == [person_id] and event.details["found"] == 1
    stored = json.dumps(event.details).lower()
    for secret in ("marieke", "4711", "612345678"):
        assert secret not in stored


def test_r_vlt_3_issue_19_search_says_no_one_found_and_audits_it(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    _person(kluis)
    sign_in(add_member("dpo"))
    page = client.get("/console/people", params={"q": "iemand.anders@klant-voorbeeld.nl"},
                      headers={"accept-language": "nl"})
    assert page.status_code == 200 and "Niemand gevonden met deze gegevens." in page.text
    assert "/console/people/" not in page.text.split("<main", 1)[1]
    event = _searches(kluis)[-1]
    assert event.object_ids == [] and event.details == {"via": "console", "kinds": ["email"], "found": 0}


def test_r_vlt_3_issue_19_a_shredded_person_is_not_found(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    person_id, _ = _person(kluis)
    with kluis.db.transaction() as session:
        kluis.vault(session, actor="test").shred([__import__("uuid").UUID(person_id)], "test")
    sign_in(add_member("dpo"))
    assert "No one found" in client.get("/console/people", params={"q": EMAIL}).text


@pytest.mark.parametrize("role", ["auditor", "marketing"])
def test_r_gate_2_issue_19_a_role_without_people_read_gets_403_from_search(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable, role: str) -> None:
    _person(kluis)
    sign_in(add_member(role))
    page = client.get("/console/people", params={"q": EMAIL})
    assert page.status_code == 403 and "/console/people/" not in page.text
    assert _searches(kluis) == []


@pytest.mark.parametrize(("params", "message"), [
    ({"q": "geen-adres@", "kind": "email"}, "This is not a valid e-mail address."),
    ({"q": "12", "kind": "phone"}, "This is not a valid phone number."),
    ({"q": EMAIL, "kind": "bsn"}, "Search by e-mail address, phone number or employee number."),
    ({"q": "x" * 400}, "Type at most 320 characters."),
])
def test_issue_19_bad_search_input_is_a_clear_error_and_writes_nothing(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable,
        params: dict[str, str], message: str) -> None:
    sign_in(add_member("dpo"))
    page = client.get("/console/people", params=params)
    assert page.status_code == 422 and message in page.text
    assert _searches(kluis) == []

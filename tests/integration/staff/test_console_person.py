"""The console's person page (issue 19 §2; R-VLT-3, R-CONS-1): every record's
provenance, the gate's decision and reason per purpose, holds, requests, disclosures and the timeline; the view is
audited with ids only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.integration.rights.rights_support import log_disclosures, new_person

from kluis.audit.models import AuditEvent
from kluis.kit.statements import statements_run
from kluis.retention import holds
from kluis.rights.service import Rights
from kluis.vault.schemas import RecordIn
from kluis.wiring import Kluis

NOTICE = "Yes, send me benVitaal's newsletter."


def _row(html: str, first_cell: str) -> str:
    found = re.search(rf"<tr><(?:td|th scope=\"row\")>{re.escape(first_cell)}</(?:td|th)>(.*?)</tr>", html, re.S)
    assert found, f"no row for {first_cell}"
    return found.group(1)


def _person_with_history(kluis: Kluis) -> str:
    person_id, _employer = new_person(kluis, email="inge.smit@example.nl", employer_held=True)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["marketing_email"], legal_basis="consent", source="direct",
            controller="benvitaal", content={"first_name": "Inge"})])
        consents = kluis.consents(session, "test")
        consents.give(person_id, "marketing_email", method="form", notice_text=NOTICE, lang="en")
        consents.withdraw(person_id, "marketing_email", method="unsubscribe_link")
        Rights(session, kluis, "test").register_by_staff(
            "access", kluis.clock.now() - timedelta(days=2), "Brief 2026-11", person_id=person_id,
            verification="checked by phone with the employer")
        holds.place(session, kluis.clock, kluis.policy, "staff:test", scope="person", reason="litigation",
                    person_id=person_id, reference="Zaak 2026-17")
    log_disclosures(kluis, person_id, {"recipient:accountant": ["financial"]}, purpose="accounts")
    return str(person_id)


def test_r_vlt_3_issue_19_person_page_shows_provenance_gate_reasons_and_timeline(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    person_id = _person_with_history(kluis)
    sign_in(add_member("support"))
    html = client.get(f"/console/people/{person_id}").text
    financial = _row(html, "financial")
    assert "expense_claims" in financial and "<td>Werkgever BV</td>" in financial  # the employer is controller
    basic = _row(html, "basic")
    assert "marketing_email" in basic and "<td>benVitaal</td>" in basic and "<td>direct</td>" in basic
    assert "Last activity" in html and "Due for erasure" in html
    marketing = _row(html, "marketing_email")
    assert "refused" in marketing and "refused: consent withdrawn" in marketing
    assert "<code>consent_withdrawn</code>" in marketing
    assert "litigation" in _row(html, "person") and "Zaak 2026-17" in html
    assert "checked by phone" not in html and 'href="/console/requests/' in html  # the request, linked
    assert "<td>financial</td><td>accounts</td>" in _row(html, "recipient:accountant")
    timeline = html.split('id="timeline-title"', 1)[1]
    for moment in ("Entered the vault", "Record collected: financial, from employer, for Werkgever BV",
                   "Consent given for marketing_email (form)",
                   "Consent withdrawn for marketing_email (unsubscribe_link)", "Request received: access",
                   "Disclosed to recipient:accountant for accounts: financial", "Legal hold placed: litigation"):
        assert moment in timeline, moment
    with kluis.db.sessions() as session:
        viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "person.viewed")
                                 .order_by(AuditEvent.seq)).one()
    assert viewed.object_ids == [person_id] and "inge" not in json.dumps(viewed.details).lower()


def test_r_cons_1_issue_19_person_page_in_dutch_names_the_gate_reason(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    person_id = _person_with_history(kluis)
    sign_in(add_member("dpo"))
    html = client.get(f"/console/people/{person_id}", headers={"accept-language": "nl"}).text
    assert "geweigerd: toestemming ingetrokken" in _row(html, "marketing_email")
    assert "Tijdlijn" in html and "Opgenomen in de kluis" in html


def _person_with_records(kluis: Kluis, records: int, events: int) -> str:
    """A person with ``records`` records (every third held for an employer) and ``events`` of each kind of
    history: consents given and withdrawn, requests, disclosures, legal holds."""
    person_id, employer = new_person(kluis, email=f"geschiedenis{records}@example.nl", employer_held=True)
    with kluis.db.transaction() as session:
        kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["marketing_email"], legal_basis="consent",
            source="direct", controller="benvitaal", content={"n": n}) for n in range(records - 1)])
        consents = kluis.consents(session, "test")
        rights = Rights(session, kluis, "test")
        for n in range(events):
            consents.give(person_id, "marketing_email", method="form", notice_text=NOTICE, lang="en")
            consents.withdraw(person_id, "marketing_email", method="unsubscribe_link")
            rights.register_by_staff(("access", "portability", "rectification")[n % 3],
                                     kluis.clock.now() - timedelta(days=n + 1), f"Brief {n}", person_id=person_id,
                                     verification="checked by phone")
            holds.place(session, kluis.clock, kluis.policy, "staff:test", scope="person", reason="litigation",
                        person_id=person_id, reference=f"Zaak {records}-{n}")
        holds.place(session, kluis.clock, kluis.policy, "staff:test", scope="employer", reason="tax_audit",
                    employer_id=employer, reference=f"Controle {records}")
    log_disclosures(kluis, person_id, {f"recipient:party{n}": ["financial"] for n in range(events)})
    return str(person_id)


def test_issue_18_6_person_page_statements_do_not_grow_with_the_history(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    """Issue 18 §6, issue 19 §2: the page reads each kind of thing held about the person in one statement,
    however much there is (no query per record, consent, request or hold): a person with 3 records and one of
    everything costs as many statements as one with 30 records and five of everything."""
    small, large = _person_with_records(kluis, 3, 1), _person_with_records(kluis, 30, 5)
    sign_in(add_member("support"))
    pages = {}
    assert client.get(f"/console/people/{small}").status_code == 200  # the policy and the session are read once
    with statements_run(kluis.db.engine, kluis.db.key_engine) as statements:
        for person in (small, large):
            statements.clear()
            page = client.get(f"/console/people/{person}")
            assert page.status_code == 200
            pages[person] = (len(statements), page.text)
    assert pages[small][1].count("Record collected") == 3 and pages[large][1].count("Record collected") == 30
    assert pages[large][1].count("Legal hold placed") == 6 and pages[large][1].count("Request received") == 5
    assert pages[small][0] == pages[large][0], (pages[small][0], pages[large][0])
    assert pages[large][0] <= 16, pages[large][0]

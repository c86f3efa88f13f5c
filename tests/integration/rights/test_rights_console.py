"""Staff handle requests in the console (R-DSR-1, R-DSR-2, R-DSR-8): register one that came by e-mail with
a past receipt date, see it overdue, verify it another way, extend, refuse; roles and CSRF are checked."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent
from kluis.rights.models import DataSubjectRequest
from kluis.staff import service as staff_service

PASSWORD = "Stevige-Wachtzin-2026"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def signed_in(client, kluis, clock, role):
    email = f"{role}@benvitaal.nl"
    with kluis.db.transaction() as session:
        enrolment = staff_service.add_staff(session, clock, kluis.keys, email, role, PASSWORD)
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(enrolment.totp_secret).at(clock.now())},
                       follow_redirects=False)
    assert done.status_code == 303, done.text


def csrf(client, path="/console/requests/new"):
    return CSRF.search(client.get(path).text)[1]


def test_r_dsr_1_staff_register_past_request_overdue_then_verify_and_refuse(client, kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    signed_in(client, kluis, clock, "support")
    received = (clock.now() - timedelta(days=45)).date()
    made = client.post("/console/requests", data={
        "csrf": csrf(client), "type": "erasure", "received_on": received.isoformat(), "received_time": "16:30",
        "reference": "DPO-mail 2026-0815"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    listing = client.get("/console/requests")
    assert "DPO-mail 2026-0815" in listing.text and "OVERDUE" in listing.text
    detail_path = made.headers["location"]
    verified = client.post(detail_path + "/verify", data={
        "csrf": csrf(client, detail_path), "person_id": str(person_id), "note": "checked by phone with the employer"})
    assert verified.status_code == 200 and "by staff: checked by phone with the employer" in verified.text
    late = client.post(detail_path + "/extend", data={"csrf": csrf(client, detail_path), "reason": "busy"})
    assert late.status_code == 409 and "first month has passed" in late.text
    refused = client.post(detail_path + "/refuse", data={"csrf": csrf(client, detail_path),
                                                         "reason": "Manifestly unfounded."})
    assert refused.status_code == 200 and "Manifestly unfounded." in refused.text
    with kluis.db.sessions() as session:
        request = session.scalars(select(DataSubjectRequest)).one()
        assert (request.channel, request.state, request.person_id) == ("staff", "refused", person_id)
        assert request.received_at.date() == received
        actors = {e.actor for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("request.%"))
                                                   .order_by(AuditEvent.seq))}
    assert all(a.startswith("staff:") for a in actors)
    send_all(kluis)
    assert "Autoriteit Persoonsgegevens" in catcher.messages[-1].text


def test_r_dsr_2_staff_extend_within_the_first_month_and_step_through(client, kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    signed_in(client, kluis, clock, "dpo")
    made = client.post("/console/requests", data={
        "csrf": csrf(client), "type": "access", "received_on": clock.now().date().isoformat(),
        "reference": "brief 12", "person_id": str(person_id), "verification": "copy of ID seen", "lang": "en"},
        follow_redirects=False)
    path = made.headers["location"]
    for action in ("start", "wait", "start"):
        assert client.post(f"{path}/{action}", data={"csrf": csrf(client, path)}).status_code == 200
    extended = client.post(f"{path}/extend", data={"csrf": csrf(client, path), "reason": "Many systems involved."})
    assert extended.status_code == 200 and "Many systems involved." in extended.text and "2027-02-25" in extended.text
    assert client.post(f"{path}/complete", data={"csrf": csrf(client, path)}).status_code == 200
    again = client.post(f"{path}/start", data={"csrf": csrf(client, path)})
    assert again.status_code == 409 and "cannot become" in again.text
    send_all(kluis)
    titles = [m.subject for m in catcher.messages]
    assert any("We need more time" in t for t in titles) and any("has been handled" in t for t in titles)


def test_r_dsr_8_employer_instruction_recorded_in_the_console(client, kluis, clock):
    person_id, _ = new_person(kluis, employer_held=True)
    signed_in(client, kluis, clock, "support")
    made = client.post("/console/requests", data={
        "csrf": csrf(client), "type": "erasure", "received_on": clock.now().date().isoformat(),
        "reference": "mail 7", "person_id": str(person_id), "verification": "via employer HR"},
        follow_redirects=False)
    path = made.headers["location"]
    assert "Forwarded to employer" in client.get(path).text
    # On an erasure the form asks whether the employer's data goes or stays; without that, nothing is recorded.
    undecided = client.post(f"{path}/instruction", data={"csrf": csrf(client, path), "reason": "Keep fiscal records."})
    assert undecided.status_code == 422 and "erased or kept" in undecided.text
    done = client.post(f"{path}/instruction", data={"csrf": csrf(client, path), "reason": "Keep fiscal records.",
                                                    "decision": "keep"})
    assert done.status_code == 200 and "Keep fiscal records." in done.text and "Decision: keep" in done.text


def test_requests_console_needs_the_permission_and_a_valid_form(client, kluis, clock):
    signed_in(client, kluis, clock, "marketing")
    assert client.get("/console/requests").status_code == 403
    client.cookies.clear()
    assert client.get("/console/requests", follow_redirects=False).status_code == 303
    signed_in(client, kluis, clock, "support")
    forged = client.post("/console/requests", data={"csrf": "x" * 64, "type": "access", "received_on": "2026-11-01",
                                                    "reference": "x"})
    assert forged.status_code == 403
    future = client.post("/console/requests", data={"csrf": csrf(client), "type": "access",
                                                    "received_on": "2026-12-01", "reference": "x"})
    assert future.status_code == 422 and "future" in future.text

"""Staff handle complaints in the console (R-GOV-2): register one that came by letter with its real receipt
time, confidential reading (DPO and the assigned handler only, each read audited; support sees that it exists;
an auditor sees counts), assignment, the written answer mailed with the AP's address, and reminders."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select
from tests.helpers import sealed_log
from tests.integration.complaints.complaint_support import add_staff, csrf, log_in, nothing_holds, sign_in, stored
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent

TEXT = "Per brief: mijn verzuimgegevens zijn naar mijn leidinggevende gestuurd"
ANSWER = "We hebben uw klacht onderzocht en de toegang van de leidinggevende ingetrokken."


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def register(client, person_id=None, received_on="2026-11-20", received_time="16:30", text=TEXT):
    return client.post("/console/complaints", data={
        "csrf": csrf(client, "/console/complaints/new"), "text": text, "received_on": received_on,
        "received_time": received_time, "reference": "Brief 2026-114", "person_id": str(person_id or ""),
        "lang": "nl"}, follow_redirects=False)


def reads(kluis):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.read")
                                    .order_by(AuditEvent.seq)))


def test_r_gov_2_staff_register_letter_then_dpo_assigns_handler_reads_and_answers(client, kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    handler_id, handler_email, handler_secret = add_staff(kluis, clock, "support")
    sign_in(client, kluis, clock, "support", email="balie@benvitaal.nl")
    made = register(client, person_id)
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    complaint = stored(kluis)[0][0]
    assert complaint.received_at.isoformat() == "2026-11-20T15:30:00+00:00"  # 16:30 in Amsterdam, winter time
    assert complaint.deadline_on.isoformat() == "2026-12-18"  # 28 Amsterdam calendar days after 20 November
    queue = client.get("/console/complaints")
    assert "Brief 2026-114" in queue.text and "2026-12-18" in queue.text
    support_view = client.get(path)
    assert support_view.status_code == 200 and TEXT not in support_view.text and "confidential" in support_view.text
    assert reads(kluis) == []
    refused = client.post(path + "/answer", data={"csrf": csrf(client, path), "text": ANSWER})
    assert refused.status_code == 403

    dpo_id = sign_in(client, kluis, clock, "dpo")
    assert TEXT in client.get(path).text and len(reads(kluis)) == 1
    assigned = client.post(path + "/assign", data={"csrf": csrf(client, path), "handler_id": str(handler_id)},
                           follow_redirects=False)
    assert assigned.status_code == 303

    sign_in(client, kluis, clock, "support", email="collega@benvitaal.nl")  # support, but not the handler
    assert TEXT not in client.get(path).text and len(reads(kluis)) == 2  # the DPO's page after assigning

    log_in(client, clock, handler_email, handler_secret)
    assert TEXT in client.get(path).text and len(reads(kluis)) == 3
    answered = client.post(path + "/answer", data={"csrf": csrf(client, path), "text": ANSWER})
    assert answered.status_code == 200 and "answered" in answered.text
    send_all(kluis)
    answer_mail = catcher.messages[-1]
    assert answer_mail.to == ("vrager@example.nl",) and ANSWER in answer_mail.text
    assert "Autoriteit Persoonsgegevens" in answer_mail.text and "Postbus 93374, 2509 AJ Den Haag" in answer_mail.text
    assert any("ontvangen" in m.subject for m in catcher.messages)  # the acknowledgement went at registration
    assert nothing_holds(kluis, TEXT) and nothing_holds(kluis, ANSWER)
    assert {f"staff:{dpo_id}", f"staff:{handler_id}"} <= {e.actor for e in reads(kluis)}
    assert sealed_log(kluis).ok


def test_r_gov_2_receipt_in_the_future_and_empty_text_write_nothing(client, kluis, clock):
    sign_in(client, kluis, clock, "dpo")
    future = register(client, received_on="2026-11-25", received_time="13:30")  # 12:30 UTC: half an hour ahead
    assert future.status_code == 422 and "future" in future.text
    empty = register(client, text="   ")
    assert empty.status_code == 422 and "cannot be empty" in empty.text
    forged = client.post("/console/complaints", data={"csrf": "0" * 64, "text": TEXT, "received_on": "2026-11-20",
                                                      "received_time": "09:00", "reference": "Brief"})
    assert forged.status_code == 403 and "expired" in forged.text
    assert stored(kluis) == ([], [])


def test_r_gov_2_unknown_or_malformed_id_is_not_found(client, kluis, clock):
    sign_in(client, kluis, clock, "dpo")
    assert client.get(f"/console/complaints/{uuid.uuid4()}").status_code == 404
    assert client.get("/console/complaints/not-an-id").status_code == 404
    gone = client.post(f"/console/complaints/{uuid.uuid4()}/answer",
                       data={"csrf": csrf(client, "/console/complaints"), "text": ANSWER})
    assert gone.status_code == 404


def test_r_gov_2_auditor_sees_counts_only(client, kluis, clock):
    sign_in(client, kluis, clock, "dpo")
    register(client)
    sign_in(client, kluis, clock, "auditor")
    page = client.get("/console/complaints")
    assert page.status_code == 200 and "Open</dt><dd>1" in page.text and "Brief 2026-114" not in page.text
    complaint = stored(kluis)[0][0]
    assert client.get(f"/console/complaints/{complaint.id}").status_code == 403


def test_r_gov_2_reminders_before_the_deadline_and_when_overdue_once_each(client, kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    sign_in(client, kluis, clock, "dpo")
    register(client, person_id, received_on="2026-11-25", received_time="09:00")  # due 2026-12-23
    send_all(kluis)
    before = len(catcher.messages)
    subjects = []
    for day in ("2026-12-16T10:00:00+00:00", "2026-12-21T10:00:00+00:00", "2026-12-23T22:59:00+00:00",
                "2026-12-23T23:00:00+00:00", "2026-12-24T10:00:00+00:00"):
        clock.set(datetime.fromisoformat(day))
        send_all(kluis)
        send_all(kluis)  # a second worker round sends nothing new
        subjects = [m.subject for m in catcher.messages[before:]]
    assert subjects == ["Kluis: complaint " + subjects[0].split()[2] + " is due in 7 days or less",
                        "Kluis: complaint " + subjects[0].split()[2] + " is due in 2 days or less",
                        "Kluis: complaint " + subjects[0].split()[2] + " is overdue"]
    assert all(m.to == ("dpo@benvitaal.nl",) for m in catcher.messages[before:])
    sign_in(client, kluis, clock, "dpo", email="dpo2@benvitaal.nl")  # the first session has long expired
    assert "OVERDUE" in client.get("/console/complaints").text

"""The request lifecycle against a real database and a real SMTP server (R-DSR-1, R-DSR-2, R-DSR-8)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent
from kluis.kit.errors import Conflict, Invalid
from kluis.mail.models import Outbox
from kluis.rights.models import DataSubjectRequest, VerificationCode
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.rights.tasks import ReminderPoller
from kluis.staff import service as staff_service


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def rights(kluis, session, actor="test"):
    return Rights(session, kluis, actor)


def code_in(message):
    found = re.search(r"^\s+(\d{6})\s*$", message.text, re.M)
    assert found, message.text
    return found.group(1)


def ask(kluis, email="vrager@example.nl", kind="access", lang="nl", scope=None):
    with kluis.db.transaction() as session:
        received = rights(kluis, session, "person").receive_public(kind, email, lang, scope)
        return received.request.id, received.token


def state(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id)


def actions(kluis, request_id):
    with kluis.db.sessions() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                if str(request_id) in e.object_ids]


def test_r_dsr_1_known_address_gets_a_code_and_verifies(kluis, catcher):
    person_id, _ = new_person(kluis)
    request_id, _ = ask(kluis)
    send_all(kluis)
    [message] = catcher.messages
    assert message.to == ("vrager@example.nl",)
    code = code_in(message)
    with kluis.db.transaction() as session:
        assert rights(kluis, session, "person").verify_code(request_id, code)
    found = state(kluis, request_id)
    assert (found.state, found.person_id, found.verified_by) == ("verified", person_id, "code")
    with kluis.db.sessions() as session:
        stored = session.scalars(select(VerificationCode)).one()
    assert code not in stored.digest and stored.used_at is not None
    assert actions(kluis, request_id) == ["request.received", "request.code_issued", "request.verified",
                                         "package.queued"]  # R-DSR-3: verified access queues its package
    send_all(kluis)
    assert any("Uw verzoek is bevestigd" in m.subject for m in catcher.messages)


def test_r_dsr_1_unknown_address_same_outcome_no_mail(kluis, catcher):
    new_person(kluis)
    request_id, token = ask(kluis, email="onbekend@example.nl")
    assert token
    with kluis.db.sessions() as session:  # the code's mail, written as for any address, went to nobody
        mails = session.scalars(select(Outbox)).all()
        assert [(m.state, m.person_id, m.sealed_to) for m in mails] == [("cancelled", None, None)]
        assert session.scalars(select(VerificationCode)).one().request_id == request_id
    send_all(kluis)
    assert catcher.messages == []
    with kluis.db.transaction() as session:
        assert not rights(kluis, session).verify_code(request_id, "123456")
    assert state(kluis, request_id).state == "received"


def test_r_dsr_1_wrong_code_expired_code_and_too_many_tries(kluis, catcher, clock):
    new_person(kluis)
    request_id, _ = ask(kluis)
    send_all(kluis)
    code = code_in(catcher.messages[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with kluis.db.transaction() as session:
            assert not rights(kluis, session).verify_code(request_id, wrong)
    with kluis.db.transaction() as session:  # the sixth try is refused even with the right code
        assert not rights(kluis, session).verify_code(request_id, code)
    assert state(kluis, request_id).state == "received"
    with kluis.db.transaction() as session:
        rights(kluis, session).request_code(request_id)
    send_all(kluis)
    fresh = code_in(catcher.messages[-1])
    clock.advance(timedelta(minutes=30))
    with kluis.db.transaction() as session:
        assert not rights(kluis, session).verify_code(request_id, fresh)
    with kluis.db.transaction() as session:
        rights(kluis, session).request_code(request_id)
    send_all(kluis)
    with kluis.db.transaction() as session:
        assert rights(kluis, session).verify_code(request_id, code_in(catcher.messages[-1]))
    assert state(kluis, request_id).state == "verified"


def test_r_dsr_1_at_most_three_codes_an_hour_for_known_and_unknown(kluis, clock):
    new_person(kluis)
    for email in ("vrager@example.nl", "onbekend@example.nl"):
        request_id, _ = ask(kluis, email=email)
        for _ in range(2):
            with kluis.db.transaction() as session:
                rights(kluis, session).request_code(request_id)
        with pytest.raises(Conflict) as refused, kluis.db.transaction() as session:
            rights(kluis, session).request_code(request_id)
        assert (refused.value.code, refused.value.status) == ("code_rate_limited", 429)
    clock.advance(timedelta(hours=1, seconds=1))
    with kluis.db.transaction() as session:
        rights(kluis, session).request_code(request_id)


def test_r_dsr_2_lifecycle_mails_at_each_step_and_refusal_names_the_authority(kluis, catcher):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request_id = rights(kluis, session, "key:x").receive_from_account(person_id, "erasure", "en").request.id
    with kluis.db.transaction() as session:
        service = rights(kluis, session)
        service.start(request_id)
        service.wait_on_person(request_id)
        service.start(request_id)
        service.refuse(request_id, "A legal obligation keeps these records.")
    send_all(kluis)
    subjects = [m.subject for m in catcher.messages]
    assert all(s.endswith(f"({short_reference(request_id)})") for s in subjects)
    titles = [s.split(": ", 1)[1].rsplit(" (", 1)[0] for s in subjects]
    working = "We are working on your request"
    assert titles == ["We have received your request", "Your request is confirmed", working,
                      "We need something from you", working, "We cannot carry out your request"]
    refusal = catcher.messages[-1]
    assert "A legal obligation keeps these records." in refusal.text
    assert "Autoriteit Persoonsgegevens" in refusal.text and "https://www.autoriteitpersoonsgegevens.nl" in refusal.text
    assert "https://kluis.benvitaal.test/privacy-centre/requests/" in refusal.text
    assert actions(kluis, request_id) == ["request.received", "request.verified", "request.in_progress",
                                          "request.waiting_on_person", "request.in_progress", "request.refused"]
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        rights(kluis, session).start(request_id)


def test_r_dsr_2_extension_tells_the_person_the_reasons_in_the_same_transaction(kluis, catcher, clock):
    person_id, _ = new_person(kluis)
    clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))
    with kluis.db.transaction() as session:
        request_id = rights(kluis, session).receive_from_account(person_id, "rectification", "nl").request.id
    assert state(kluis, request_id).deadline_on == date(2026, 12, 30)
    clock.set(datetime(2026, 12, 20, tzinfo=UTC))
    with kluis.db.transaction() as session:
        rights(kluis, session).extend(request_id, "Veel gegevens in verschillende systemen.")
    found = state(kluis, request_id)
    assert found.deadline_on == date(2027, 2, 28) and found.extended_at == clock.now()
    assert found.deadline_at == datetime(2027, 2, 28, 23, tzinfo=UTC)
    send_all(kluis)
    assert "Veel gegevens in verschillende systemen." in catcher.messages[-1].text
    assert "28 feb 2027" in catcher.messages[-1].text  # the new deadline, as a Dutch reader writes it
    with pytest.raises(Conflict, match="only once"), kluis.db.transaction() as session:
        rights(kluis, session).extend(request_id, "nog eens")


def test_r_dsr_2_extension_after_the_first_month_is_refused(kluis, clock):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request_id = rights(kluis, session).receive_from_account(person_id, "access", "nl").request.id
    clock.advance(timedelta(days=32))
    with pytest.raises(Conflict) as refused, kluis.db.transaction() as session:
        rights(kluis, session).extend(request_id, "te laat")
    assert refused.value.code == "extension_too_late"
    with kluis.db.sessions() as session:
        assert session.scalars(select(Outbox).where(Outbox.context["notice"].as_string() == "extended")).all() == []


def test_r_dsr_1_staff_register_with_past_receipt_then_verify_another_way(kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    received = clock.now() - timedelta(days=40)
    with kluis.db.transaction() as session:
        request = rights(kluis, session, "staff:1").register_by_staff("objection", received, "DPO-2026-117",
                                                                      scope="marketing")
        request_id = request.request.id
    with kluis.db.sessions() as session:
        listed = {x.request.id: x for x in rights(kluis, session).open_requests()}
    assert listed[request_id].overdue
    assert listed[request_id].request.staff_reference == "DPO-2026-117"
    assert listed[request_id].request.received_at == received
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        rights(kluis, session).record_verification(request_id, person_id, " ")
    with kluis.db.transaction() as session:
        rights(kluis, session, "staff:1").record_verification(request_id, person_id, "confirmed by phone via employer")
    found = state(kluis, request_id)
    assert (found.state, found.person_id, found.verified_by) == ("verified", person_id, "staff")
    with pytest.raises(Invalid) as future, kluis.db.transaction() as session:
        rights(kluis, session).register_by_staff("access", clock.now() + timedelta(hours=1), "X")
    assert future.value.code == "received_in_future"
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        rights(kluis, session).register_by_staff("objection", received, "X")  # no scope


def test_r_dsr_8_processor_data_forwarded_to_the_employer_and_the_person_told(kluis, catcher):
    person_id, employer_id = new_person(kluis, employer_held=True)
    with kluis.db.transaction() as session:
        request_id = rights(kluis, session).receive_from_account(person_id, "erasure", "nl").request.id
    found = state(kluis, request_id)
    assert found.processor_role and found.forwarded_employer_id == employer_id
    send_all(kluis)
    forwarded = catcher.messages[-1]
    assert "Uw verzoek gaat naar uw werkgever" in forwarded.subject and "Werkgever BV" in forwarded.text
    with kluis.db.transaction() as session:
        rights(kluis, session, "staff:1").record_employer_instruction(request_id, "Erase all claims after payroll.",
                                                                                 "erase")
    with kluis.db.sessions() as session:
        found = state(kluis, request_id)
        assert rights(kluis, session).instruction_of(found) == "Erase all claims after payroll."
        assert b"payroll" not in found.instruction_sealed and found.instruction_by == "staff:1"
    assert "request.forwarded" in actions(kluis, request_id)
    assert "request.instruction_recorded" in actions(kluis, request_id)


def test_r_dsr_8_instruction_only_for_forwarded_requests(kluis):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request_id = rights(kluis, session).receive_from_account(person_id, "access", "nl").request.id
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        rights(kluis, session).record_employer_instruction(request_id, "x")


def test_audit_and_outbox_hold_no_personal_values(kluis, catcher):
    new_person(kluis, email="geheim.adres@example.nl")
    ask(kluis, email="geheim.adres@example.nl")
    with kluis.db.sessions() as session:
        events = session.scalars(select(AuditEvent)).all()
        rows = session.scalars(select(Outbox)).all()
    text = repr([(e.details, e.object_ids) for e in events]) + repr([r.context for r in rows])
    assert "geheim" not in text and "@" not in text


def test_r_dsr_2_reminders_go_to_the_dpo_seven_and_two_days_before_once_each(kluis, catcher, clock):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        staff_service.add_staff(session, clock, kluis.keys, "dpo@benvitaal.nl", "dpo", "Stevige-Wachtzin-2026")
        staff_service.add_staff(session, clock, kluis.keys, "support@benvitaal.nl", "support", "Stevige-Wachtzin-2026")
        request_id = rights(kluis, session).receive_from_account(person_id, "rectification", "nl").request.id
    poller = ReminderPoller()
    assert poller.poll(kluis) == 0
    clock.set(datetime(2026, 12, 18, 12, tzinfo=UTC))  # deadline 25 December: 7 days left
    assert poller.poll(kluis) == 1
    assert poller.poll(kluis) == 0
    clock.set(datetime(2026, 12, 23, 12, tzinfo=UTC))
    assert poller.poll(kluis) == 1
    send_all(kluis)
    reminders = [m for m in catcher.messages if "Deadline of request" in m.subject]
    assert [m.to for m in reminders] == [("dpo@benvitaal.nl",), ("dpo@benvitaal.nl",)]
    assert f"/console/requests/{request_id}" in reminders[0].text
    assert state(kluis, request_id).reminders_sent == [7, 2]
    clock.set(datetime(2026, 12, 26, 12, tzinfo=UTC))
    with kluis.db.sessions() as session:
        [listed] = rights(kluis, session).open_requests()
    assert listed.overdue and listed.reminder_due is None

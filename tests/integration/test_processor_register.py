"""R-SHR-2: the processors register acted on. The DPOs are mailed 60 and 14 days before an agreement ends (once each,
through the outbox, whichever worker runs); the console lists the agreements with those ending within 60 days
highlighted; the sub-processors of a service are mailed to whoever asks in the privacy centre (NL/EN), with the
same page for every address and nothing kept of the address once the mail has gone. Real SMTP on loopback."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pyotp
import pytest
from sqlalchemy import select
from tests.forms import form_token
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, send_all

from kluis.audit.models import AuditEvent
from kluis.mail.models import Outbox
from kluis.policy.schemas import Agreement, Policy
from kluis.processors.models import AgreementReminder
from kluis.processors.service import send_reminders
from kluis.staff import service as staff_service

PASSWORD = "Stevige-Wachtzin-2026"
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def _staff(kluis, email, role="dpo"):
    with kluis.db.transaction() as session:
        return staff_service.add_staff(session, kluis.clock, kluis.keys, email, role, PASSWORD)


def _ending(policy: Policy, processor_id: str, ends: date, reference: str = "VWO-T-9") -> Policy:
    agreement = Agreement(reference=reference, signed=date(2024, 1, 1), ends=ends)
    return policy.model_copy(update={"processors": [p.model_copy(update={"agreement": agreement})
                                                    if p.id == processor_id else p for p in policy.processors]})


def _reminders(kluis):
    with kluis.db.sessions() as session:
        return sorted((r.processor, r.days_before) for r in session.scalars(select(AgreementReminder)))


def test_r_shr_2_every_dpo_is_mailed_60_and_14_days_before_an_agreement_ends_once_each(kluis, clock, catcher):
    _staff(kluis, "dpo.een@benvitaal.nl")
    _staff(kluis, "dpo.twee@benvitaal.nl")
    _staff(kluis, "support@benvitaal.nl", role="support")
    kluis.policy = _ending(kluis.policy, "hosting", date(2027, 3, 31))
    clock.set(datetime(2027, 1, 29, 22, 59, tzinfo=UTC))  # 29 January in Amsterdam: 61 days left
    send_all(kluis)
    assert catcher.messages == [] and _reminders(kluis) == []
    for at, before in ((datetime(2027, 1, 29, 23, 0, tzinfo=UTC), 60), (datetime(2027, 3, 17, 9, 0, tzinfo=UTC), 14)):
        clock.set(at)
        send_all(kluis)
        send_all(kluis)  # a second round sends nothing more
        assert len(catcher.messages) == 2, [m.subject for m in catcher.messages]
        assert {m.to[0] for m in catcher.messages} == {"dpo.een@benvitaal.nl", "dpo.twee@benvitaal.nl"}
        assert all("31 March 2027" in m.subject and f"in {before} days" in m.text for m in catcher.messages)
        assert "/console/processors" in catcher.messages[0].text
        catcher.clear()
    clock.set(datetime(2027, 4, 1, 9, 0, tzinfo=UTC))  # ended: no more reminders
    send_all(kluis)
    assert catcher.messages == [] and _reminders(kluis) == [("hosting", 14), ("hosting", 60)]
    with kluis.db.sessions() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "processor.agreement_reminded")
                                      .order_by(AuditEvent.seq)))
    # One event for each reminder, in whatever order the worker wrote them (one transaction, no order promised).
    assert sorted(e.details["days_before"] for e in events) == [14, 60] and all(e.details["staff"] == 2 for e in events)


def test_r_shr_2_an_agreement_entered_late_gets_the_nearest_reminder_only_and_a_renewal_starts_afresh(
        kluis, clock, catcher):
    _staff(kluis, "dpo@benvitaal.nl")
    kluis.policy = _ending(kluis.policy, "webinar_platform", date(2026, 12, 5))  # 10 days after the clock
    send_all(kluis)
    assert len(catcher.messages) == 1 and "in 10 days" in catcher.messages[0].text
    assert _reminders(kluis) == [("webinar_platform", 14)]
    catcher.clear()
    kluis.policy = _ending(kluis.policy, "webinar_platform", date(2027, 1, 20), reference="VWO-T-10")  # renewed
    send_all(kluis)
    assert len(catcher.messages) == 1 and "VWO-T-10" in catcher.messages[0].text and "in 56 days" in \
        catcher.messages[0].text


def test_r_shr_2_a_reminder_queued_before_a_renewal_is_cancelled(kluis, clock, catcher):
    _staff(kluis, "dpo@benvitaal.nl")
    kluis.policy = _ending(kluis.policy, "webinar_platform", date(2026, 12, 31))
    with kluis.db.transaction() as session:  # the poller's work, without the mail worker after it
        assert send_reminders(session, kluis, "worker") == 1
    kluis.policy = _ending(kluis.policy, "webinar_platform", date(2028, 12, 31), reference="VWO-T-11")
    send_all(kluis)
    assert catcher.messages == []
    with kluis.db.sessions() as session:
        assert [o.state for o in session.scalars(select(Outbox))] == ["cancelled"]


def _sign_in(client, kluis, clock, role):
    enrolment = _staff(kluis, f"{role}@benvitaal.nl", role=role)
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": f"{role}@benvitaal.nl", "password": PASSWORD,
                                               "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(enrolment.totp_secret).at(clock.now())},
                       follow_redirects=False)
    assert done.status_code == 303, done.text


def test_r_shr_2_the_console_lists_agreements_and_highlights_those_ending_within_60_days(client, kluis, clock):
    kluis.policy = _ending(kluis.policy, "email_delivery", date(2027, 1, 10))
    _sign_in(client, kluis, clock, "auditor")
    page = client.get("/console/processors")
    assert page.status_code == 200, page.text
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "1 agreement ends within 60 days" in text
    assert "VWO-T-9" in text and "(ends in 46 days)" in text and "2031-01-15" in text
    assert "VWO-2023-009" in text and "open-ended" in text and "(demo entry)" in text
    assert "EU model clauses (SCC), version 2021/914" in text
    client.cookies.clear()
    _sign_in(client, kluis, clock, "marketing")
    assert client.get("/console/processors").status_code == 403


def _ask(client, email, service, lang="nl"):
    return client.post("/privacy-centre/request", data={"type": "sub_processors", "email": email, "lang": lang,
                                                        "service": service, "scope": "",
                                                        "csrf": form_token(client)}, follow_redirects=False)


@pytest.mark.parametrize(("lang", "subject", "sub"), [
    ("nl", "De subverwerkers van benVitaal voor Verzenden van service- en marketingmails",
     "Mail Relay Inc.: Afleveren van e-mail buiten de EER; Verenigde Staten; modelclausules van de EU (SCC), versie "
     "2021/914"),
    ("en", "benVitaal's sub-processors for Sending service and marketing e-mails",
     "Mail Relay Inc.: Delivering e-mail outside the EEA; United States; EU model clauses (SCC), version 2021/914"),
])
def test_r_shr_2_the_sub_processors_of_a_service_are_mailed_to_the_address_given(client, kluis, catcher, lang,
                                                                                 subject, sub):
    kluis.policy = kluis.policy.model_copy(update={"processors": [p.model_copy(update={"demo": False})
                                                                  for p in kluis.policy.processors]})
    asked = _ask(client, "vrager@example.nl", "email_delivery", lang)
    assert asked.status_code == 200 and "vrager@" not in asked.text
    with kluis.db.sessions() as session:
        [row] = session.scalars(select(Outbox))
        assert row.person_id is None and row.sealed_to is not None and b"vrager" not in row.sealed_to
        assert row.context == {"service": "email_delivery"}
    send_all(kluis)
    [message] = catcher.messages
    assert list(message.to) == ["vrager@example.nl"] and " ".join(message.subject.split()) == subject
    assert sub in message.text and "Mailverzend Europa B.V." in message.text and "Datacenter Zuid" not in message.text
    with kluis.db.sessions() as session:
        row = session.scalars(select(Outbox)).one()
        assert row.state == "sent" and row.sealed_to is None  # nothing of the address is kept
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "processor.sub_processors_requested").order_by(AuditEvent.seq)).one()
    assert event.details == {"service": "email_delivery", "lang": lang} and "vrager" not in str(event.details)


def test_r_shr_2_a_demo_register_is_not_mailed_as_if_real(client, kluis, catcher):
    assert _ask(client, "vrager@example.nl", "all", "en").status_code == 200
    send_all(kluis)
    [message] = catcher.messages
    assert "still holds example data" in message.text and "Mailverzend" not in message.text


def test_r_shr_2_a_bad_request_for_sub_processors_writes_nothing_and_is_limited_as_any_request(client, kluis):
    bad = _ask(client, "geen-adres", "email_delivery")
    assert bad.status_code == 422 and 'name="service"' in bad.text
    assert _ask(client, "vrager@example.nl", "no_such_service").status_code == 422
    with kluis.db.sessions() as session:
        assert list(session.scalars(select(Outbox))) == []
    answers = [_ask(client, "vrager@example.nl", "all").status_code for _ in range(kluis.settings.intake_per_address
                                                                                   + 1)]
    assert answers[-1] == 429 and set(answers[:-1]) == {200}
    forged = client.post("/privacy-centre/request", data={"type": "sub_processors", "email": "x@example.nl",
                                                          "service": "all", "csrf": "forged"})
    assert forged.status_code == 403

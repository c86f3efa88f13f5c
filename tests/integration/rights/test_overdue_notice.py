"""R-DSR-2: the DPOs are mailed at once when a request passes its deadline (Amsterdam calendar dates, month
ends, extended deadlines), once per deadline missed, over the real SMTP test server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent
from kluis.rights.models import DataSubjectRequest
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.rights.tasks import ReminderPoller
from kluis.staff import service as staff_service

PASSWORD = "Stevige-Wachtzin-2026"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def _staff(kluis, clock):
    with kluis.db.transaction() as session:
        staff_service.add_staff(session, clock, kluis.keys, "dpo@benvitaal.nl", "dpo", PASSWORD)
        staff_service.add_staff(session, clock, kluis.keys, "dpo2@benvitaal.nl", "dpo", PASSWORD)
        staff_service.add_staff(session, clock, kluis.keys, "support@benvitaal.nl", "support", PASSWORD)


def _overdue_mail(catcher):
    return [m for m in catcher.messages if "overdue" in m.subject]


@pytest.mark.parametrize(("year", "due"), [(2027, "2027-02-28"), (2028, "2028-02-29")])
def test_r_dsr_2_dpos_are_mailed_once_when_a_request_passes_its_month_end_deadline(kluis, catcher, clock, year,
                                                                                    due):
    _staff(kluis, clock)
    person_id, _ = new_person(kluis)
    clock.set(datetime(year, 1, 31, 9, tzinfo=UTC))  # 31 January, Amsterdam
    with kluis.db.transaction() as session:
        request_id = Rights(session, kluis, "test").receive_from_account(person_id, "rectification", "nl").request.id
    last_day = int(due[-2:])
    clock.set(datetime(year, 2, last_day, 22, 59, 59, tzinfo=UTC))  # 23:59:59 on the deadline day in Amsterdam
    send_all(kluis)
    assert _overdue_mail(catcher) == []
    clock.set(datetime(year, 2, last_day, 23, 0, tzinfo=UTC))  # midnight in Amsterdam: 1 March, one day late
    send_all(kluis)
    mails = _overdue_mail(catcher)
    assert sorted(m.to for m in mails) == [("dpo2@benvitaal.nl",), ("dpo@benvitaal.nl",)]
    reference = short_reference(request_id)
    for mail in mails:
        assert mail.subject == f"Kluis: request {reference} is overdue by 1 day"
        assert f"Answer was due by: {due}" in mail.text and "Late by: 1 calendar day " in mail.text
        assert f"/console/requests/{request_id}" in mail.text
        assert "vrager@example.nl" not in mail.text + mail.html
    clock.set(datetime(year, 3, 3, 12, tzinfo=UTC))  # ticks later: nobody is mailed again
    assert ReminderPoller().poll(kluis) == 0
    send_all(kluis)
    assert len(_overdue_mail(catcher)) == 2
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).overdue_notice_for.isoformat() == due
        [event] = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "request.overdue")
                                              .order_by(AuditEvent.seq))]
    assert event.details["days_late"] == 1 and event.details["staff"] == 2


def test_r_dsr_2_an_extended_request_is_overdue_only_after_its_extended_deadline_and_reminded_before_it(
        kluis, catcher, clock):
    _staff(kluis, clock)
    person_id, _ = new_person(kluis)
    clock.set(datetime(2027, 1, 31, 9, tzinfo=UTC))
    with kluis.db.transaction() as session:
        request_id = Rights(session, kluis, "test").receive_from_account(person_id, "erasure", "en").request.id
    clock.set(datetime(2027, 2, 26, 12, tzinfo=UTC))  # 2 days left of the first month: both reminders due
    send_all(kluis)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "test").extend(request_id, "Many systems to search")
    clock.set(datetime(2027, 3, 2, 12, tzinfo=UTC))  # past the first deadline, not the extended one
    send_all(kluis)
    assert _overdue_mail(catcher) == []
    clock.set(datetime(2027, 4, 24, 12, tzinfo=UTC))  # 7 days before 30 April: reminded again
    send_all(kluis)
    assert [m.subject for m in catcher.messages if "is near" in m.subject][-2:] == [
        f"Kluis: Deadline of request {short_reference(request_id)} is near"] * 2
    clock.set(datetime(2027, 5, 3, 8, tzinfo=UTC))  # 3 May in Amsterdam: three days late
    send_all(kluis)
    mails = _overdue_mail(catcher)
    assert len(mails) == 2 and "overdue by 3 days" in mails[0].subject
    assert "passed its extended deadline" in mails[0].text and "Answer was due by: 2027-04-30" in mails[0].text


def test_r_dsr_2_a_request_closed_in_time_or_before_the_mail_leaves_brings_no_overdue_mail(kluis, catcher, clock):
    _staff(kluis, clock)
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "test")
        done = rights.receive_from_account(person_id, "rectification", "nl").request.id
        late = rights.receive_from_account(person_id, "restriction", "nl").request.id
        rights.start(done)
        rights.complete(done)
    clock.set(datetime(2026, 12, 26, 12, tzinfo=UTC))  # deadline 25 December has passed
    assert ReminderPoller().poll(kluis) == 1  # only the open one
    with kluis.db.transaction() as session:
        Rights(session, kluis, "test").refuse(late, "Not a restriction ground")
    send_all(kluis)
    assert _overdue_mail(catcher) == []

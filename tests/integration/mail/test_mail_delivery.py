"""Mail through the transactional outbox (SPEC §9 Mail; R-CONS-2: administrative mail goes out)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from tests.helpers import sealed_log

from kluis.audit.models import AuditEvent
from kluis.kit.errors import ConfigurationError, Invalid
from kluis.mail import service
from kluis.mail.models import Outbox
from kluis.staff.service import add_staff

ADDRESS = "Jan.de.Vries@Example.NL"
STORED = ADDRESS.lower()


def test_r_cons_2_queued_mail_is_delivered_once_with_a_stable_message_id(kluis, settings, relay, desk):
    person = desk.add_person(ADDRESS)
    outbox_id = desk.queue(person, context={"notice": "request_received", "reference": "REQ-7Q2K"})

    assert desk.drain() == 1
    assert desk.drain() == 0, "a sent message is never claimed again"

    assert len(relay.received) == 1
    got = relay.received[0]
    assert got.to == [STORED]
    assert got.message_id == f"<{outbox_id}@{settings.mail_domain}>"
    assert got.message["To"] == STORED and "noreply@benvitaal.nl" in got.message["From"]
    assert got.message["Subject"] == "benVitaal: We hebben uw verzoek ontvangen"
    assert got.message["Auto-Submitted"] == "auto-generated"
    text_part = got.message.get_body(("plain",)).get_content()
    html_part = got.message.get_body(("html",)).get_content()
    assert "verzoek over uw persoonsgegevens" in text_part and "Kenmerk: REQ-7Q2K" in text_part
    assert "<strong>REQ-7Q2K</strong>" in html_part and 'lang="nl"' in html_part
    row = desk.row(outbox_id)
    assert (row.state, row.attempts, row.message_id, row.sent_at) == ("sent", 1, got.message_id, kluis.clock.now())


def test_r_cons_2_subject_and_parts_follow_the_language(relay, desk):
    person = desk.add_person(ADDRESS)
    desk.queue(person, lang="en", context={"notice": "password_changed"})
    desk.queue(person, lang="nl", context={"notice": "password_changed"})
    desk.drain()
    subjects = sorted(r.message["Subject"] for r in relay.received)
    assert subjects == ["benVitaal: Uw wachtwoord is gewijzigd", "benVitaal: Your password was changed"]
    english = next(r.message for r in relay.received if "Your" in r.message["Subject"])
    assert "Kind regards" in english.get_body(("plain",)).get_content()
    assert "/privacy?lang=en" in english.get_body(("html",)).get_content()


def test_r_cons_2_nothing_personal_in_the_outbox_or_the_audit_log(kluis, relay, desk):
    person = desk.add_person(ADDRESS)
    desk.queue(person)
    desk.drain()
    assert relay.received, "the mail went out"
    with kluis.db.sessions() as session:
        rows = session.execute(text("SELECT * FROM outbox")).mappings().all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("mail.%"))
                                 .order_by(AuditEvent.seq)).all()
    assert sealed_log(kluis).ok
    dumped = json.dumps([dict(r) for r in rows], default=str).lower()
    dumped += json.dumps([[e.action, e.object_ids, e.details] for e in events]).lower()
    for fragment in (STORED, "jan.de.vries", "example.nl"):
        assert fragment not in dumped
    assert [e.action for e in events] == ["mail.queued", "mail.sent"]
    assert events[0].details == {"template": "account_notice", "kind": "administrative", "lang": "nl",
                                 "person_id": str(person)}


def test_r_cons_2_rolling_back_the_business_transaction_queues_nothing(kluis, relay, desk):
    person = desk.add_person(ADDRESS)
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        service.enqueue(session, kluis.clock, template="account_notice", person_id=person,
                        context={"notice": "account_updated"}, actor="test")
        raise RuntimeError("the change that caused the mail failed")
    with kluis.db.sessions() as session:
        assert session.scalars(select(Outbox)).all() == []
        assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.queued")
                                   .order_by(AuditEvent.seq)).all()
    assert desk.drain() == 0 and relay.received == []


def test_r_cons_2_mail_to_a_staff_member_reads_the_address_from_the_staff_register(kluis, relay, desk):
    with kluis.db.transaction() as session:
        account = add_staff(session, kluis.clock, kluis.keys, "Privacy.Officer@benvitaal.nl", "dpo").account
    desk.queue(staff_id=account.id, lang="en", context={"notice": "account_created"})
    desk.drain()
    assert [r.to for r in relay.received] == [["privacy.officer@benvitaal.nl"]]


@pytest.mark.parametrize(("options", "code"), [
    ({"context": {"notice": "request_received", "note": "jan@example.nl"}}, "context_personal"),
    ({"context": {"notice": "request_received", "note": "line one\nline two"}}, "context_personal"),
    ({"context": {"notice": "request_received", "who": {"name": "Jan"}}}, "context_type"),
    ({"context": {"notice": "no_such_notice"}}, "notice_unknown"),
    ({"lang": "de"}, "lang_unknown"),
    ({"kind": "marketing"}, "mail_kind_mismatch"),
])
def test_r_cons_2_the_outbox_refuses_personal_values_and_mistakes_when_queueing(kluis, desk, options, code):
    person = desk.add_person(ADDRESS)
    with pytest.raises(Invalid) as caught:
        desk.queue(person, **options)
    assert code in [p.code for p in caught.value.problems]


def test_r_cons_2_a_message_has_exactly_one_recipient_and_a_known_template(kluis, desk):
    person = desk.add_person(ADDRESS)
    with pytest.raises(Invalid) as caught:
        desk.queue(None)
    assert [p.code for p in caught.value.problems] == ["recipient_one"]
    with pytest.raises(Invalid) as caught:
        desk.queue(person, template="test_newsletter", kind="marketing", context={"token": "t"})
    assert [p.code for p in caught.value.problems] == ["marketing_needs_list"]
    with pytest.raises(ConfigurationError):
        desk.queue(person, template="no_such_template")

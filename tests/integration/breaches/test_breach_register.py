"""R-GOV-3: a breach from report to AP filing to people notified: the register seals its texts, derives the
affected people from the vault, freezes them with the DPO's reasoned decision, refuses a late filing without
reasons, reminds the DPOs once per step, and mails each person once, skipping those erased meanwhile."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.helpers import sealed_log
from tests.integration.breaches.breach_support import SUMMARY, dpo, employer, person, report
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, send_all

from kluis.audit.models import AuditEvent
from kluis.breaches import form
from kluis.breaches.models import Breach, BreachFiling, BreachPerson
from kluis.breaches.service import Breaches
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.kit.errors import Conflict, Invalid
from kluis.mail.models import Outbox
from kluis.rights.verification import Verification


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def _raw(kluis, table: str) -> bytes:
    with kluis.db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
    return repr(rows).encode()


def test_r_gov_3_report_seals_texts_and_counts_affected_people_from_the_vault(kluis, clock):
    client_a, client_b = employer(kluis, "Klant A"), employer(kluis, "Klant B")
    hit = [person(kluis, f"a{i}@example.nl", employer_id=client_a) for i in range(3)]
    person(kluis, "b@example.nl", employer_id=client_b)  # another employer
    person(kluis, "lead@example.nl", subject="lead", employer_id=client_a)  # another subject type
    person(kluis, "basic@example.nl", employer_id=client_a, category="basic")  # another category
    person(kluis, "later@example.nl", employer_id=client_a, collected_at=clock.now())  # collected after the breach
    breach = report(kluis, employer_ids=[client_a])
    assert breach.deadline_at - breach.aware_at == timedelta(hours=72)
    assert SUMMARY.encode() not in _raw(kluis, "breach") and b"USB" not in _raw(kluis, "breach")
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:test")
        found = breaches.get(breach.id)
        assert breaches.texts(found)["summary"] == SUMMARY
        assert breaches.count_affected(found) == 3
        assert sorted(breaches.stream_affected(found)) == sorted(hit)
        assert breaches.affected_page(found, None, 2) == sorted(hit)[:2]
        assert breaches.affected_page(found, sorted(hit)[1], 2) == sorted(hit)[2:]
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "breach.reported")
                                .order_by(AuditEvent.seq)).one()
    assert event.details["categories"] == ["financial"] and "USB" not in repr(event.details)
    assert sealed_log(kluis).ok


@pytest.mark.parametrize(("changes", "path", "code"), [
    ({"aware_at_shift": timedelta(minutes=5)}, "aware_at", "in_future"),
    ({"categories": ["financial", "health_records"]}, "categories", "category_unknown"),
    ({"subject_types": ["martian"]}, "subject_types", "subject_type_unknown"),
    ({"nature": []}, "nature", "nature_required"),
])
def test_r_gov_3_bad_incident_is_refused_and_nothing_written(kluis, clock, changes, path, code):
    if "aware_at_shift" in changes:
        changes = {"aware_at": clock.now() + changes.pop("aware_at_shift")}
    with pytest.raises(Invalid) as refused:
        report(kluis, **changes)
    assert (path, code) in {(p.path, p.code) for p in refused.value.problems}
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Breach)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.like("breach.%"))) == 0


def test_r_gov_3_decision_needs_a_reason_and_freezes_the_affected_people(kluis, clock):
    first = person(kluis, "een@example.nl")
    breach = report(kluis)
    with pytest.raises(Invalid) as refused, kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:dpo").decide(breach.id, "high_risk", "   ")
    assert refused.value.problems[0].code == "reason_required"
    with kluis.db.sessions() as session:
        assert session.get(Breach, breach.id).risk is None
        assert session.scalar(select(func.count()).select_from(BreachPerson)) == 0
    with kluis.db.transaction() as session:
        decided = Breaches(session, kluis, "staff:dpo").decide(breach.id, "high_risk", "financiële gegevens leesbaar")
        assert decided.affected == 1
    person(kluis, "twee@example.nl")  # added after the decision: not in the frozen snapshot
    with kluis.db.sessions() as session:
        assert list(session.scalars(select(BreachPerson.person_id))) == [first]
        breaches = Breaches(session, kluis, "staff:dpo")
        assert breaches.count_affected(breaches.get(breach.id)) == 1
        assert list(breaches.stream_affected(breaches.get(breach.id))) == [first]
        assert b"leesbaar" not in _raw(kluis, "breach")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "breach.decided")
                                .order_by(AuditEvent.seq)).one()
    assert event.details == {"risk": "high_risk", "previous": None, "affected": 1, "purpose": "security"}


def test_r_gov_3_late_filing_needs_reasons_and_follow_ups_say_what_changed(kluis, clock):
    person(kluis, "een@example.nl")
    breach = report(kluis)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:dpo")
        with pytest.raises(Conflict):
            breaches.file(breach.id, ap_reference="AP-1", form={})  # not decided yet
        breaches.decide(breach.id, "risk", "declaraties leesbaar voor de vinder")
    clock.advance(timedelta(hours=71))
    with kluis.db.transaction() as session:
        assert form.draft(Breaches(session, kluis, "staff:dpo"), session.get(Breach, breach.id))["velden"][9] == {
            "veld": "aantal_betrokkenen", "label": "Aantal betrokkenen", "waarde": {"minimaal": 1, "maximaal": 1}}
    clock.advance(timedelta(hours=2))  # the deadline has passed
    with pytest.raises(Invalid) as refused, kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:dpo").file(breach.id, ap_reference="AP-2026-1", form={})
    assert refused.value.problems[0].code == "late_reason_required"
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BreachFiling)) == 0
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:dpo")
        filing = breaches.file(breach.id, ap_reference="AP-2026-1", late_reason="pas na het weekend bevestigd",
                               form=form.draft(breaches, breaches.get(breach.id)))
        assert filing.late and filing.kind == "initial"
        with pytest.raises(Invalid) as no_changes:
            breaches.file(breach.id, ap_reference="AP-2026-1", form={})
        assert no_changes.value.problems[0].code == "changes_required"
        follow_up = breaches.file(breach.id, ap_reference="AP-2026-1", changes="de stick is teruggevonden", form={})
        assert follow_up.kind == "follow_up" and not follow_up.late
    assert b"weekend" not in _raw(kluis, "breach_filing") and b"USB" not in _raw(kluis, "breach_filing")
    assert sealed_log(kluis).ok


def test_r_gov_3_dpos_are_reminded_at_24h_4h_and_when_the_deadline_passes_once_each(kluis, clock, catcher):
    dpo(kluis, "dpo.een@benvitaal.nl")
    dpo(kluis, "dpo.twee@benvitaal.nl")
    dpo(kluis, "support@benvitaal.nl", role="support")
    breach = report(kluis)  # aware 2 h ago: 70 h left
    send_all(kluis)
    assert catcher.messages == []
    for hours, expected in ((46.5, "within 24 hours"), (20, "within 4 hours"), (5, "has passed")):
        clock.advance(timedelta(hours=hours))
        send_all(kluis)
        send_all(kluis)  # a second round sends nothing more
        assert len(catcher.messages) == 2, [m.subject for m in catcher.messages]
        assert {m.to[0] for m in catcher.messages} == {"dpo.een@benvitaal.nl", "dpo.twee@benvitaal.nl"}
        assert all(expected in m.subject for m in catcher.messages)
        assert f"/console/breaches/{breach.id}" in catcher.messages[0].text
        catcher.clear()
    clock.advance(timedelta(days=3))
    send_all(kluis)
    assert catcher.messages == []


def test_r_gov_3_no_reminder_once_filed_or_decided_no_risk(kluis, clock, catcher):
    dpo(kluis)
    person(kluis, "een@example.nl")
    filed, harmless = report(kluis), report(kluis)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:dpo")
        breaches.decide(filed.id, "risk", "leesbaar")
        breaches.file(filed.id, ap_reference="AP-7", form={})
        breaches.decide(harmless.id, "no_risk", "de stick was versleuteld")
    clock.advance(timedelta(hours=80))
    send_all(kluis)
    assert catcher.messages == []


def test_r_gov_3_people_notified_once_in_their_language_erased_skipped_resumable(kluis, clock, catcher):
    made = {f"p{i}@example.nl": person(kluis, f"p{i}@example.nl") for i in range(5)}
    people = sorted(made.values())
    with kluis.db.transaction() as session:
        Verification(session, kluis, "staff:test").register_by_staff(
            "access", clock.now() - timedelta(days=1), "brief", lang="en", person_id=people[1],
            verification="checked by phone")
    send_all(kluis)
    catcher.clear()
    breach = report(kluis)
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:dpo")
        with pytest.raises(Conflict):
            breaches.start_notifying(breach.id)  # not decided as high risk
        breaches.decide(breach.id, "high_risk", "declaraties met rekeningnummers leesbaar")
        breaches.start_notifying(breach.id)
        with pytest.raises(Conflict):
            breaches.decide(breach.id, "risk", "toch minder erg")
    with kluis.db.transaction() as session:
        erasure.queue(session, kluis, people[3], Reason.STAFF, "staff:test")
    erasure.Runner(kluis).run_due()
    # A worker handles two people, then stops; the next one resumes where the batch committed.
    with kluis.db.transaction() as session:
        assert Breaches(session, kluis, "worker").notify_next(batch=2) == 2
    send_all(kluis)
    with kluis.db.sessions() as session:
        done = session.get(Breach, breach.id)
        assert (done.notify_state, done.notified, done.skipped) == ("done", 4, 1)
        assert session.scalar(select(func.count()).select_from(Outbox)
                              .where(Outbox.template == "breach_person")) == 4
    mails = {m.to[0]: m for m in catcher.messages if "breach" in m.subject.lower() or "inbreuk" in m.subject}
    assert set(mails) == {address for address, person_id in made.items() if person_id != people[3]}
    english = [m for m in mails.values() if m.subject.startswith("A breach")]
    assert len(english) == 1 and "Likely consequences" in english[0].text
    dutch = next(m for m in mails.values() if m.subject.startswith("Een inbreuk"))
    assert SUMMARY in dutch.text and "Mogelijke gevolgen" in dutch.text and "Autoriteit Persoonsgegevens" in dutch.text
    assert str(kluis.policy.dpo.email) in dutch.text
    with kluis.db.sessions() as session:
        assert all(set(r.context) == {"breach_id"} for r in session.scalars(
            select(Outbox).where(Outbox.template == "breach_person")))
    assert sealed_log(kluis).ok


def test_r_gov_3_register_exports_as_csv_even_when_nothing_was_notified(kluis, clock):
    harmless = report(kluis)
    with kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:dpo").decide(harmless.id, "no_risk", "de stick was versleuteld")
    report(kluis, summary="Een tweede voorval.")
    with kluis.db.transaction() as session:
        text = form.register_csv(Breaches(session, kluis, "staff:dpo"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    decided = next(r for r in rows if r["id"] == str(harmless.id))
    assert (decided["risk"], decided["risk_reason"], decided["ap_filed_at"]) == ("no_risk", "de stick was versleuteld",
                                                                                 "")
    assert decided["summary"] == SUMMARY


def test_r_gov_3_new_facts_amend_the_sealed_texts_and_are_audited_by_field(kluis, clock):
    breach = report(kluis, happened_until=None)
    with pytest.raises(Invalid) as refused, kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:test").amend(breach.id, {"summary": " "})
    assert refused.value.problems[0].code == "summary_required"
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:test").amend(breach.id, {}, clock.now() + timedelta(hours=1))
    with kluis.db.transaction() as session:
        breaches = Breaches(session, kluis, "staff:test")
        amended = breaches.amend(breach.id, {"measures": "Alle wachtwoorden opnieuw ingesteld."},
                                 clock.now() - timedelta(hours=1))
        texts = breaches.texts(amended)
    assert texts["measures"] == "Alle wachtwoorden opnieuw ingesteld." and texts["summary"] == SUMMARY
    assert b"wachtwoorden" not in _raw(kluis, "breach")
    with kluis.db.sessions() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "breach.amended")
                                      .order_by(AuditEvent.seq)))
        assert [e.details for e in events] == [{"fields": ["measures", "happened_until"]}]
        assert session.get(Breach, breach.id).happened_until is not None

"""R-GOV-4: the people a material change affects are selected from the vault and mailed once, in their language,
before it takes effect, naming what changes for them; consent is asked again where it is the basis and the link
gives it under the new version; people who opted out of marketing are told too; erased people are skipped; the run
records its progress and resumes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.forms import form_token
from tests.helpers import sealed_log
from tests.integration.breaches.breach_support import person as employee
from tests.integration.policy.policy_support import days, marketing_longer, person, publish_at
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, send_all

from kluis import wiring
from kluis.audit.models import AuditEvent
from kluis.changes import announcements
from kluis.changes.tasks import AnnouncementPoller
from kluis.consent.marketing.service import Marketing
from kluis.consent.models import ConsentEvent
from kluis.erasure import service as erasure
from kluis.erasure.rules import Reason
from kluis.mail.models import Outbox
from kluis.policy.models import PolicyAnnouncement
from kluis.vault.schemas import PersonIn, RecordIn


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def mails(kluis) -> list[Outbox]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(Outbox).where(Outbox.template == "policy_change")))


def test_r_gov_4_affected_people_mailed_once_in_their_language_before_the_change(kluis, clock, catcher) -> None:
    kluis.register_policy()
    consenting = person(kluis, "ja@example.nl", consent="marketing_email", lang="en")
    opted_out = person(kluis, "nee@example.nl", consent="marketing_email")
    untouched = person(kluis, "web@example.nl", ("web_traffic",))
    erased = person(kluis, "weg@example.nl")
    # An employee whose expense claims the law keeps after erasure: still selected by category, then skipped.
    kept = employee(kluis, "bewaard@example.nl", category="basic")
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "person").opt_out(opted_out, "unsubscribe_link", lang="nl")
        nameless = kluis.vault(session, "test").create_person(PersonIn(subject_types=["lead"], identifiers=[])).id
        kluis.vault(session, "test").add_records(nameless, [RecordIn(
            category="basic", purposes=["lead_management"], legal_basis="legitimate_interest", source="direct",
            content={"note": "no address"})])
        erasure.queue(session, kluis, erased, Reason.STAFF, "staff:test")
        erasure.queue(session, kluis, kept, Reason.STAFF, "staff:test")
    erasure.Runner(kluis).run_due()
    send_all(kluis)
    catcher.clear()

    at = clock.now() + days(30)
    publish_at(kluis, marketing_longer(kluis.policy), at)
    # A worker handles two people, then stops; the next one resumes where the batch committed.
    assert AnnouncementPoller(batch=2).poll(kluis) == 2
    with kluis.db.sessions() as session:
        halfway = session.get(PolicyAnnouncement, 2)
        assert halfway is not None and halfway.state == "running" and halfway.after is not None
    clock.advance(timedelta(minutes=5))
    send_all(kluis)

    with kluis.db.sessions() as session:
        run = session.get(PolicyAnnouncement, 2)
        assert run is not None and run.state == "done"
        assert (run.mailed, run.renewals, run.skipped, run.unreachable) == (2, 1, 1, 1)
    queued = {m.person_id: m for m in mails(kluis)}
    assert set(queued) == {consenting, opted_out}  # once each; web traffic alone is not affected
    assert {untouched, erased, kept, nameless}.isdisjoint(queued)
    assert queued[consenting].lang == "en" and queued[consenting].context == {
        "version": 2, "changes": ["retention_longer:marketing_contacts"], "renew": ["marketing_email"]}
    assert queued[opted_out].lang == "nl" and queued[opted_out].context["renew"] == []  # withdrew: nothing to renew
    assert all(m.kind == "administrative" and m.state == "sent" and m.sent_at < at for m in queued.values())

    sent = {m.to[0]: m for m in catcher.messages if "privacy" in m.subject}
    english, dutch = sent["ja@example.nl"], sent["nee@example.nl"]
    assert english.subject == "benVitaal: our privacy statement changes on 25 December 2026 at 13:00"
    assert "48 months after your last registered activity (was: 36 months" in english.text
    assert "we ask for your consent again" in english.text and "/privacy/consent?t=" in english.text
    assert "48 maanden na uw laatste geregistreerde activiteit (was: 36 maanden" in dutch.text
    assert "opnieuw om toestemming" not in dutch.text and "afgemeld voor marketing-e-mail" in dutch.text

    with kluis.db.sessions() as session:
        actions = [a for (a,) in session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("policy.announce%")).order_by(AuditEvent.seq))]
    assert actions[0] == "policy.announcement_started" and actions[-1] == "policy.announcement_done"
    assert "policy.announced" in actions
    assert sealed_log(kluis).ok


def test_r_gov_4_the_link_gives_consent_again_under_the_new_version(kluis, clock, catcher, client) -> None:
    kluis.register_policy()
    pid = person(kluis, "ja@example.nl", consent="marketing_email")
    at = clock.now() + days(30)
    publish_at(kluis, marketing_longer(kluis.policy), at)
    send_all(kluis)
    [mail] = [m for m in catcher.messages if m.to == ("ja@example.nl",) and "privacy" in m.subject]
    link = re.search(r"https://kluis\.benvitaal\.test(/privacy/consent\?t=\S+)", mail.text)
    assert link is not None
    page = client.get(link.group(1))
    assert page.status_code == 200 and "Opnieuw toestemming geven" in page.text
    assert "Marketingmails" in page.text and "48 maanden" in page.text
    token = link.group(1).split("t=", 1)[1]
    assert client.get("/privacy/consent", params={"t": token[:-2] + "xx"}).status_code == 404
    with kluis.db.sessions() as session:
        assert session.scalar(select(ConsentEvent.policy_version).order_by(ConsentEvent.seq.desc())) == 1
    done = client.post("/privacy/consent", data={"t": token, "purposes": ["marketing_email", "profiling"],
                                                   "csrf": form_token(client, f"/privacy/consent?t={token}")})
    assert done.status_code == 200 and "Uw toestemming is vastgelegd" in done.text
    with kluis.db.sessions() as session:
        given = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert given is not None and (given.purpose, given.policy_version, given.method) == (
        "marketing_email", 2, "email_confirmation")
    clock.set(at)
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(pid, "marketing_email").reason == "consent"


def test_r_gov_4_reach_names_only_what_touches_the_person(kluis, clock) -> None:
    kluis.register_policy()
    publish_at(kluis, marketing_longer(kluis.policy), clock.now() + days(30))
    found = announcements.reach(kluis, 2)
    assert found is not None
    assert found.categories == ("basic", "interests", "account") and found.purposes == ("marketing_email",)
    assert found.of({"web_traffic"}, set()) == ([], [])
    mine, renew = found.of({"basic"}, {"marketing_email"})
    assert [c.key for c in mine] == ["retention_longer:marketing_contacts"] and renew == ["marketing_email"]


def test_r_gov_4_a_worker_that_has_not_read_the_new_version_yet_announces_it(kluis, clock, catcher) -> None:
    kluis.register_policy()
    person(kluis, "ja@example.nl", consent="marketing_email")
    worker = wiring.build(kluis.settings, clock=clock)  # another process, whose list of versions is fresh
    try:
        assert worker.policy_version == 1
        publish_at(kluis, marketing_longer(kluis.policy), clock.now() + days(30))
        send_all(worker)
        with worker.db.sessions() as session:
            run = session.get(PolicyAnnouncement, 2)
        assert run is not None and (run.state, run.mailed) == ("done", 1)
        assert [m.to for m in catcher.messages if "privacy" in m.subject] == [("ja@example.nl",)]
    finally:
        worker.close()

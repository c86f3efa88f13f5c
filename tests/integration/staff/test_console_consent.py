"""R-CONS-1 and R-CONS-2 in the console: the proof of each consent event, the e-mail to the DPO registered
with when it reached benVitaal, and marketing mail that is stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.integration.marketing.helpers import person

from kluis.consent.marketing.service import Marketing
from kluis.consent.models import ConsentEvent
from kluis.mail.service import enqueue
from kluis.worker import drain, pollers

NOTICE_EN = "Yes, I want the benVitaal newsletter. I can unsubscribe at any time."


def events(kluis, person_id):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(ConsentEvent).where(ConsentEvent.person_id == person_id)
                                    .order_by(ConsentEvent.seq)))


def test_r_cons_1_console_shows_the_proof_of_each_consent_event(client, kluis, add_member, sign_in):
    """Not just "Subscribed": when, how, statement version, notice text, language and IP network of each event."""
    pid = person(kluis)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text=NOTICE_EN,
                                             lang="en", ip="198.51.100.23")
        Marketing(session, kluis, "test").opt_out(pid, "account", lang="nl")
    sign_in(add_member("support"))
    page = client.get(f"/console/people/{pid}")
    assert page.status_code == 200
    text = page.text
    assert NOTICE_EN in text and "198.51.100.0/24" in text
    assert "2026-11-25 13:00:00 CET" in text  # when (Amsterdam time)
    for expected in ("form", "account", "given", "withdrawn", "<td>en</td>", "<td>nl</td>"):
        assert expected in text, expected
    assert "198.51.100.23" not in text


def test_r_cons_2_the_dashboard_shows_mail_that_is_stuck_and_why(client, kluis, settings, add_member, sign_in):
    """Mail that keeps failing or failed is not left to be found in the database: staff see it, with the reason."""
    pid = person(kluis)
    nobody = person(kluis, None)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text=NOTICE_EN, lang="en")
        Marketing(session, kluis, "test").add_campaign("winter", "Winter", "Nieuws")
    kluis.settings = settings.model_copy(update={"base_url": "https://kluis.benvitaal.test"})
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").send_campaign("winter")
        enqueue(session, kluis.clock, template="account_notice", person_id=nobody,
                context={"notice": "account_updated"}, actor="test")
    kluis.settings = settings.model_copy(update={"base_url": "http://kluis.benvitaal.nl"})
    drain(kluis, pollers())
    sign_in(add_member("support"))
    page = client.get("/console").text
    assert "2 message(s) keep failing" in page
    assert "base_url_not_https" in page and "no_address" in page and "marketing_newsletter" in page
    assert "example.nl" not in page  # codes and ids, never an address


def test_r_cons_2_console_registers_the_dpo_email_from_when_it_arrived_in_amsterdam_time(
        client, kluis, clock, add_member, sign_in, csrf_of):
    pid = person(kluis)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text=NOTICE_EN, lang="en")
    clock.advance(timedelta(days=1))
    sign_in(add_member("support"))
    page = client.get(f"/console/people/{pid}")
    url = f"/console/people/{pid}/marketing-opt-out"
    form = {"csrf": csrf_of(page), "reference": "DPO-2026-50", "lang": "en"}
    for bad in ("gisteren", "2026-11-27T09:00"):  # not a time; in the future
        refused = client.post(url, data=form | {"received_at": bad}, follow_redirects=False)
        assert refused.status_code == 422, bad
    assert len(events(kluis, pid)) == 1
    done = client.post(url, data=form | {"received_at": "2026-11-26T08:45"}, follow_redirects=False)
    assert done.status_code == 303
    withdrawn = events(kluis, pid)[-1]
    assert (withdrawn.method, withdrawn.at, withdrawn.recorded_at, withdrawn.lang) == (
        "dpo_email", datetime(2026, 11, 26, 7, 45, tzinfo=UTC), clock.now(), "en")
    shown = client.get(f"/console/people/{pid}").text
    assert "2026-11-26 08:45:00 CET" in shown and "DPO-2026-50" in shown

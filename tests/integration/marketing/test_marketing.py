"""Marketing by the statement: double opt-in confirmed by e-mail, all four opt-out routes, administrative
mail after opt-out, suppression that survives erasure and re-import, profiling stopped by an objection,
audiences (R-CONS-2, R-CONS-3, R-CONS-5). Mail goes over a real SMTP server on loopback."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from tests.forms import filled
from tests.helpers import api_key, headers
from tests.integration.marketing.helpers import NOTICE, campaign, link, opted_in, person, send_all, subscribed, token_of

from kluis.consent.marketing.models import InterestProfile, Suppression
from kluis.consent.marketing.service import Marketing
from kluis.consent.models import ConsentEvent
from kluis.mail.service import enqueue


def test_r_cons_2_double_opt_in_only_counts_after_the_link_is_posted(client, kluis, catcher):
    pid = person(kluis)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(pid, notice_text=NOTICE, lang="nl")
    assert not subscribed(kluis, pid)
    send_all(kluis)
    mail = catcher.messages[-1]
    assert mail.to == ("lezer@example.nl",) and "Bevestig" in mail.subject
    url = link(mail, "/marketing/confirm")
    assert client.get(url).status_code == 200 and not subscribed(kluis, pid)  # a link scanner changes nothing
    confirmed = client.post("/marketing/confirm", data=filled(client, url, t=token_of(url)))
    assert confirmed.status_code == 200, confirmed.text
    assert subscribed(kluis, pid)
    with kluis.db.sessions() as session:
        event = session.scalars(select(ConsentEvent)).one()
    assert event.method == "email_confirmation" and event.notice_hash
    again = client.post("/marketing/confirm", data=filled(client, url, t=token_of(url)))
    assert again.status_code == 409
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1


def test_r_cons_2_confirmation_link_expires_after_48_hours(client, kluis, catcher, clock):
    pid = person(kluis)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(pid, notice_text=NOTICE, lang="en")
    send_all(kluis)
    url = link(catcher.messages[-1], "/marketing/confirm")
    data = filled(client, url, t=token_of(url))  # the page as opened in time; the post comes too late
    clock.advance(timedelta(hours=48, seconds=1))
    response = client.post("/marketing/confirm?lang=en", data=data)
    assert response.status_code == 400 and "no longer" in response.text and not subscribed(kluis, pid)


def test_r_cons_2_route_a_one_click_unsubscribe_from_the_mail_itself(client, kluis, catcher):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    name = campaign(kluis)
    with kluis.db.transaction() as session:
        assert Marketing(session, kluis, "test").send_campaign(name) == 1
    send_all(kluis)
    mail = catcher.messages[-1]
    found = dict(mail.headers)
    assert found["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = re.search(r"<(https://[^>]+)>", found["List-Unsubscribe"]).group(1)
    assert "mailto:dpo@benvitaal.nl" in found["List-Unsubscribe"]
    assert client.get(one_click).status_code == 200 and subscribed(kluis, pid)  # GET only asks
    response = client.post(one_click, data={"List-Unsubscribe": "One-Click"})  # what a mail client sends
    assert response.status_code == 200 and not subscribed(kluis, pid)
    assert client.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent


def test_r_cons_2_unsubscribe_token_cannot_be_used_for_another_person(client, kluis, catcher):
    alice, bob = person(kluis, "alice@example.nl"), person(kluis, "bob@example.nl")
    opted_in(client, kluis, catcher, alice)
    opted_in(client, kluis, catcher, bob)
    with kluis.db.sessions() as session:
        token = Marketing(session, kluis, "t").unsubscribe_token(alice)
    forged = token[:4] + ("A" if token[4] != "A" else "B") + token[5:]
    assert client.post(f"/marketing/unsubscribe?t={forged}").status_code == 404
    assert client.post("/marketing/unsubscribe?t=").status_code in (404, 422)
    assert subscribed(kluis, alice) and subscribed(kluis, bob)
    assert client.post(f"/marketing/unsubscribe?t={token}").status_code == 200
    assert not subscribed(kluis, alice) and subscribed(kluis, bob)


def test_r_cons_2_routes_b_and_c_account_and_dpo_email(client, kluis, catcher, clock):
    auth = api_key(kluis, ["marketing_email", "accounts", "support"])
    b, c = person(kluis, "b@example.nl"), person(kluis, "c@example.nl")
    opted_in(client, kluis, catcher, b)
    opted_in(client, kluis, catcher, c)
    account = client.post(f"/api/v1/people/{b}/marketing/opt-out", json={"route": "account"},
                          headers=headers(auth, "accounts"))
    assert account.status_code == 200 and not subscribed(kluis, b)
    missing = client.post(f"/api/v1/people/{c}/marketing/opt-out", json={"route": "dpo_email"},
                          headers=headers(auth, "support"))
    assert missing.status_code == 403 and subscribed(kluis, c)
    clock.advance(timedelta(hours=2))  # the e-mail to the DPO came in half an hour after the opt-in
    dpo = client.post(f"/api/v1/people/{c}/marketing/opt-out", json={"route": "dpo_email", "reference": "DPO-2026-17",
                                                                     "received_at": "2026-11-25T13:30:00+01:00"},
                      headers=headers(auth, "support"))
    assert dpo.status_code == 200 and not subscribed(kluis, c)
    with kluis.db.sessions() as session:
        event = session.scalars(select(ConsentEvent).where(ConsentEvent.person_id == c)
                                .order_by(ConsentEvent.seq.desc())).first()
    assert (event.method, event.reference) == ("dpo_email", "DPO-2026-17")


def test_r_cons_2_route_d_subscription_management_page(client, kluis, catcher):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    with kluis.db.sessions() as session:
        token = Marketing(session, kluis, "t").manage_token(pid)
    page = client.get(f"/marketing/preferences?t={token}")
    assert page.status_code == 200 and "U ontvangt nu marketing-e-mail" in page.text
    assert client.post("/marketing/preferences", data=filled(client, f"/marketing/preferences?t={token}",
                                              t=token, action="unsubscribe")).status_code == 200
    assert not subscribed(kluis, pid)
    assert "geen marketing-e-mail" in client.get(f"/marketing/preferences?t={token}").text
    assert client.post("/marketing/preferences", data=filled(client, f"/marketing/preferences?t={token}",
                                              t=token, action="subscribe")).status_code == 200
    assert not subscribed(kluis, pid)  # a new opt-in needs its confirmation again
    send_all(kluis)
    assert "Bevestig" in catcher.messages[-1].subject


def test_r_cons_2_administrative_mail_still_arrives_after_opt_out_marketing_does_not(client, kluis, catcher):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    name = campaign(kluis)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").send_campaign(name)  # queued while still subscribed
        Marketing(session, kluis, "test").opt_out(pid, "account")
        enqueue(session, kluis.clock, template="account_notice", person_id=pid, context={"notice": "password_changed"},
                actor="test")
    catcher.clear()
    send_all(kluis)
    subjects = sorted(m.subject for m in catcher.messages)  # the opt-out's confirmation and the notice, no campaign
    assert subjects == ["benVitaal: U bent afgemeld voor marketing-e-mail", "benVitaal: Uw wachtwoord is gewijzigd"]


def test_r_cons_2_suppression_outlives_erasure_and_reimport(client, kluis, catcher):
    pid = person(kluis, "weg@example.nl")
    opted_in(client, kluis, catcher, pid)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").opt_out(pid, "account")
        kluis.vault(session, "test").shred([pid], reason="erasure request")
    with kluis.db.sessions() as session:
        digests = session.scalars(select(Suppression.digest)).all()
    assert len(digests) == 1 and b"weg@example.nl" not in digests[0]
    again = person(kluis, "Weg@Example.nl")  # re-imported from an aggregator
    with kluis.db.transaction() as session:  # even with a consent claim, the suppression keeps it out
        kluis.consents(session, "import").give(again, "marketing_email", method="form", notice_text=NOTICE, lang="nl")
    name = campaign(kluis)
    with kluis.db.sessions() as session:
        assert list(Marketing(session, kluis, "t").audience(name)) == []


def test_r_cons_3_objection_stops_profiling_at_once_and_deletes_the_profile(client, kluis):
    auth = api_key(kluis, ["profiling", "support"])
    pid = person(kluis)
    for topic in ("benMobiel", "benMobiel", "webinars"):
        response = client.post(f"/api/v1/people/{pid}/clicks", json={"topic": topic}, headers=auth)
        assert response.json() == {"counted": True}
    profile = client.get(f"/api/v1/people/{pid}/interests", headers=auth).json()
    assert profile == {"interests": {"benMobiel": 2, "webinars": 1}}
    objection = client.post(f"/api/v1/people/{pid}/objections", json={"scope": "profiling"},
                            headers=headers(auth, "support"))
    assert objection.status_code == 201
    with kluis.db.sessions() as session:
        assert session.get(InterestProfile, uuid.UUID(pid) if isinstance(pid, str) else pid) is None
    dropped = client.post(f"/api/v1/people/{pid}/clicks", json={"topic": "leaseauto"}, headers=auth)
    assert dropped.json() == {"counted": False}
    assert client.get(f"/api/v1/people/{pid}/interests", headers=auth).status_code == 403
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InterestProfile)) == 0


def test_r_cons_5_audience_is_exactly_who_the_gate_allows(client, kluis, catcher):
    auth = api_key(kluis, ["marketing_email", "support"])
    people = [person(kluis, f"p{i}@example.nl") for i in range(6)]
    for pid in people[:5]:
        opted_in(client, kluis, catcher, pid)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "t").opt_out(people[1], "account")
        kluis.gate(session, "t").object(people[2], "marketing", "person")
        kluis.gate(session, "t").restrict(people[3], "accuracy_contested", "person")
    name = campaign(kluis)
    with kluis.db.sessions() as session:
        allowed = {p for p in people if kluis.gate(session, "t").decide(p, "marketing_email").allowed}
        streamed = set(Marketing(session, kluis, "t").audience(name))
    assert streamed == allowed == {people[0], people[4]}
    response = client.get(f"/api/v1/campaigns/{name}/audience", headers=auth)
    assert response.status_code == 200
    assert {uuid.UUID(line.split('"')[3]) for line in response.text.splitlines()} == allowed
    assert client.get("/api/v1/campaigns/nope/audience", headers=auth).status_code == 404


def test_r_cons_5_cli_audience_streams_exactly_the_allowed_people(client, kluis, catcher):
    from typer.testing import CliRunner

    from kluis import wiring
    from kluis.cli import app

    people = [person(kluis, f"cli{i}@example.nl") for i in range(3)]
    for pid in people[:2]:
        opted_in(client, kluis, catcher, pid)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "t").opt_out(people[1], "account")
    wiring.use_for_cli(kluis)
    try:
        runner = CliRunner()
        made = runner.invoke(app, ["marketing", "campaign", "winter", "--title", "Winter", "--text", "Nieuws"])
        assert made.exit_code == 0, made.output
        result = runner.invoke(app, ["marketing", "audience", "--campaign", "winter"])
        assert result.exit_code == 0 and result.stdout.split() == [str(people[0])]
        missing = runner.invoke(app, ["marketing", "audience", "--campaign", "nope"])
        assert missing.exit_code == 1 and "campaign_not_found" in missing.output
        sent = runner.invoke(app, ["marketing", "send", "--campaign", "winter"])
        assert sent.exit_code == 0 and "queued 1" in sent.stdout
    finally:
        wiring.use_for_cli(None)

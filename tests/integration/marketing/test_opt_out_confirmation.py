"""R-CONS-2: every opt-out route confirms by an administrative mail in the person's language (it goes although
marketing is withdrawn); an e-mail to the DPO counts from when it reached benVitaal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.forms import filled
from tests.helpers import api_key, headers
from tests.integration.marketing.helpers import campaign, link, opted_in, person, send_all, subscribed, token_of

from kluis.consent.marketing.service import Marketing
from kluis.consent.models import ConsentEvent
from kluis.mail.models import Outbox

CONFIRMED = {"nl": "benVitaal: U bent afgemeld voor marketing-e-mail",
             "en": "benVitaal: You are unsubscribed from marketing e-mail"}


def opt_in_en(client, kluis, catcher, pid):
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(pid, notice_text="Yes, the newsletter.", lang="en")
    send_all(kluis)
    url = link(catcher.messages[-1], "/marketing/confirm")
    assert client.post("/marketing/confirm?lang=en", data=filled(client, url, t=token_of(url))).status_code == 200


@pytest.mark.parametrize("route", ["account_api", "dpo_email_api", "subscription_page", "one_click"])
def test_r_cons_2_every_opt_out_route_sends_a_confirmation_mail(client, kluis, catcher, clock, route):
    pid = person(kluis, "afmelder@example.nl")
    opted_in(client, kluis, catcher, pid)
    auth = api_key(kluis, ["accounts", "support"])
    clock.advance(timedelta(minutes=30))
    if route == "account_api":
        done = client.post(f"/api/v1/people/{pid}/marketing/opt-out", json={"route": "account"},
                           headers=headers(auth, "accounts"))
    elif route == "dpo_email_api":
        done = client.post(f"/api/v1/people/{pid}/marketing/opt-out", headers=headers(auth, "support"),
                           json={"route": "dpo_email", "reference": "DPO-2026-40",
                                 "received_at": "2026-11-25T13:20:00+01:00"})
    else:
        with kluis.db.sessions() as session:
            marketing = Marketing(session, kluis, "t")
            token = marketing.manage_token(pid) if route == "subscription_page" else marketing.unsubscribe_token(pid)
        done = (client.post("/marketing/preferences", data=filled(client, f"/marketing/preferences?t={token}",
                                              t=token, action="unsubscribe"))
                if route == "subscription_page" else client.post(f"/marketing/unsubscribe?t={token}&lang=nl",
                                                                 data={"List-Unsubscribe": "One-Click"}))
    assert done.status_code == 200, done.text
    assert not subscribed(kluis, pid)
    catcher.clear()
    send_all(kluis)
    assert [(m.to, m.subject) for m in catcher.messages] == [(("afmelder@example.nl",), CONFIRMED["nl"])]
    with kluis.db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.template == "account_notice")).one()
    assert (row.kind, row.state) == ("administrative", "sent")


def test_r_cons_2_confirmation_goes_in_the_persons_language(client, kluis, catcher):
    """Staff registering an opt-out through the API without a language: the person subscribed in English."""
    pid = person(kluis, "reader@example.nl")
    opt_in_en(client, kluis, catcher, pid)
    auth = api_key(kluis, ["accounts"])
    assert client.post(f"/api/v1/people/{pid}/marketing/opt-out", json={"route": "account"},
                       headers=headers(auth, "accounts")).status_code == 200
    catcher.clear()
    send_all(kluis)
    assert [m.subject for m in catcher.messages] == [CONFIRMED["en"]]
    assert "administrative messages" in catcher.messages[0].text


def test_r_cons_2_dpo_email_counts_from_when_it_was_received(client, kluis, catcher, clock):
    """The withdrawal takes effect at the e-mail's arrival; campaign mail queued after it is not sent."""
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    received = clock.now() + timedelta(hours=1)
    clock.advance(timedelta(hours=2))
    name = campaign(kluis)
    with kluis.db.transaction() as session:
        assert Marketing(session, kluis, "test").send_campaign(name) == 1  # queued after the e-mail came in
    clock.advance(timedelta(hours=20))  # registered the next morning
    auth = api_key(kluis, ["support"])
    done = client.post(f"/api/v1/people/{pid}/marketing/opt-out", headers=headers(auth, "support"),
                       json={"route": "dpo_email", "reference": "DPO-2026-41", "received_at": received.isoformat()})
    assert done.status_code == 200, done.text
    with kluis.db.sessions() as session:
        event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert (event.action, event.at, event.recorded_at) == ("withdrawn", received, clock.now())
    catcher.clear()
    send_all(kluis)
    assert [m.subject for m in catcher.messages] == [CONFIRMED["nl"]]
    with kluis.db.sessions() as session:
        newsletter = session.scalars(select(Outbox).where(Outbox.template == "marketing_newsletter")).one()
    assert (newsletter.state, newsletter.last_error) == ("cancelled", "not_subscribed")


@pytest.mark.parametrize(("received_at", "code"), [
    (None, "required"),
    ("2026-11-25T14:00:00+01:00", "in_future"),
    ("2025-11-01T10:00:00+01:00", "too_old"),
    ("2026-11-25T12:30:00+01:00", "received_before_latest_change"),  # before the opt-in it would undo
])
def test_r_cons_2_dpo_email_received_at_is_checked_and_nothing_is_written(client, kluis, catcher, clock, received_at,
                                                                           code):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)  # at 13:00 Amsterdam time
    auth = api_key(kluis, ["support"])
    body = {"route": "dpo_email", "reference": "DPO-2026-42"} | ({"received_at": received_at} if received_at else {})
    refused = client.post(f"/api/v1/people/{pid}/marketing/opt-out", json=body, headers=headers(auth, "support"))
    assert refused.status_code == 422, refused.text
    assert [e["code"] for e in refused.json()["errors"]] == [code]
    assert subscribed(kluis, pid)
    with kluis.db.sessions() as session:
        assert session.scalars(select(Outbox).where(Outbox.template == "account_notice")).all() == []


def test_r_cons_2_dpo_email_without_a_time_zone_is_refused(client, kluis, catcher):
    pid = person(kluis)
    opted_in(client, kluis, catcher, pid)
    auth = api_key(kluis, ["support"])
    refused = client.post(f"/api/v1/people/{pid}/marketing/opt-out", headers=headers(auth, "support"),
                          json={"route": "dpo_email", "reference": "DPO-2026-43",
                                "received_at": "2026-11-25T12:30:00"})
    assert refused.status_code == 422 and subscribed(kluis, pid)

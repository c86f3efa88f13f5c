"""R-CONS-1: every consent event keeps its proof (when, how, which statement version and notice text, in which
language, truncated IP), on every route that records consent, and staff see that proof in the console."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.forms import filled
from tests.helpers import api_key, headers
from tests.integration.marketing.helpers import link, person, send_all, token_of

from kluis.consent.marketing.service import Marketing
from kluis.consent.models import ConsentEvent

NOTICE_EN = "Yes, I want the benVitaal newsletter. I can unsubscribe at any time."


def events(kluis, person_id):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(ConsentEvent).where(ConsentEvent.person_id == person_id)
                                    .order_by(ConsentEvent.seq)))


def test_r_cons_1_double_opt_in_keeps_the_language_of_the_notice_shown(client, kluis, catcher):
    pid = person(kluis)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").request_opt_in(pid, notice_text=NOTICE_EN, lang="en")
    send_all(kluis)
    url = link(catcher.messages[-1], "/marketing/confirm")
    assert client.post("/marketing/confirm?lang=en", data=filled(client, url, t=token_of(url))).status_code == 200
    with kluis.db.sessions() as session:
        history = kluis.consents(session, "t").history(pid)
    assert [(e["action"], e["method"], e["lang"], e["notice_text"]) for e in history] == [
        ("given", "email_confirmation", "en", NOTICE_EN)]
    assert history[0]["ip_network"] is None  # the test client has no IP address to keep


def test_r_cons_1_api_and_pages_record_the_language_of_a_withdrawal(client, kluis, catcher):
    """A withdrawal by the API keeps the language given; by the subscription page, the page's language;
    without one, the person's own (that of their consent)."""
    auth = api_key(kluis, ["marketing_email", "accounts"])
    a, b, c = person(kluis, "a@example.nl"), person(kluis, "b@example.nl"), person(kluis, "c@example.nl")
    for pid in (a, b, c):
        given = client.post(f"/api/v1/people/{pid}/consents", headers=headers(auth, "marketing_email"),
                            json={"purpose": "marketing_email", "action": "given", "method": "form",
                                  "notice_text": NOTICE_EN, "lang": "en", "ip": "192.0.2.77"})
        assert given.status_code == 201, given.text
    withdrawn = client.post(f"/api/v1/people/{a}/consents", headers=headers(auth, "marketing_email"),
                            json={"purpose": "marketing_email", "action": "withdrawn", "method": "account",
                                  "lang": "nl"})
    assert withdrawn.status_code == 201, withdrawn.text
    assert client.post(f"/api/v1/people/{b}/marketing/opt-out", json={"route": "account"},
                       headers=headers(auth, "accounts")).status_code == 200
    with kluis.db.sessions() as session:
        token = Marketing(session, kluis, "t").manage_token(c)
    page = client.post("/marketing/preferences?lang=en", data=filled(client, f"/marketing/preferences?t={token}",
                                              t=token, action="unsubscribe"))
    assert page.status_code == 200
    assert [e.lang for e in events(kluis, a)] == ["en", "nl"]
    assert [e.lang for e in events(kluis, b)] == ["en", "en"]
    assert [e.lang for e in events(kluis, c)] == ["en", "en"]
    with kluis.db.sessions() as session:
        proof = kluis.consents(session, "t").history(a)[0]
    assert (proof["lang"], proof["ip_network"], proof["notice_text"]) == ("en", "192.0.2.0/24", NOTICE_EN)


@pytest.mark.plain_schema
def test_r_cons_1_the_migration_gives_existing_events_the_language_of_their_notice(kluis, clock):
    """Migration 0016: events recorded before it take their language from their notice and were recorded
    when they took effect; an event without a notice has no known language."""
    from alembic import command
    from sqlalchemy import Uuid, column, table

    from kluis.db import UTCDateTime
    from kluis.kit.ids import new_id
    from kluis.schema import alembic_config

    pid = person(kluis)
    with kluis.db.transaction() as session:
        notice = kluis.consents(session, "test")._notice(NOTICE_EN, "en")
    with_notice, without = new_id(), new_id()
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0015_intake_sliding_log")
        old = table("consent_event", column("id", Uuid()), column("person_id", Uuid()), column("purpose"),
                    column("action"), column("method"), column("at", UTCDateTime()), column("notice_hash"),
                    column("recorded_by"))
        common = {"person_id": pid, "purpose": "marketing_email", "method": "form", "at": clock.now(),
                  "recorded_by": "test"}
        conn.execute(old.insert(), [common | {"id": with_notice, "action": "given", "notice_hash": notice},
                                    common | {"id": without, "action": "withdrawn", "notice_hash": None}])
        command.upgrade(config, "head")
    found = {e.id: (e.lang, e.recorded_at) for e in events(kluis, pid)}
    assert found == {with_notice: ("en", clock.now()), without: (None, clock.now())}

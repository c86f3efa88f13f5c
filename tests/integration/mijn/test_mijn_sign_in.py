"""Mijn privacy's sign-in (R-DSR-1): a code mailed only to a known address, the same answer for an unknown one,
the code's life and tries, the intake's rate limits, CSRF, short sessions and signing out. Real SMTP on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.forms import form_token
from tests.integration.mijn.mijn_support import PAGE, ask_code, code_in, enter_code, session_token, sign_in
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.audit.models import AuditEvent
from kluis.mijn import rules
from kluis.mijn.models import PersonSession, PersonSignIn


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def test_r_dsr_1_known_and_unknown_address_get_the_same_answer_only_known_gets_mail(client, kluis, catcher):
    new_person(kluis, "bekend@example.nl")
    known, unknown = ask_code(client, "bekend@example.nl"), ask_code(client, "niemand@example.nl")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"]
    assert set(known.cookies) == set(unknown.cookies)
    pages = [client.get(r.headers["location"]) for r in (known, unknown)]
    assert pages[0].status_code == pages[1].status_code == 200
    strip = [p.text.replace(form_token(client, f"{PAGE}/code"), "T") for p in pages]
    assert strip[0].replace(session_token(pages[0].text), "T") == strip[1].replace(session_token(pages[1].text), "T")
    send_all(kluis)
    assert [m.to for m in catcher.messages] == [("bekend@example.nl",)]
    with kluis.db.sessions() as session:
        stored = session.scalars(select(PersonSignIn)).all()
        assert len(stored) == 2
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("mijn.%"))
                                 .order_by(AuditEvent.seq)).all()
    assert "bekend@example.nl" not in str([(r.digest, r.browser_key) for r in stored])
    assert all("@" not in str(e.details) for e in events)


def test_r_dsr_1_code_signs_in_and_the_session_cookie_is_http_only_samesite(client, kluis, catcher):
    new_person(kluis, "bekend@example.nl")
    assert ask_code(client, "bekend@example.nl", "en").status_code == 303
    send_all(kluis)
    entered = enter_code(client, code_in(catcher.messages[-1]), "en")
    assert entered.status_code == 303
    cookie = next(h for h in entered.headers.get_list("set-cookie") if h.startswith("kluis_mijn_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/mijn-privacy" in cookie
    page = client.get(f"{PAGE}?lang=en")
    assert page.status_code == 200 and "My privacy" in page.text and "Sign out" in page.text
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "mijn.signed_in")) == 1


def test_r_dsr_1_session_cookie_is_secure_when_configured(kluis, catcher, settings):
    from fastapi.testclient import TestClient

    from kluis.app import create_app

    kluis.settings = settings.model_copy(update={"cookie_secure": True})
    new_person(kluis, "bekend@example.nl")
    with TestClient(create_app(kluis), base_url="https://testserver") as secure:
        assert ask_code(secure, "bekend@example.nl").status_code == 303
        send_all(kluis)
        entered = enter_code(secure, code_in(catcher.messages[-1]))
    cookie = next(h for h in entered.headers.get_list("set-cookie") if h.startswith("kluis_mijn_session="))
    assert "Secure" in cookie


def test_r_dsr_1_wrong_codes_count_and_the_fifth_ends_the_code(client, kluis, catcher):
    new_person(kluis, "bekend@example.nl")
    ask_code(client, "bekend@example.nl")
    send_all(kluis)
    right = code_in(catcher.messages[-1])
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(rules.MAX_TRIES):
        assert enter_code(client, wrong).status_code == 422
    assert enter_code(client, right).status_code == 422  # used up: even the right code no longer works
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PersonSession)) == 0
        refused = session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "mijn.code_refused"))
    assert refused == rules.MAX_TRIES


def test_r_dsr_1_code_lapses(client, kluis, catcher, clock):
    new_person(kluis, "bekend@example.nl")
    ask_code(client, "bekend@example.nl")
    send_all(kluis)
    clock.advance(rules.CODE_LIFETIME + timedelta(seconds=1))
    assert enter_code(client, code_in(catcher.messages[-1])).status_code == 422


def test_r_dsr_1_code_works_only_in_the_browser_that_asked(client, kluis, catcher):
    from fastapi.testclient import TestClient

    from kluis.app import create_app

    new_person(kluis, "bekend@example.nl")
    ask_code(client, "bekend@example.nl")
    send_all(kluis)
    with TestClient(create_app(kluis)) as other:
        assert enter_code(other, code_in(catcher.messages[-1])).status_code == 422


def test_r_dsr_1_rate_limited_per_address_the_same_for_known_and_unknown(client, kluis, catcher, settings):
    kluis.settings = settings.model_copy(update={"intake_per_client": 100})  # only the address's limit here
    new_person(kluis, "bekend@example.nl")
    limit = settings.intake_per_address
    for email in ("bekend@example.nl", "niemand@example.nl"):
        answers = [ask_code(client, email).status_code for _ in range(limit + 1)]
        assert answers == [303] * limit + [429]
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PersonSignIn)) == 2 * limit


def test_r_dsr_1_rate_limited_per_client_network(client, kluis, catcher, settings):
    answers = [ask_code(client, f"iemand{i}@example.nl").status_code for i in range(settings.intake_per_client + 1)]
    assert answers == [303] * settings.intake_per_client + [429]


def test_r_dsr_1_sign_in_without_the_form_token_writes_nothing(client, kluis, catcher):
    new_person(kluis, "bekend@example.nl")
    refused = client.post(f"{PAGE}/sign-in", data={"email": "bekend@example.nl", "csrf": "forged"})
    assert refused.status_code == 403
    send_all(kluis)
    assert catcher.messages == []
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PersonSignIn)) == 0


def test_r_dsr_1_session_ends_when_idle_and_at_its_absolute_end(client, kluis, catcher, clock):
    new_person(kluis, "bekend@example.nl")
    sign_in(client, kluis, catcher, "bekend@example.nl")
    clock.advance(rules.SESSION_IDLE + timedelta(seconds=1))
    assert "Stuur mij een code" in client.get(PAGE).text  # idle too long: signed out
    sign_in(client, kluis, catcher, "bekend@example.nl")
    for _ in range(int(rules.SESSION_ABSOLUTE / (rules.SESSION_IDLE / 2))):
        clock.advance(rules.SESSION_IDLE / 2)
        client.get(PAGE)  # kept busy, never idle
    assert "Stuur mij een code" in client.get(PAGE).text


def test_r_dsr_1_sign_out_ends_the_session_on_the_server(client, kluis, catcher):
    new_person(kluis, "bekend@example.nl")
    page = sign_in(client, kluis, catcher, "bekend@example.nl")
    kept = client.cookies.get("kluis_mijn_session")
    out = client.post(f"{PAGE}/sign-out", data={"csrf": session_token(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("kluis_mijn_session", kept, path=PAGE)  # a copy of the cookie kept by someone
    assert "Stuur mij een code" in client.get(PAGE).text
    with kluis.db.sessions() as session:
        assert session.scalars(select(PersonSession)).one().ended_at is not None
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "mijn.signed_out")) == 1


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_dsr_1_the_statement_and_the_request_form_link_to_mijn_privacy(client, lang):
    statement = client.get(f"/privacy?lang={lang}").text
    assert f'href="/mijn-privacy?lang={lang}"' in statement
    assert f'href="/privacy-centre/request?lang={lang}"' in statement
    assert f'href="/mijn-privacy?lang={lang}"' in client.get(f"/privacy-centre/request?lang={lang}").text
    page = client.get(f"{PAGE}?lang={lang}")
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    assert ("Inloggen op Mijn privacy" if lang == "nl" else "Sign in to My privacy") in page.text

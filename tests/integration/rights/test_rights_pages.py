"""The privacy centre's request pages and the account API (R-DSR-1, R-DSR-2): same page for a known and an
unknown address, codes by e-mail, the status page only behind its signed link. Real SMTP on loopback."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.forms import REQUEST_PAGE, filled, form_token
from tests.helpers import api_key, headers
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.rights.models import DataSubjectRequest


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def submit(client, email, kind="access", lang="nl", scope=""):
    return client.post("/privacy-centre/request", data={"type": kind, "email": email, "lang": lang, "scope": scope,
                                                     "csrf": form_token(client)},
                       follow_redirects=False)


def code_in(message):
    return re.search(r"^\s+(\d{6})\s*$", message.text, re.M).group(1)


def normalised(html, token):
    return html.replace(token, "TOKEN")


def test_r_dsr_1_form_is_bilingual_and_labelled(client):
    nl = client.get("/privacy-centre/request")
    en = client.get("/privacy-centre/request?lang=en")
    assert nl.status_code == en.status_code == 200
    assert '<html lang="nl">' in nl.text and '<label for="email">Uw e-mailadres</label>' in nl.text
    assert '<html lang="en">' in en.text and '<label for="email">Your e-mail address</label>' in en.text
    assert nl.headers["cache-control"] == "no-store"


def test_r_dsr_1_known_and_unknown_address_look_the_same_only_known_gets_mail(client, kluis, catcher):
    new_person(kluis)
    known, unknown = submit(client, "vrager@example.nl"), submit(client, "niemand@example.nl")
    assert known.status_code == unknown.status_code == 303
    known_token = known.headers["location"].split("/")[3]
    unknown_token = unknown.headers["location"].split("/")[3]
    known_page, unknown_page = client.get(known.headers["location"]), client.get(unknown.headers["location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert normalised(known_page.text, known_token) == normalised(unknown_page.text, unknown_token)
    send_all(kluis)
    assert [m.to for m in catcher.messages] == [("vrager@example.nl",)]
    wrong = client.post(f"/privacy-centre/requests/{unknown_token}/code", data={"csrf": form_token(client),
                                   "code": "000000"})
    assert wrong.status_code == 422
    resent = [client.post(f"/privacy-centre/requests/{t}/new-code", data=filled(client, REQUEST_PAGE))
              for t in (known_token, unknown_token)]
    assert [r.status_code for r in resent] == [200, 200]
    assert normalised(resent[0].text, known_token) == normalised(resent[1].text, unknown_token)


def test_r_dsr_1_code_verifies_and_status_page_shows_state_and_amsterdam_deadline(client, kluis, catcher, clock):
    person_id, _ = new_person(kluis)
    location = submit(client, "vrager@example.nl", kind="objection", scope="profiling", lang="en").headers["location"]
    token = location.split("/")[3]
    send_all(kluis)
    verified = client.post(f"/privacy-centre/requests/{token}/code?lang=en",
                           data={"csrf": form_token(client),
                                   "code": code_in(catcher.messages[-1])}, follow_redirects=False)
    assert verified.status_code == 303
    page = client.get(verified.headers["location"])
    assert page.status_code == 200 and "Confirmed" in page.text and "Profiling" in page.text
    assert "2026-12-25" in page.text  # received 25 November 2026, 13:00 in Amsterdam; issue 19 §3: kit.i18n.day
    with kluis.db.sessions() as session:
        assert session.scalars(select(DataSubjectRequest)).one().person_id == person_id
    assert client.get(location, follow_redirects=False).status_code == 303  # verified: the code form sends you on


def test_r_dsr_1_code_wrong_then_rate_limit_on_the_page(client, kluis, catcher):
    new_person(kluis)
    token = submit(client, "vrager@example.nl").headers["location"].split("/")[3]
    bad = client.post(f"/privacy-centre/requests/{token}/code", data={"csrf": form_token(client),
                                   "code": "abc"})
    assert bad.status_code == 422 and "klopt niet" in bad.text
    for expected in (200, 200, 429):
        sent = client.post(f"/privacy-centre/requests/{token}/new-code", data=filled(client, REQUEST_PAGE))
        assert sent.status_code == expected


# The same values in every run: pytest-xdist requires every worker to collect the same tests.
@pytest.mark.parametrize("token", ["nonsense", "A" * 60, "69117827-b332-4169-a719-08346559f2c2"])
def test_r_dsr_1_unknown_or_forged_tokens_get_the_same_404(client, kluis, token):
    pages = [client.get(f"/privacy-centre/requests/{token}"), client.get(f"/privacy-centre/requests/{token}/verify"),
             client.post(f"/privacy-centre/requests/{token}/code", data={"csrf": form_token(client),
                                   "code": "123456"}),
             client.post(f"/privacy-centre/requests/{token}/new-code", data=filled(client, REQUEST_PAGE))]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1


def test_r_dsr_1_a_token_for_another_request_id_cannot_be_made(client, kluis):
    new_person(kluis)
    token = submit(client, "vrager@example.nl").headers["location"].split("/")[3]
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert client.get(f"/privacy-centre/requests/{tampered}").status_code == 404


def test_r_dsr_1_account_api_verified_at_once_with_deadline(client, kluis, catcher, clock):
    person_id, _ = new_person(kluis)
    auth = api_key(kluis, ["accounts"])
    made = client.post(f"/api/v1/people/{person_id}/requests", json={"type": "rectification", "lang": "en"},
                       headers=headers(auth, "accounts"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "verified" and body["deadline"] == "2026-12-25"
    assert body["deadline_at"].startswith("2026-12-25T23:00:00")
    assert client.get(body["status_path"] + "?lang=en").status_code == 200
    send_all(kluis)
    assert len(catcher.messages) == 2
    assert client.post(f"/api/v1/people/{person_id}/requests", json={"type": "access"},
                       headers=auth).status_code == 403
    refused = client.post(f"/api/v1/people/{person_id}/requests", json={"type": "objection"},
                          headers=headers(auth, "accounts"))
    assert refused.status_code == 422 and refused.json()["code"] == "objection_scope_required"
    missing = client.post(f"/api/v1/people/{uuid.uuid4()}/requests", json={"type": "access"},
                          headers=headers(auth, "accounts"))
    assert missing.status_code == 404
    clock.advance(timedelta(days=31))
    with kluis.db.sessions() as session:
        assert session.scalars(select(DataSubjectRequest)).one().state == "verified"

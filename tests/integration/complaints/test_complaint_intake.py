"""Complaints from the privacy centre and the account API (R-GOV-2): the same page for a known and an unknown
address, a form token, the intake's rate limits, a code confirming the address, the acknowledgement with the
deadline and the Autoriteit Persoonsgegevens' address; the text sealed at rest. Real SMTP on loopback."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from tests.forms import filled
from tests.helpers import api_key, headers, sealed_log
from tests.integration.complaints.complaint_support import nothing_holds, stored
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

TEXT = "Mijn gegevens zijn zonder toestemming gedeeld met een recruiter"
TOKEN = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def submit(client, email, text=TEXT, lang="nl", token=None):
    form = client.get(f"/privacy-centre/complaint?lang={lang}")
    data = {"email": email, "text": text, "lang": lang, "csrf": TOKEN.search(form.text)[1] if token is None else token}
    return client.post("/privacy-centre/complaint", data=data, follow_redirects=False)


def code_in(message):
    return re.search(r"^\s*(\d{6})\s*$", message.text, re.M).group(1)


def test_r_gov_2_form_is_bilingual(client):
    nl, en = client.get("/privacy-centre/complaint"), client.get("/privacy-centre/complaint?lang=en")
    assert nl.status_code == en.status_code == 200
    assert '<html lang="nl">' in nl.text and "Uw klacht" in nl.text and "vertrouwelijk" in nl.text
    assert '<html lang="en">' in en.text and "Your complaint" in en.text
    assert nl.headers["cache-control"] == "no-store"


def test_r_gov_2_known_and_unknown_address_look_the_same_code_then_acknowledgement(client, kluis, catcher):
    person_id, _ = new_person(kluis)
    known, unknown = submit(client, "vrager@example.nl"), submit(client, "niemand@example.nl")
    assert known.status_code == unknown.status_code == 303
    tokens = [r.headers["location"].split("/")[3] for r in (known, unknown)]
    pages = [client.get(r.headers["location"]) for r in (known, unknown)]
    assert pages[0].status_code == pages[1].status_code == 200
    assert pages[0].text.replace(tokens[0], "T") == pages[1].text.replace(tokens[1], "T")
    send_all(kluis)
    assert [m.to for m in catcher.messages] == [("vrager@example.nl",)]  # only the known address gets a code
    complaints, _ = stored(kluis)
    assert {c.state for c in complaints} == {"unverified"} and all(c.person_id is None for c in complaints)

    wrong = client.post(f"/privacy-centre/complaints/{tokens[1]}/code",
                        data=filled(client, f"/privacy-centre/complaints/{tokens[1]}/verify", code="123456"))
    assert wrong.status_code == 422
    confirmed = client.post(f"/privacy-centre/complaints/{tokens[0]}/code", follow_redirects=False,
                            data=filled(client, f"/privacy-centre/complaints/{tokens[0]}/verify",
                                        code=code_in(catcher.messages[0])))
    assert confirmed.status_code == 303
    status = client.get(confirmed.headers["location"])
    assert status.status_code == 200 and "In behandeling" in status.text and "23 dec 2026" in status.text
    assert "Postbus 93374" in status.text
    send_all(kluis)
    ack = catcher.messages[-1]
    assert ack.to == ("vrager@example.nl",) and "ontvangen" in ack.subject
    assert "23 dec 2026" in ack.text  # 25 November + 28 days, an Amsterdam calendar date
    assert "Autoriteit Persoonsgegevens" in ack.text and "Postbus 93374, 2509 AJ Den Haag" in ack.text
    assert "autoriteitpersoonsgegevens.nl" in ack.text
    assert TEXT not in ack.text
    mine = next(c for c in stored(kluis)[0] if c.state == "open")
    assert mine.person_id == person_id and mine.address_key is None
    assert nothing_holds(kluis, TEXT)
    assert sealed_log(kluis).ok


def test_r_gov_2_form_without_its_token_is_refused_and_writes_nothing(client, kluis):
    new_person(kluis)
    forged = submit(client, "vrager@example.nl", token="0" * 64)
    assert forged.status_code == 403 and "verlopen" in forged.text
    client.cookies.clear()
    no_cookie = client.post("/privacy-centre/complaint", data={"email": "vrager@example.nl", "text": TEXT,
                                                               "csrf": "x"})
    assert no_cookie.status_code == 403
    assert stored(kluis) == ([], [])


def test_r_gov_2_empty_text_is_refused_and_writes_nothing(client, kluis):
    new_person(kluis)
    empty = submit(client, "vrager@example.nl", text="   ")
    assert empty.status_code == 422 and "niet leeg" in empty.text
    assert stored(kluis) == ([], [])


def test_r_gov_2_intake_rate_limit_per_address_same_for_known_and_unknown(client, kluis, clock):
    new_person(kluis)
    limit = kluis.settings.intake_per_address
    for email in ("vrager@example.nl", "niemand@example.nl"):
        clock.advance(timedelta(minutes=kluis.settings.intake_client_window_minutes + 1))  # the client's limit ends
        answers = [submit(client, email, text=f"klacht {i}") for i in range(limit + 1)]
        assert [a.status_code for a in answers] == [303] * limit + [429]
        assert int(answers[-1].headers["retry-after"]) > 0
    assert len(stored(kluis)[0]) == 2 * limit  # the refused submits wrote nothing


def test_r_gov_2_status_page_answers_only_to_its_signed_link(client, kluis):
    new_person(kluis)
    token = submit(client, "vrager@example.nl").headers["location"].split("/")[3]
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert client.get(f"/privacy-centre/complaints/{tampered}").status_code == 404
    assert client.get(f"/privacy-centre/complaints/{tampered}/verify").status_code == 404
    assert client.get(f"/privacy-centre/complaints/{token}", follow_redirects=False).status_code == 303


def test_r_gov_2_account_api_files_and_acknowledges_someone_elses_id_is_unknown(client, kluis, catcher):
    person_id, _ = new_person(kluis)
    other_id, _ = new_person(kluis, email="ander@example.nl")
    auth = headers(api_key(kluis, ["accounts"]), "accounts")
    made = client.post(f"/api/v1/people/{person_id}/complaints", json={"text": TEXT, "lang": "en"}, headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "open" and body["channel"] == "account" and body["deadline"] == "2026-12-23"
    assert body["deadline_at"].startswith("2026-12-23T23:00:00") and "text" not in body
    assert client.get(f"/api/v1/people/{person_id}/complaints/{body['id']}", headers=auth).json()["state"] == "open"
    theirs = client.get(f"/api/v1/people/{other_id}/complaints/{body['id']}", headers=auth)
    unknown = client.get(f"/api/v1/people/{other_id}/complaints/{uuid.uuid4()}", headers=auth)
    assert theirs.status_code == unknown.status_code == 404 and theirs.json() == unknown.json()
    send_all(kluis)
    assert catcher.messages[-1].to == ("vrager@example.nl",)
    assert "Postbus 93374, 2509 AJ Den Haag" in catcher.messages[-1].text and "2026-12-23" in catcher.messages[-1].text
    assert nothing_holds(kluis, TEXT)


def test_r_gov_2_account_api_bad_input_writes_nothing(client, kluis):
    person_id, _ = new_person(kluis)
    auth = headers(api_key(kluis, ["accounts"]), "accounts")
    blank = client.post(f"/api/v1/people/{person_id}/complaints", json={"text": "  \n "}, headers=auth)
    assert blank.status_code == 422 and blank.json()["code"] == "text_required"
    empty = client.post(f"/api/v1/people/{person_id}/complaints", json={"text": ""}, headers=auth)
    nobody = client.post(f"/api/v1/people/{uuid.uuid4()}/complaints", json={"text": TEXT}, headers=auth)
    strange = client.post(f"/api/v1/people/{person_id}/complaints",
                          json={"text": TEXT, "request_id": str(uuid.uuid4())}, headers=auth)
    assert (empty.status_code, nobody.status_code, strange.status_code) == (422, 404, 404)
    assert stored(kluis) == ([], [])


def test_r_gov_2_api_is_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/people/{person_id}/complaints"]
    assert "get" in paths["/api/v1/people/{person_id}/complaints/{complaint_id}"]


def test_r_gov_2_new_code_counts_like_a_submit_three_an_hour(client, kluis, catcher):
    new_person(kluis)
    token = submit(client, "vrager@example.nl").headers["location"].split("/")[3]
    form = filled(client, f"/privacy-centre/complaints/{token}/verify")
    again = [client.post(f"/privacy-centre/complaints/{token}/new-code", data=form) for _ in range(3)]
    assert [a.status_code for a in again] == [200, 200, 429]  # the address's limit: 3 mails, the form's included
    send_all(kluis)
    assert len(catcher.messages) == 3

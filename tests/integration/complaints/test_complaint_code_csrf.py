"""The complaint's code forms refuse a cross-site post (R-GOV-2, as the request forms do: R-DSR-1): confirming
with the code and asking for a new one carry a token bound to a SameSite=Strict cookie, which a page elsewhere can
neither read nor make the browser send. A refused post counts no try, sends no code, counts nothing against the
limits and writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from tests.forms import filled, form_token
from tests.integration.complaints.complaint_support import stored
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.app import create_app
from kluis.complaints.models import ComplaintCode
from kluis.rights.models import IntakeLimit

TEXT = "Mijn gegevens zijn zonder toestemming gedeeld met een recruiter"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def codes(kluis):
    """(codes issued, tries counted, intake hits): what a post on a code form writes."""
    with kluis.db.sessions() as session:
        found = list(session.scalars(select(ComplaintCode)))
        hits = sum(len(limit.hits) for limit in session.scalars(select(IntakeLimit)))
    return len(found), sum(c.tries for c in found), hits


def filed(client):
    """A complaint from the form; returns its address on the privacy centre."""
    made = client.post("/privacy-centre/complaint", follow_redirects=False,
                       data=filled(client, "/privacy-centre/complaint", email="vrager@example.nl", text=TEXT))
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0].removesuffix("/verify")


def test_r_gov_2_r_dsr_1_complaint_code_forms_refuse_a_post_without_or_with_a_forged_token(client, kluis, catcher):
    new_person(kluis)
    path = filed(client)
    send_all(kluis)
    code = re.search(r"^\s*(\d{6})\s*$", catcher.messages[0].text, re.M).group(1)
    before = codes(kluis)
    for token in ({}, {"csrf": "0" * 64}, {"csrf": "x"}):
        for step in ("code", "new-code"):
            refused = client.post(f"{path}/{step}", data={"code": code} | token)
            assert refused.status_code == 403 and "Dit formulier is verlopen" in refused.text
    client.cookies.clear()  # the attacker's page: the browser sends no Strict cookie along
    with_token = form_token(TestClient(create_app(kluis)), f"{path}/verify")  # a token of another browser
    for step in ("code", "new-code"):
        assert client.post(f"{path}/{step}", data={"code": code, "csrf": with_token}).status_code == 403
    send_all(kluis)
    assert codes(kluis) == before and len(catcher.messages) == 1  # no try counted, no new code, no intake hit
    assert {c.state for c in stored(kluis)[0]} == {"unverified"}

    confirmed = client.post(f"{path}/code", data=filled(client, f"{path}/verify", code=code), follow_redirects=False)
    assert confirmed.status_code == 303 and {c.state for c in stored(kluis)[0]} == {"open"}


def test_r_gov_2_r_dsr_1_the_verify_page_gives_its_forms_the_token_and_keeps_the_browsers_cookie(client, kluis):
    new_person(kluis)
    path = filed(client)
    page = client.get(f"{path}/verify")
    assert page.text.count('name="csrf" value="') == 2 and 'name="csrf" value=""' not in page.text
    assert form_token(client, f"{path}/verify") == form_token(client, "/privacy-centre/complaint")  # one cookie
    asked = client.post(f"{path}/new-code", data=filled(client, f"{path}/verify"))
    assert asked.status_code == 200 and codes(kluis)[0] == 2

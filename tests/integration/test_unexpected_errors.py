"""No page and no API call ever answers a bare "Internal Server Error": an error nobody handled gets the
page's own error view (NL/EN on public pages) or problem+json, each with a reference id that is logged
without personal data (Interfaces, R-DSR-1, R-GATE-2)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from tests.forms import form_token
from tests.helpers import api_key, headers
from tests.integration.rights.test_rights_console import signed_in

from kluis.app import create_app
from kluis.rights.service import Rights
from kluis.vault.service import Vault

SECRET = "anna.devries@example.nl"


@pytest.fixture
def raw(kluis):
    """A client that sees what a browser sees, not the server's exception."""
    with TestClient(create_app(kluis), raise_server_exceptions=False) as test_client:
        yield test_client


def _broken(*args, **kwargs):
    raise RuntimeError(f"failed for {SECRET}")


def _logged_once(caplog, shown):
    """The one logged line's reference is the one the answer shows; the line names no personal data."""
    [line] = [r.getMessage() for r in caplog.records if r.name == "kluis.web"]
    reference = re.search(r"reference (\S+)$", line)[1]
    assert "RuntimeError" in line and reference in shown and SECRET not in caplog.text


def test_interfaces_a_console_page_answers_its_error_page_with_a_reference(raw, kluis, clock, monkeypatch, caplog):
    signed_in(raw, kluis, clock, "support")
    monkeypatch.setattr(Rights, "queue", _broken)
    with caplog.at_level(logging.ERROR, logger="kluis.web"):
        page = raw.get("/console/requests")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text and page.headers["X-Frame-Options"] == "DENY"
    _logged_once(caplog, page.text)


@pytest.mark.parametrize(("lang", "said"), [("nl", "Er ging iets mis"), ("en", "Something went wrong")])
def test_r_dsr_1_a_privacy_centre_page_answers_its_error_page_in_its_language(raw, monkeypatch, caplog, lang, said):
    monkeypatch.setattr(Rights, "accept_public", _broken)
    with caplog.at_level(logging.ERROR, logger="kluis.web"):
        page = raw.post(f"/privacy-centre/request?lang={lang}", data={"type": "access", "email": SECRET,
                                                                      "lang": lang, "csrf": form_token(raw)})
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert said in page.text and f'lang="{lang}"' in page.text and SECRET not in page.text
    _logged_once(caplog, page.text)


def test_r_gate_2_an_api_call_answers_problem_json_500_with_a_reference(raw, kluis, monkeypatch, caplog):
    auth = api_key(kluis, ["accounts"])
    monkeypatch.setattr(Vault, "identified", _broken)
    with caplog.at_level(logging.ERROR, logger="kluis.web"):
        answer = raw.post("/api/v1/people/lookup", headers=headers(auth, "accounts"),
                          json={"identifier": {"kind": "email", "value": SECRET}})
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "internal_error" and SECRET not in answer.text
    assert answer.headers["Kluis-Reference"] in answer.json()["detail"]
    _logged_once(caplog, answer.json()["detail"])

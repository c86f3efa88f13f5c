"""The public forms refuse a cross-site post (R-DSR-1; the marketing confirmation in
tests/integration/marketing/test_confirm_csrf.py): a page on another site can neither read the form's token nor
make the browser send the SameSite=Strict cookie it is bound to. Refused posts write nothing and count nothing
against the limits."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient
from tests.forms import REQUEST_PAGE, form_token

from kluis.app import create_app
from kluis.rights.models import DataSubjectRequest
from kluis.rights.models import IntakeLimit as IntakeHit

FORM = {"type": "access", "email": "vrager@example.nl", "lang": "en"}


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_r_dsr_1_a_cross_site_request_post_is_refused_and_writes_nothing(client, kluis):
    no_token = client.post("/privacy-centre/request", data=FORM, follow_redirects=False)
    assert no_token.status_code == 403 and "This form has expired" in no_token.text
    forged = client.post("/privacy-centre/request", data=FORM | {"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    assert _count(kluis, DataSubjectRequest) == 0 and _count(kluis, IntakeHit) == 0
    made = client.post("/privacy-centre/request", data=FORM | {"csrf": form_token(client)}, follow_redirects=False)
    assert made.status_code == 303 and _count(kluis, DataSubjectRequest) == 1


def test_r_dsr_1_a_token_works_only_with_the_cookie_of_the_browser_it_was_given_to(client, kluis):
    token = form_token(client, REQUEST_PAGE)
    with TestClient(create_app(kluis)) as other:  # another browser: its own cookie, or none
        assert other.post("/privacy-centre/request", data=FORM | {"csrf": token},
                          follow_redirects=False).status_code == 403
        form_token(other, REQUEST_PAGE)
        assert other.post("/privacy-centre/request", data=FORM | {"csrf": token},
                          follow_redirects=False).status_code == 403
    assert _count(kluis, DataSubjectRequest) == 0


def test_r_dsr_1_the_code_forms_refuse_a_post_without_the_token(client, kluis):
    made = client.post("/privacy-centre/request", data=FORM | {"csrf": form_token(client)}, follow_redirects=False)
    status = made.headers["location"].split("?")[0].removesuffix("/verify")
    client.cookies.clear()  # the attacker's page: the browser sends no Strict cookie along
    for path in (f"{status}/code", f"{status}/new-code"):
        refused = client.post(path, data={"code": "123456"})
        assert refused.status_code == 403 and "Dit formulier is verlopen" in refused.text

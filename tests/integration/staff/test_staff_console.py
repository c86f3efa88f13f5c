"""The staff console through HTTP (R-GATE-2): sign-in with TOTP, lockout, CSRF, sessions, roles."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from kluis.app import create_app
from kluis.audit.models import AuditEvent
from kluis.kit.clock import SettableClock
from kluis.staff import service
from kluis.staff.models import StaffAccount, StaffSession
from kluis.vault.schemas import IdentifierIn, PersonIn
from kluis.web.console import SESSION_COOKIE
from kluis.wiring import Kluis

PERSON_EMAIL = "jan.jansen@klant-voorbeeld.nl"
PERSON_PHONE = "+31612345678"
Login = Callable[[str, str, str], Response]


def _person(kluis: Kluis) -> str:
    with kluis.db.transaction() as session:
        person = kluis.vault(session, actor="test").create_person(PersonIn(
            subject_types=["employee"], identifiers=[IdentifierIn(kind="email", value=PERSON_EMAIL),
                                                     IdentifierIn(kind="phone", value="06 1234 5678")]))
        return str(person.id)


def _audit(kluis: Kluis, action: str) -> list[AuditEvent]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _head(kluis: Kluis) -> int:
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _sessions(kluis: Kluis) -> int:
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(StaffSession)) or 0


def _is_html(response: Response) -> bool:
    return response.headers["content-type"].startswith("text/html") and "<html lang=" in response.text


def test_r_gate_2_sign_in_end_to_end_with_totp(client: TestClient, kluis: Kluis, clock: SettableClock,
                                               add_member: Callable, try_login: Login) -> None:
    member = add_member("dpo")
    page = client.get("/console/login")
    assert page.status_code == 200 and _is_html(page)
    for field in ('for="email"', 'for="password"', 'for="code"', 'autocomplete="one-time-code"'):
        assert field in page.text
    response = try_login(member.email, member.password, member.code(clock))
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/console" in lowered
    assert f"max-age={kluis.settings.session_hours * 3600}" in lowered and "secure" not in lowered
    dashboard = client.get("/console")
    assert dashboard.status_code == 200 and "dpo" in dashboard.text and "Sealed through event" in dashboard.text
    assert "Sealing lag" in dashboard.text
    event = _audit(kluis, "staff.login_succeeded")[0]
    assert event.object_ids == [member.id] and event.actor == f"staff:{member.id}"


def test_r_gate_2_console_pages_carry_security_headers(client: TestClient, add_member: Callable,
                                                       sign_in: Callable) -> None:
    sign_in(add_member("auditor"))
    for path in ("/console/login", "/console", "/console/audit", "/console/people/x", "/console/console.css"):
        headers = client.get(path, follow_redirects=False).headers
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store", path


def test_r_gate_2_session_cookie_is_secure_when_configured(kluis: Kluis, clock: SettableClock,
                                                           add_member: Callable, csrf_of: Callable) -> None:
    member = add_member("dpo")
    kluis.settings.cookie_secure = True
    with TestClient(create_app(kluis), base_url="https://testserver") as client:
        page = client.get("/console/login")
        assert all("secure" in c.lower() for c in page.headers.get_list("set-cookie"))
        response = client.post("/console/login", data={"email": member.email, "password": member.password,
                                                       "code": member.code(clock), "csrf": csrf_of(page)},
                               follow_redirects=False)
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    assert "secure" in cookie.lower()


def test_r_gate_2_wrong_code_password_or_email_are_refused_alike(client: TestClient, kluis: Kluis,
                                                                 clock: SettableClock, add_member: Callable,
                                                                 try_login: Login) -> None:
    member = add_member("support")
    good = member.code(clock)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    attempts = [(member.email, member.password, wrong), (member.email, "Verkeerd-Wachtwoord-1", good),
                ("onbekend@benvitaal.nl", member.password, good)]
    bodies = []
    for email, password, code in attempts:
        response = try_login(email, password, code)
        assert response.status_code == 401 and SESSION_COOKIE not in response.cookies
        assert service.LOGIN_REFUSED in response.text
        bodies.append(re.sub(r'name="csrf" value="[^"]*"', "", response.text).replace(email, ""))
    assert len(set(bodies)) == 1, "the page must not tell which of the three was wrong"
    assert _sessions(kluis) == 0
    assert [e.details["reason"] for e in _audit(kluis, "staff.login_failed")] == ["code", "password",
                                                                                   "unknown_account"]
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_r_gate_2_lockout_after_failures_even_with_correct_credentials_then_lifted(
        client: TestClient, kluis: Kluis, clock: SettableClock, add_member: Callable, try_login: Login) -> None:
    member = add_member("support")
    for _ in range(kluis.settings.login_max_failures):
        assert try_login(member.email, "Verkeerd-Wachtwoord-1", member.code(clock)).status_code == 401
    locked = _audit(kluis, "staff.locked")
    assert len(locked) == 1 and locked[0].object_ids == [member.id]
    refused = try_login(member.email, member.password, member.code(clock))
    assert refused.status_code == 401 and service.LOGIN_REFUSED in refused.text
    clock.advance(timedelta(minutes=kluis.settings.login_lockout_minutes) - timedelta(seconds=1))
    assert try_login(member.email, member.password, member.code(clock)).status_code == 401
    clock.advance(timedelta(seconds=1))
    assert try_login(member.email, member.password, member.code(clock)).status_code == 303
    with kluis.db.sessions() as session:
        account = session.get(StaffAccount, uuid.UUID(member.id))
        assert account is not None and account.failed_logins == 0 and account.locked_until is None
    reasons = [e.details["reason"] for e in _audit(kluis, "staff.login_failed")]
    assert reasons == ["password"] * kluis.settings.login_max_failures + ["locked", "locked"]


def test_r_gate_2_a_totp_code_is_accepted_only_once(client: TestClient, kluis: Kluis, clock: SettableClock,
                                                     add_member: Callable, sign_in: Callable,
                                                     try_login: Login, csrf_of: Callable) -> None:
    member = add_member("dpo")
    code = member.code(clock)
    sign_in(member)
    page = client.get("/console")
    assert client.post("/console/logout", data={"csrf": csrf_of(page)}, follow_redirects=False).status_code == 303
    replay = try_login(member.email, member.password, code)
    assert replay.status_code == 401 and service.LOGIN_REFUSED in replay.text
    assert _audit(kluis, "staff.login_failed")[-1].details["reason"] == "code_replayed"
    # The previous step's code is older than the one used: refused as well.
    assert try_login(member.email, member.password, member.code(clock, offset=-1)).status_code == 401
    clock.advance(timedelta(seconds=30))
    assert try_login(member.email, member.password, member.code(clock)).status_code == 303


def test_r_gate_2_login_without_or_with_wrong_csrf_is_refused(client: TestClient, kluis: Kluis,
                                                               clock: SettableClock, add_member: Callable,
                                                               csrf_of: Callable) -> None:
    member = add_member("dpo")
    before = _head(kluis)
    form = {"email": member.email, "password": member.password, "code": member.code(clock)}
    page = client.get("/console/login")
    for data in (form, {**form, "csrf": "0" * 64}, {**form, "csrf": csrf_of(page) + "0"}):
        response = client.post("/console/login", data=data, follow_redirects=False)
        assert response.status_code == 403 and _is_html(response)
        assert SESSION_COOKIE not in response.cookies
    client.cookies.clear()
    response = client.post("/console/login", data={**form, "csrf": csrf_of(page)}, follow_redirects=False)
    assert response.status_code == 403, "a token without its pre-session cookie is refused"
    assert _sessions(kluis) == 0 and _head(kluis) == before


def test_r_gate_2_logout_needs_csrf_and_ends_the_session_server_side(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable, csrf_of: Callable) -> None:
    sign_in(add_member("dpo"))
    token = client.cookies.get(SESSION_COOKIE)
    assert token and _sessions(kluis) == 1
    confirm = client.get("/console/logout")
    assert confirm.status_code == 200 and 'action="/console/logout"' in confirm.text
    for data in ({}, {"csrf": "forged"}):
        response = client.post("/console/logout", data=data, follow_redirects=False)
        assert response.status_code == 403 and _is_html(response)
    assert _sessions(kluis) == 1 and client.get("/console").status_code == 200
    response = client.post("/console/logout", data={"csrf": csrf_of(confirm)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert _sessions(kluis) == 0 and len(_audit(kluis, "staff.logged_out")) == 1
    client.cookies.set(SESSION_COOKIE, token, path="/console")
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"


@pytest.mark.parametrize("path", ["/console", "/console/audit", "/console/logout",
                                  "/console/people/00000000-0000-4000-8000-000000000000"])
def test_r_gate_2_unauthenticated_requests_go_to_the_login_page(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_r_gate_2_auditor_sees_the_audit_log_but_never_personal_data(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    person_id = _person(kluis)
    member = add_member("auditor")
    sign_in(member)
    audit_page = client.get("/console/audit")
    assert audit_page.status_code == 200 and "person.created" in audit_page.text
    assert "staff.login_succeeded" in audit_page.text
    person_page = client.get(f"/console/people/{person_id}")
    assert person_page.status_code == 403 and _is_html(person_page) and "auditor" in person_page.text
    pages = [client.get(p) for p in ("/console", "/console/audit", f"/console/people/{person_id}",
                                     "/console/logout")]
    for page in pages:
        assert "jan.jansen" not in page.text.lower() and "612345678" not in page.text
    assert _audit(kluis, "person.viewed") == []


def test_r_gate_2_support_sees_identifiers_and_the_view_is_audited(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    person_id = _person(kluis)
    member = add_member("support")
    sign_in(member)
    page = client.get(f"/console/people/{person_id}")
    assert page.status_code == 200 and PERSON_EMAIL in page.text and PERSON_PHONE in page.text
    viewed = _audit(kluis, "person.viewed")
    assert len(viewed) == 1
    assert viewed[0].actor == f"staff:{member.id}" and viewed[0].object_ids == [person_id]
    assert "jansen" not in str(viewed[0].details) and "612345678" not in str(viewed[0].details)
    assert client.get("/console/audit").status_code == 403
    assert "Sealed through event" not in client.get("/console").text


def test_r_gate_2_marketing_may_not_read_personal_data(client: TestClient, kluis: Kluis,
                                                       add_member: Callable, sign_in: Callable) -> None:
    person_id = _person(kluis)
    sign_in(add_member("marketing"))
    page = client.get(f"/console/people/{person_id}")
    assert page.status_code == 403 and PERSON_EMAIL not in page.text
    assert client.get("/console/audit").status_code == 403


@pytest.mark.parametrize("path", ["/console/people/not-a-uuid",
                                  "/console/people/00000000-0000-4000-8000-000000000000", "/console/nowhere"])
def test_r_gate_2_console_errors_are_html_pages(client: TestClient, add_member: Callable, sign_in: Callable,
                                                path: str) -> None:
    sign_in(add_member("dpo"))
    response = client.get(path)
    assert response.status_code == 404 and _is_html(response)
    assert response.headers["x-frame-options"] == "DENY"


def test_r_gate_2_only_console_errors_become_html(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_r_gate_2_dashboard_counts_people(client: TestClient, kluis: Kluis, add_member: Callable,
                                          sign_in: Callable) -> None:
    _person(kluis)
    sign_in(add_member("marketing"))
    page = client.get("/console")
    assert page.status_code == 200 and "<dd>1</dd>" in page.text and "marketing" in page.text


def test_r_cons_2_route_c_staff_register_an_opt_out_sent_to_the_dpo(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable, csrf_of: Callable) -> None:
    """The person e-mailed dpo@benvitaal.nl; support registers it in the console with the reference."""
    from kluis.consent.marketing.service import Marketing
    from kluis.consent.models import ConsentEvent

    person_id = _person(kluis)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").give(uuid.UUID(person_id), "marketing_email", method="form",
                                            notice_text="Ja.", lang="nl")
    sign_in(add_member("support"))
    page = client.get(f"/console/people/{person_id}")
    assert "Subscribed" in page.text
    url = f"/console/people/{person_id}/marketing-opt-out"
    forged = client.post(url, data={"csrf": "x" * 64, "reference": "DPO-1"}, follow_redirects=False)
    assert forged.status_code == 403
    no_reference = client.post(url, data={"csrf": csrf_of(page), "reference": " "}, follow_redirects=False)
    assert no_reference.status_code == 422
    with kluis.db.sessions() as session:
        assert Marketing(session, kluis, "t").subscribed(uuid.UUID(person_id))
    done = client.post(url, data={"csrf": csrf_of(page), "reference": "DPO-2026-031",
                                  "received_at": "2026-11-25T13:00"}, follow_redirects=False)
    assert done.status_code == 303
    with kluis.db.sessions() as session:
        assert not Marketing(session, kluis, "t").subscribed(uuid.UUID(person_id))
        event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq.desc())).first()
    assert (event.method, event.reference, event.recorded_by.startswith("staff:")) == ("dpo_email", "DPO-2026-031",
                                                                                       True)
    assert "registered" in client.get(done.headers["location"]).text


def test_r_cons_2_auditor_may_not_register_opt_outs(client: TestClient, kluis: Kluis, add_member: Callable,
                                                    sign_in: Callable) -> None:
    person_id = _person(kluis)
    sign_in(add_member("auditor"))
    response = client.post(f"/console/people/{person_id}/marketing-opt-out", data={"csrf": "x", "reference": "R"},
                           follow_redirects=False)
    assert response.status_code == 403

"""The staff console's pages: sign in and out, dashboard, a person's identifiers, the audit log."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from kluis.audit import service as audit
from kluis.audit import verifications
from kluis.audit import verify as audit_log
from kluis.audit.models import AuditEvent
from kluis.consent.marketing import Marketing
from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import DomainError, Invalid, NotAllowed, NotFound, Problem
from kluis.kit.ids import token as random_token
from kluis.mail import service as mail
from kluis.staff import service
from kluis.staff.rules import Permission
from kluis.staff.service import LoginRefused, SignedIn
from kluis.vault.models import Person, Record
from kluis.web.deps import kluis_of
from kluis.web.problems import http_headers
from kluis.wiring import Kluis

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SESSION_COOKIE = "kluis_console"
LOGIN_COOKIE = "kluis_console_login"  # the pre-session nonce the login form's CSRF token is bound to
AUDIT_PAGE = 50
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_TITLES = {400: "Not understood", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 410: "Gone",
           422: "Not accepted"}
_HTTP_MESSAGES = {404: "There is no such page in the console.", 405: "This page does not take that kind of request."}
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")

templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters["when"] = lambda at: (datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(
    AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S %Z")  # a datetime, or an ISO instant from a service's history


class SignInRequired(Exception):
    """No valid session: the browser is sent to the login page."""


class ConsoleRoute(APIRoute):
    """Every console response carries the security headers; errors become HTML pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse("/console/login", status_code=303)
            except DomainError as exc:
                response = _error_page(request, exc.status, exc.message, problems=exc.problems)
            except RequestValidationError:
                response = _error_page(request, 400, "The request was not understood.")
            except HTTPException as exc:
                response = _error_page(request, exc.status_code, str(exc.detail))
            response.headers.update(SECURITY_HEADERS)
            return response

        return route


router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the console's pages; unknown console addresses get an HTML page too, other paths keep
    whatever handler the application set for them."""
    app.include_router(router)
    fallback = app.exception_handlers.get(HTTPException)

    async def console_http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and _in_console(request):
            response = _error_page(request, exc.status_code, _HTTP_MESSAGES.get(exc.status_code, str(exc.detail)),
                                   look_up_staff=False)
            response.headers.update({**http_headers(request, exc), **SECURITY_HEADERS})
            return response
        if fallback is None:
            raise exc
        answer = fallback(request, exc)  # Starlette takes plain and async handlers alike
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(HTTPException, console_http_error)


def unexpected_page(request: Request, reference: str) -> Response:
    """A console page's answer to an error nobody handled (``kluis.web.unexpected``): the console's own error
    page, without looking up who is signed in (the database may be what failed)."""
    response = _error_page(request, 500, f"Something went wrong on our side; nothing was saved. If it happens "
                                         f"again, quote reference {reference}.", look_up_staff=False)
    response.headers.update(SECURITY_HEADERS)
    return response


def _in_console(request: Request) -> bool:
    return request.url.path == router.prefix or request.url.path.startswith(router.prefix + "/")


# --- helpers ----------------------------------------------------------------------------------


def _sign(kluis: Kluis, purpose: str, value: str) -> str:
    return hmac.new(kluis.keys.secret, f"kluis/console/{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _session_csrf(kluis: Kluis, staff: SignedIn) -> str:
    # Bound to the server-side session, so a token from another session (or a stolen page) is useless.
    return _sign(kluis, "session-csrf", staff.session_id)


def _signed_in(request: Request, session: Session) -> SignedIn | None:
    kluis = kluis_of(request)
    return service.session_for(session, kluis.clock, request.cookies.get(SESSION_COOKIE))


def _require(request: Request, session: Session, permission: Permission) -> SignedIn:
    staff = _signed_in(request, session)
    if staff is None:
        raise SignInRequired()
    if not staff.may(permission):
        raise NotAllowed(f"Your role ({staff.role}) may not open this page.", code="role_not_allowed")
    return staff


def _page(request: Request, name: str, title: str, staff: SignedIn | None = None, status: int = 200,
          **context: Any) -> Response:
    kluis = kluis_of(request)
    base = {"title": title, "staff": staff, "csrf": _session_csrf(kluis, staff) if staff else "",
            "can_audit": bool(staff and staff.may(Permission.AUDIT_READ)),
            "can_hold": bool(staff and staff.may(Permission.LEGAL_HOLDS)),
            "can_breach": bool(staff and staff.may(Permission.BREACH_REPORT)),
            "can_orders": bool(staff and staff.may(Permission.ORDERS_RECORD))}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _error_page(request: Request, status: int, message: str, look_up_staff: bool = True,
                problems: Sequence[Problem] = ()) -> Response:
    staff = None
    if look_up_staff:
        with kluis_of(request).db.sessions() as session:
            staff = _signed_in(request, session)
    return _page(request, "staff/error.html", _TITLES.get(status, "Something went wrong"), staff, status,
                 message=message, problems=list(problems))


def _set_cookie(response: Response, kluis: Kluis, name: str, value: str, max_age: int, path: str,
                expires: datetime | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, expires=expires, path=path, httponly=True,
                        samesite="strict", secure=kluis.settings.cookie_secure)


def _delete_cookie(response: Response, kluis: Kluis, name: str, path: str) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite="strict", secure=kluis.settings.cookie_secure)


def _login_page(request: Request, nonce: str, error: str | None = None, email: str = "",
                status: int = 200) -> Response:
    kluis = kluis_of(request)
    response = _page(request, "staff/login.html", "Sign in", status=status, error=error, email=email,
                     csrf=_sign(kluis, "login-csrf", nonce))
    _set_cookie(response, kluis, LOGIN_COOKIE, nonce, max_age=3600, path="/console/login")
    return response


# --- pages ------------------------------------------------------------------------------------


@router.get("/console.css")
def stylesheet() -> Response:
    return Response(_stylesheet(), media_type="text/css")


@cache
def _stylesheet() -> str:
    return (TEMPLATES / "staff" / "console.css").read_text(encoding="utf-8")


@router.get("/login")
def login_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        if _signed_in(request, session) is not None:
            return RedirectResponse("/console", status_code=303)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return _login_page(request, nonce if _NONCE.match(nonce) else random_token(32))


@router.post("/login")
def login_submit(request: Request, email: Annotated[str, Form(max_length=320)] = "",
                 password: Annotated[str, Form(max_length=1024)] = "",
                 code: Annotated[str, Form(max_length=16)] = "",
                 csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    kluis = kluis_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not _NONCE.match(nonce) or not _same(_sign(kluis, "login-csrf", nonce), csrf):
        raise NotAllowed("This sign-in form has expired. Open the sign-in page again and retry.",
                         code="csrf_invalid")
    refused = False
    with kluis.db.transaction() as session:
        try:
            token = service.login(session, kluis.clock, kluis.keys, kluis.settings, email, password, code)
        except LoginRefused:
            # Commit the failed attempt (counter, lock, audit event) instead of rolling it back.
            refused = True
    if refused:
        return _login_page(request, random_token(32), service.LOGIN_REFUSED, email, status=401)
    response = RedirectResponse("/console", status_code=303)
    hours = kluis.settings.session_hours
    _set_cookie(response, kluis, SESSION_COOKIE, token, max_age=hours * 3600, path="/console",
                expires=service.session_expiry(kluis.clock.now(), hours))
    _delete_cookie(response, kluis, LOGIN_COOKIE, "/console/login")
    return response


@router.get("/logout")
def logout_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = _require(request, session, Permission.CONSOLE)
    return _page(request, "staff/logout.html", "Sign out", staff)


@router.post("/logout")
def logout_submit(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = _require(request, session, Permission.CONSOLE)
        if not _same(_session_csrf(kluis, staff), csrf):
            raise NotAllowed("This form has expired. Reload the page and try again.", code="csrf_invalid")
        service.logout(session, kluis.clock, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    _delete_cookie(response, kluis, SESSION_COOKIE, "/console")
    return response


@router.get("")
def dashboard(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = _require(request, session, Permission.CONSOLE)
        people = session.scalar(select(func.count()).select_from(Person).where(Person.shredded_at.is_(None)))
        records = session.scalar(select(func.count()).select_from(Record))
        audits = staff.may(Permission.AUDIT_READ)
        sealing = audit_log.status(session, kluis_of(request).clock) if audits else None
        verified = verifications.last(session, kluis_of(request).clock, kluis_of(request).settings) if audits else None
        stuck_count, stuck = mail.stuck(session, kluis_of(request).clock.now())
    return _page(request, "staff/dashboard.html", "Dashboard", staff, active="dashboard", people=people or 0,
                 records=records or 0, sealing=sealing, verified=verified, stuck_count=stuck_count, stuck=stuck)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = _require(request, session, Permission.PEOPLE_READ)
        vault = kluis.vault(session, actor=staff.actor)
        person = vault.person(_person_id(person_id))
        rows = vault.identifiers_of(person.id)
        identifiers = [(row.kind, row.scope, vault.identifier_value(row)) for row in rows]
        records = list(session.scalars(select(Record).where(Record.person_id == person.id)
                                       .order_by(Record.collected_at, Record.id)))
        audit.append(session, kluis.clock, actor=staff.actor, action="person.viewed", object_type="person",
                     object_ids=[person.id], details={"via": "console",
                                                      "identifier_kinds": sorted({r.kind for r in rows}),
                                                      "records_listed": len(records)})
        subscribed = Marketing(session, kluis, staff.actor).subscribed(person.id)
        consents = kluis.consents(session, staff.actor).history(person.id)  # the proof of each (R-CONS-1)
    return _page(request, "staff/person.html", "Person", staff, person=person, identifiers=identifiers,
                 records=records, subscribed=subscribed, consents=consents,
                 may_record=staff.may(Permission.REQUESTS_RECORD), notice=request.query_params.get("done"))


@router.post("/people/{person_id}/marketing-opt-out")
def register_opt_out(request: Request, person_id: str, csrf: Annotated[str, Form(max_length=128)] = "",
                     reference: Annotated[str, Form(max_length=80)] = "",
                     received_at: Annotated[str, Form(max_length=40)] = "",
                     lang: Annotated[str, Form(pattern="^(nl|en)$")] = "nl") -> Response:
    """Route (c) of the statement: the person e-mailed dpo@benvitaal.nl; staff register it with its reference,
    when it arrived (the withdrawal counts from then) and its language (the confirmation mail's)."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = _require(request, session, Permission.REQUESTS_RECORD)
        if not _same(_session_csrf(kluis, staff), csrf):
            raise NotAllowed("This form has expired. Reload the page and try again.", code="csrf_invalid")
        if not reference.strip():
            raise Invalid("Give the reference of the person's e-mail to the DPO.", code="reference_required")
        Marketing(session, kluis, staff.actor).opt_out(_person_id(person_id), "dpo_email",
                                                       reference=reference.strip(), lang=lang,
                                                       received_at=_amsterdam_instant(received_at))
    return RedirectResponse(f"/console/people/{person_id}?done=opt-out", status_code=303)


def _amsterdam_instant(text: str) -> datetime:
    """A time typed in the console: with its offset if given, else Amsterdam time (what the console shows)."""
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("Give when the e-mail reached benVitaal, e.g. 2026-11-25 09:30 (Amsterdam time).",
                      code="received_at_invalid",
                      problems=[Problem("received_at", "invalid", "a date and time")]) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=AMSTERDAM)


def _person_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise NotFound("No such person.", code="person_not_found") from exc


@router.get("/audit")
def audit_page(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = _require(request, session, Permission.AUDIT_READ)
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(AUDIT_PAGE)))
        sealing = audit_log.status(session, kluis_of(request).clock)
        verified = verifications.last(session, kluis_of(request).clock, kluis_of(request).settings)
    return _page(request, "staff/audit.html", "Audit log", staff, active="audit", events=events, sealing=sealing,
                 verified=verified)

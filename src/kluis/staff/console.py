"""The staff console's pages: sign in and out, dashboard, a person's identifiers, the audit log. What every
console page shares (the frame, the role check, the session's form token) is ``kluis.web.console``."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from kluis.audit import service as audit
from kluis.audit import verifications
from kluis.audit import verify as audit_log
from kluis.audit.models import AuditEvent
from kluis.consent.marketing.service import LIST as MARKETING_LIST
from kluis.consent.marketing.service import Marketing
from kluis.kit import i18n
from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import Invalid, NotAllowed, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.mail import service as mail
from kluis.rights.rules import short_reference
from kluis.staff import service
from kluis.staff.rules import Permission
from kluis.staff.service import LoginRefused
from kluis.vault import search as people_search
from kluis.vault.identifiers import IdentifierKind
from kluis.vault.models import Person, Record
from kluis.web import console
from kluis.web import dashboard as dashboard_figures
from kluis.web import person as person_view
from kluis.web.cookies import delete_strict_cookie, set_preference_cookie, set_strict_cookie
from kluis.web.csrf import CookieBound, new_nonce
from kluis.web.deps import kluis_of

AUDIT_PAGE = 50
SEARCH_MAX = 320
SEARCH_KINDS = {"email": N_("e-mail address"), "phone": N_("phone number"),
                "employee_number": N_("employee number")}
LANGUAGE_DAYS = 365
STYLESHEET = Path(__file__).resolve().parents[1] / "templates" / "staff" / "console.css"
LOGIN_FORM = CookieBound("console/login-csrf", "kluis_console_login", console.LOGIN_PATH)

router = APIRouter(prefix=console.PREFIX, route_class=console.ConsoleRoute, include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the console's own pages, and console error pages for every console address."""
    app.include_router(router)
    console.install_error_pages(app)


def _login_page(request: Request, nonce: str, error: str | None = None, email: str = "",
                status: int = 200) -> Response:
    kluis = kluis_of(request)
    response = console.page(request, "staff/login.html", _("Sign in"), status=status, error=error, email=email,
                            csrf=LOGIN_FORM.token(kluis.keys.secret, nonce))
    LOGIN_FORM.issue(response, kluis.settings, nonce)
    return response


# --- pages ------------------------------------------------------------------------------------


@router.get("/console.css")
def stylesheet() -> Response:
    return Response(_stylesheet(), media_type="text/css")


@cache
def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


@router.get("/language/{lang}")
def choose_language(request: Request, lang: str, next: str = console.PREFIX) -> Response:  # noqa: A002
    """The frame's switch: Dutch or English for this browser's console pages (a cookie for a year), then back.
    A signed-in staff member's choice is also stored with their account: their mails are written in it, and a
    sign-in on another browser starts in it. (The session cookie is SameSite=Strict: a link from another site
    arrives without it, so only the console itself can change what is stored.)"""
    if lang not in i18n.LANGUAGES:
        raise NotFound(_("The console speaks Dutch (nl) and English (en)."), code="language_unknown")
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.signed_in(request, session)
        account = service.account_by_id(session, staff.staff_id) if staff and staff.language != lang else None
        if staff is not None and account is not None:
            service.set_language(session, kluis.clock, account, lang, actor=staff.actor)
    response = RedirectResponse(console.back_to(next), status_code=303)
    set_preference_cookie(response, kluis_of(request).settings, console.LANGUAGE_COOKIE, lang,
                          max_age=LANGUAGE_DAYS * 86400, path=console.PREFIX)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        if console.signed_in(request, session) is not None:
            return RedirectResponse(console.PREFIX, status_code=303)
    return _login_page(request, LOGIN_FORM.nonce(request) or new_nonce())


@router.post("/login")
def login_submit(request: Request, email: Annotated[str, Form(max_length=320)] = "",
                 password: Annotated[str, Form(max_length=1024)] = "",
                 code: Annotated[str, Form(max_length=16)] = "",
                 csrf: console.Csrf = "") -> Response:
    kluis = kluis_of(request)
    if not LOGIN_FORM.valid(request, kluis.keys.secret, csrf):
        raise NotAllowed(_("This sign-in form has expired. Open the sign-in page again and retry."),
                         code="csrf_invalid")
    refused, signed = False, None
    with kluis.db.transaction() as session:
        try:
            token = service.login(session, kluis.clock, kluis.keys, kluis.settings, email, password, code)
            signed = service.session_for(session, kluis.clock, token)
        except LoginRefused:
            # Commit the failed attempt (counter, lock, audit event) instead of rolling it back.
            refused = True
    if refused:
        return _login_page(request, new_nonce(), _(service.LOGIN_REFUSED), email, status=401)
    response = RedirectResponse(console.PREFIX, status_code=303)
    hours = kluis.settings.session_hours
    set_strict_cookie(response, kluis.settings, console.SESSION_COOKIE, token, max_age=hours * 3600,
                      path=console.PREFIX, expires=service.session_expiry(kluis.clock.now(), hours))
    if signed is not None and signed.language and console.LANGUAGE_COOKIE not in request.cookies:
        # The stored choice follows the staff member to any browser; a choice made in this one stays.
        set_preference_cookie(response, kluis.settings, console.LANGUAGE_COOKIE, signed.language,
                              max_age=LANGUAGE_DAYS * 86400, path=console.PREFIX)
    delete_strict_cookie(response, kluis.settings, LOGIN_FORM.cookie, LOGIN_FORM.path)
    return response


@router.get("/logout")
def logout_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.CONSOLE)
    return console.page(request, "staff/logout.html", _("Sign out"), staff)


@router.post("/logout")
def logout_submit(request: Request, csrf: console.Csrf = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        console.require_form(request, session, Permission.CONSOLE, csrf)
        service.logout(session, kluis.clock, request.cookies.get(console.SESSION_COOKIE))
    response = RedirectResponse(console.LOGIN_PATH, status_code=303)
    delete_strict_cookie(response, kluis.settings, console.SESSION_COOKIE, console.PREFIX)
    return response


@router.get("")
def dashboard(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.CONSOLE)
        people = session.scalar(select(func.count()).select_from(Person).where(Person.shredded_at.is_(None)))
        records = session.scalar(select(func.count()).select_from(Record))
        audits = staff.may(Permission.AUDIT_READ)
        sealing = audit_log.status(session, kluis_of(request).clock) if audits else None
        verified = verifications.last(session, kluis_of(request).clock, kluis_of(request).settings) if audits else None
        stuck_count, stuck = mail.stuck(session, kluis_of(request).clock.now())
        found = dashboard_figures.figures(session, kluis_of(request).clock.now())
    return console.page(request, "staff/dashboard.html", _("Dashboard"), staff, active="dashboard",
                        people=people or 0, records=records or 0, sealing=sealing, verified=verified,
                        stuck_count=stuck_count, stuck=stuck, overdue=found.overdue,
                        charts=dashboard_figures.charts(found, console.term))


@router.get("/people")
def search_people(request: Request, q: str = "", kind: str = "") -> Response:
    """Find a person by e-mail, phone or employee number through the blind index; audited without the value."""
    kluis = kluis_of(request)
    chosen = _search_kind(kind)
    value = q.strip()
    if len(value) > SEARCH_MAX:
        raise Invalid(_("Type at most %(count)s characters.") % {"count": SEARCH_MAX}, code="search_too_long")
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.PEOPLE_READ)
        try:
            found = (people_search.search(session, kluis.clock, kluis.keys, staff.actor, value, chosen)
                     if value else None)
        except Invalid:  # without a chosen kind only a value with an @ must fit one: an e-mail address
            raise Invalid(_("This is not a valid %(kind)s.") % {"kind": _(SEARCH_KINDS[kind or "email"])},
                          code="search_invalid") from None
    return console.page(request, "staff/search.html", _("Find a person"), staff, active="search", searched=value,
                        kind=kind, kinds=SEARCH_KINDS, found=found)


def _search_kind(kind: str) -> IdentifierKind | None:
    if kind == "":
        return None
    if kind not in SEARCH_KINDS:
        raise Invalid(_("Search by e-mail address, phone number or employee number."), code="search_kind_unknown")
    return IdentifierKind(kind)


@router.get("/people/{person_id}")
def person_page(request: Request, person_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.PEOPLE_READ)
        vault = kluis.vault(session, actor=staff.actor)
        person = vault.person(console.uuid_of(person_id, "person"))
        rows = vault.identifiers_of(person.id)
        identifiers = list(zip([r.kind for r in rows], [r.scope for r in rows], vault.identifier_values(rows),
                               strict=True))
        consents = kluis.consents(session, staff.actor).history(person.id)  # the proof of each (R-CONS-1)
        view = person_view.gather(session, kluis, staff.actor, person, consents, console.term)
        audit.append(session, kluis.clock, actor=staff.actor, action="person.viewed", object_type="person",
                     object_ids=[person.id], details={"via": "console",
                                                      "identifier_kinds": sorted({r.kind for r in rows}),
                                                      "records_listed": len(view.records)})
    subscribed = view.allowed(MARKETING_LIST)  # what Marketing.subscribed asks the gate, decided above already
    return console.page(request, "staff/person.html", _("Person"), staff, person=person, identifiers=identifiers,
                        view=view, subscribed=subscribed, consents=consents, reference=short_reference,
                        may_record=staff.may(Permission.REQUESTS_RECORD), notice=request.query_params.get("done"))


@router.post("/people/{person_id}/marketing-opt-out")
def register_opt_out(request: Request, person_id: str, csrf: console.Csrf = "",
                     reference: Annotated[str, Form(max_length=80)] = "",
                     received_at: Annotated[str, Form(max_length=40)] = "",
                     lang: Annotated[str, Form(pattern="^(nl|en)$")] = "nl") -> Response:
    """Route (c) of the statement: the person e-mailed dpo@benvitaal.nl; staff register it with its reference,
    when it arrived (the withdrawal counts from then) and its language (the confirmation mail's)."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        if not reference.strip():
            raise Invalid(_("Give the reference of the person's e-mail to the DPO."), code="reference_required")
        Marketing(session, kluis, staff.actor).opt_out(console.uuid_of(person_id, "person"), "dpo_email",
                                                       reference=reference.strip(), lang=lang,
                                                       received_at=_amsterdam_instant(received_at))
    return RedirectResponse(f"/console/people/{person_id}?done=opt-out", status_code=303)


def _amsterdam_instant(text: str) -> datetime:
    """A time typed in the console: with its offset if given, else Amsterdam time (what the console shows)."""
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(_("Give when the e-mail reached benVitaal, e.g. 2026-11-25 09:30 (Amsterdam time)."),
                      code="received_at_invalid",
                      problems=[Problem("received_at", "invalid", _("a date and time"))]) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=AMSTERDAM)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.AUDIT_READ)
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(AUDIT_PAGE)))
        sealing = audit_log.status(session, kluis_of(request).clock)
        verified = verifications.last(session, kluis_of(request).clock, kluis_of(request).settings)
    return console.page(request, "staff/audit.html", _("Audit log"), staff, active="audit", events=events,
                        sealing=sealing, verified=verified)

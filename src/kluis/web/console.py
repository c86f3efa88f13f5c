"""What every staff console page shares, whichever domain serves it.

- ``ConsoleRoute``: the route class of every console router: the security headers on every answer, and errors
  as console pages (a missing session as the way to the login page), never JSON.
- ``require`` / ``require_form``: the signed-in staff member, who must hold the page's permission; a form must
  also carry this session's token (``session_csrf``, checked by ``check_csrf``).
- ``page``: the page frame: a template under ``templates/`` with the title, who is signed in, the navigation
  they may see and the session's form token.
- The language: Dutch or English, as the staff member chose in the frame (a cookie), else as their browser
  prefers, else English (``kluis.kit.i18n``, docs/i18n.md). Every console answer is rendered in it.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from kluis.kit import i18n
from kluis.kit.errors import DomainError, NotAllowed, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.staff import service as staff_service
from kluis.staff.navigation import menu
from kluis.staff.rules import Permission
from kluis.staff.service import SignedIn
from kluis.web.csrf import form_token, token_valid
from kluis.web.deps import kluis_of
from kluis.web.problems import http_headers
from kluis.web.threads import Threads
from kluis.wiring import Kluis

PREFIX = "/console"
LOGIN_PATH = PREFIX + "/login"
SESSION_COOKIE = "kluis_console"
LANGUAGE_COOKIE = "kluis_console_lang"  # the staff member's choice of NL or EN (SameSite=Lax, a preference only)
SESSION_CSRF = "console/session-csrf"  # the purpose of a signed-in page's form token
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TITLES = {400: N_("Not understood"), 403: N_("Not allowed"), 404: N_("Not found"), 405: N_("Not allowed"),
          410: N_("Gone"), 422: N_("Not accepted")}
HTTP_MESSAGES = {404: N_("There is no such page in the console."),
                 405: N_("This page does not take that kind of request.")}
NO_SUCH = {"person": N_("No such person."), "request": N_("No such request."), "record": N_("No such record."),
           "order": N_("No such order."), "complaint": N_("No such complaint."),
           "staff member": N_("No such staff member."), "erasure job": N_("No such erasure job."),
           "breach in the register": N_("No such breach in the register."), "legal hold": N_("No such legal hold."),
           "employer": N_("No such employer."), "notice": N_("No such notice.")}

Csrf = Annotated[str, Form(max_length=128)]  # the form field every console form posts its token in

# The stored values staff see in tables and choices (states, types, channels, reasons, roles), marked for the
# catalogs: the ``term`` filter shows them in the page's language; English shows them as stored.
TERMS = frozenset({
    N_("received"), N_("verified"), N_("in_progress"), N_("waiting_on_person"), N_("done"), N_("refused"),
    N_("expired"), N_("access"), N_("portability"), N_("rectification"), N_("erasure"), N_("restriction"),
    N_("objection"), N_("marketing"), N_("profiling"), N_("legitimate_interest"), N_("privacy_centre"),
    N_("account"), N_("staff"), N_("accuracy_contested"), N_("unlawful_processing"), N_("legal_claims"),
    N_("objection_pending"), N_("kept_by_law"), N_("other"), N_("queued"), N_("running"), N_("waiting"),
    N_("cancelled"), N_("request"), N_("retention"), N_("building"), N_("ready"), N_("failed"),
    N_("confidentiality"), N_("integrity"), N_("availability"), N_("no_risk"), N_("risk"), N_("high_risk"),
    N_("initial"), N_("follow_up"), N_("recorded"), N_("approved"), N_("rejected"), N_("unverified"), N_("open"),
    N_("answered"), N_("lapsed"), N_("person"), N_("category"), N_("employer"), N_("litigation"), N_("tax_audit"),
    N_("authority_order"), N_("investigation"), N_("dpo"), N_("support"), N_("auditor"), N_("upheld"),
    N_("overridden"), N_("pending"), N_("sent"), N_("given"), N_("withdrawn")})


def term(value: object) -> str:
    """A stored value (a state, a type, a reason) in the page's language; unknown values as stored."""
    text = str(value)
    return i18n.gettext(text) if text in TERMS else text


templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
# Each template is compiled once per process: the templates ship with the code, so checking their files for
# changes on every page (a stat of the page, the frame and the base) buys nothing.
templates.env.auto_reload = False
i18n.install(templates.env)
templates.env.filters["when"] = i18n.when  # a datetime, or an ISO instant from a service's history
templates.env.filters["day"] = i18n.day
templates.env.filters["term"] = term
templates.env.filters["local"] = lambda text: text.get("nl" if i18n.language() == "nl" else "en")  # a policy Text
templates.env.globals["language_names"] = i18n.NAMES  # each language in its own words (a choice of language)


# Console pages a server process works on at once (``kluis.web.threads``); more wait their turn, in order, holding
# no connection. A page holds a pooled connection from its first query to its commit. On the 40 threads a process
# runs plain handlers on, 64 clients took each process's pool past the 20 connections it keeps: the rest were
# opened and closed again page after page (77 in 15 s), and the pool ended each run bigger (issue 18 §6). Sixteen
# stay within what the pool keeps (kluis.db.POOL_SIZE), with room for the API and error pages beside them.
PAGE_THREADS = 16
PAGES = Threads(PAGE_THREADS)


class SignInRequired(Exception):
    """No valid session: the browser is sent to the login page."""


class ConsoleRoute(APIRoute):
    """Every console response carries the security headers; errors become HTML pages, not JSON. A page's handler
    (a plain function: it holds a database connection while it reads) runs on one of ``PAGE_THREADS`` threads."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = PAGES.runs(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            with i18n.speaking(language_of(request)):
                return await answer(request)

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse(LOGIN_PATH, status_code=303)
            except DomainError as exc:
                response = error_page(request, exc.status, exc.message, problems=exc.problems)
            except RequestValidationError:
                response = error_page(request, 400, _("The request was not understood."))
            except HTTPException as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            response.headers.update(SECURITY_HEADERS)
            return response

        return route


def install_error_pages(app: FastAPI) -> None:
    """Unknown console addresses (and other HTTP errors no console route raised) get a console page too; other
    paths keep whatever handler the application set for them."""
    fallback = app.exception_handlers.get(HTTPException)

    async def console_http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and in_console(request):
            with i18n.speaking(language_of(request)):
                response = error_page(request, exc.status_code,
                                      HTTP_MESSAGES.get(exc.status_code, str(exc.detail)), look_up_staff=False)
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
    with i18n.speaking(language_of(request)):
        message = _("Something went wrong on our side; nothing was saved. If it happens again, quote reference "
                    "%(reference)s.") % {"reference": reference}
        response = error_page(request, 500, message, look_up_staff=False)
    response.headers.update(SECURITY_HEADERS)
    return response


def in_console(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def language_of(request: Request) -> str:
    """NL or EN: the staff member's choice in the frame, else their browser's preference, else English."""
    return i18n.choose(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


# --- who is signed in, and may they ---------------------------------------------------------------


def signed_in(request: Request, session: Session) -> SignedIn | None:
    """The staff member whose session cookie this is, if the session is still valid."""
    return staff_service.session_for(session, kluis_of(request).clock, request.cookies.get(SESSION_COOKIE))


def require(request: Request, session: Session, permission: Permission) -> SignedIn:
    """The signed-in staff member, who must hold ``permission``: else the login page (no session) or 403."""
    staff = signed_in(request, session)
    if staff is None:
        raise SignInRequired()
    if not staff.may(permission):
        raise NotAllowed(_("Your role (%(role)s) may not open this page.") % {"role": term(staff.role)},
                         code="role_not_allowed")
    return staff


def session_csrf(kluis: Kluis, staff: SignedIn) -> str:
    """The form token of the staff member's pages, bound to their server-side session."""
    return form_token(kluis.keys.secret, SESSION_CSRF, staff.session_id)


def check_csrf(kluis: Kluis, staff: SignedIn, given: str) -> None:
    """A posted form must carry this session's token: a page on another site cannot know it."""
    if not token_valid(kluis.keys.secret, SESSION_CSRF, staff.session_id, given):
        raise NotAllowed(_("This form has expired. Reload the page and try again."), code="csrf_invalid")


def require_form(request: Request, session: Session, permission: Permission, csrf: str) -> SignedIn:
    """``require`` for a posted form: the staff member, who must hold ``permission`` and have sent their token."""
    staff = require(request, session, permission)
    check_csrf(kluis_of(request), staff, csrf)
    return staff


def uuid_of(text: str, what: str, code: str | None = None) -> uuid.UUID:
    """An id from an address or a form; anything else is "No such <what>." (404), in the page's language."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        message = _(NO_SUCH[what]) if what in NO_SUCH else f"No such {what}."
        raise NotFound(message, code=code or f"{what}_not_found") from None


# --- pages --------------------------------------------------------------------------------------


def page(request: Request, name: str, title: str, staff: SignedIn | None = None, status: int = 200,
         **context: Any) -> Response:
    """The template ``name`` in the console's frame, in the request's language: the navigation shows what
    ``staff`` may open; the language switch comes back to this address."""
    kluis = kluis_of(request)
    # The switch reloads this address; the answer to a posted form has none to reload (it would post again).
    here = (request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method == "GET" else PREFIX)
    base = {"title": title, "staff": staff, "csrf": session_csrf(kluis, staff) if staff else "",
            "lang": i18n.language(), "here": here, "menu": menu(staff.role) if staff else [],
            "can_search": bool(staff and staff.may(Permission.PEOPLE_READ))}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def error_page(request: Request, status: int, message: str, look_up_staff: bool = True,
               problems: Sequence[Problem] = ()) -> Response:
    """The console's error page. The message and each problem are shown in the page's language when the catalog
    has them (a domain error keeps its English text for the API; marked with ``N_``, it is translated here)."""
    staff = None
    if look_up_staff:
        with kluis_of(request).db.sessions() as session:
            staff = signed_in(request, session)
    shown = [Problem(p.path, p.code, i18n.translate(p.message)) for p in problems]
    return page(request, "staff/error.html", _(TITLES.get(status, N_("Something went wrong"))), staff, status,
                message=i18n.translate(message), problems=shown)


def back_to(next_page: str) -> str:
    """Where the language switch returns: a console address on this site, else the dashboard."""
    inside = next_page == PREFIX or next_page.startswith((PREFIX + "/", PREFIX + "?"))
    return next_page if inside and "\\" not in next_page and "://" not in next_page else PREFIX

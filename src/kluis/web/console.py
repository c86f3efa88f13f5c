"""What every staff console page shares, whichever domain serves it.

- ``ConsoleRoute``: the route class of every console router: the security headers on every answer, and errors
  as console pages (a missing session as the way to the login page), never JSON.
- ``require`` / ``require_form``: the signed-in staff member, who must hold the page's permission; a form must
  also carry this session's token (``session_csrf``, checked by ``check_csrf``).
- ``page``: the page frame: a template under ``templates/`` with the title, who is signed in, the navigation
  they may see and the session's form token.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import DomainError, NotAllowed, NotFound, Problem
from kluis.staff import service as staff_service
from kluis.staff.rules import Permission
from kluis.staff.service import SignedIn
from kluis.web.csrf import form_token, token_valid
from kluis.web.deps import kluis_of
from kluis.web.problems import http_headers
from kluis.wiring import Kluis

PREFIX = "/console"
LOGIN_PATH = PREFIX + "/login"
SESSION_COOKIE = "kluis_console"
SESSION_CSRF = "console/session-csrf"  # the purpose of a signed-in page's form token
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TITLES = {400: "Not understood", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 410: "Gone",
          422: "Not accepted"}
HTTP_MESSAGES = {404: "There is no such page in the console.", 405: "This page does not take that kind of request."}

Csrf = Annotated[str, Form(max_length=128)]  # the form field every console form posts its token in

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
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
                response = RedirectResponse(LOGIN_PATH, status_code=303)
            except DomainError as exc:
                response = error_page(request, exc.status, exc.message, problems=exc.problems)
            except RequestValidationError:
                response = error_page(request, 400, "The request was not understood.")
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
            response = error_page(request, exc.status_code, HTTP_MESSAGES.get(exc.status_code, str(exc.detail)),
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
    response = error_page(request, 500, f"Something went wrong on our side; nothing was saved. If it happens "
                                        f"again, quote reference {reference}.", look_up_staff=False)
    response.headers.update(SECURITY_HEADERS)
    return response


def in_console(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


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
        raise NotAllowed(f"Your role ({staff.role}) may not open this page.", code="role_not_allowed")
    return staff


def session_csrf(kluis: Kluis, staff: SignedIn) -> str:
    """The form token of the staff member's pages, bound to their server-side session."""
    return form_token(kluis.keys.secret, SESSION_CSRF, staff.session_id)


def check_csrf(kluis: Kluis, staff: SignedIn, given: str) -> None:
    """A posted form must carry this session's token: a page on another site cannot know it."""
    if not token_valid(kluis.keys.secret, SESSION_CSRF, staff.session_id, given):
        raise NotAllowed("This form has expired. Reload the page and try again.", code="csrf_invalid")


def require_form(request: Request, session: Session, permission: Permission, csrf: str) -> SignedIn:
    """``require`` for a posted form: the staff member, who must hold ``permission`` and have sent their token."""
    staff = require(request, session, permission)
    check_csrf(kluis_of(request), staff, csrf)
    return staff


def uuid_of(text: str, what: str, code: str | None = None) -> uuid.UUID:
    """An id from an address or a form; anything else is "No such <what>." (404)."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise NotFound(f"No such {what}.", code=code or f"{what}_not_found") from None


# --- pages --------------------------------------------------------------------------------------


def page(request: Request, name: str, title: str, staff: SignedIn | None = None, status: int = 200,
         **context: Any) -> Response:
    """The template ``name`` in the console's frame: the navigation shows what ``staff`` may open."""
    kluis = kluis_of(request)
    base = {"title": title, "staff": staff, "csrf": session_csrf(kluis, staff) if staff else "",
            "can_audit": bool(staff and staff.may(Permission.AUDIT_READ)),
            "can_hold": bool(staff and staff.may(Permission.LEGAL_HOLDS)),
            "can_breach": bool(staff and staff.may(Permission.BREACH_REPORT)),
            "can_orders": bool(staff and staff.may(Permission.ORDERS_RECORD)),
            "can_requests": bool(staff and staff.may(Permission.REQUESTS_RECORD))}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def error_page(request: Request, status: int, message: str, look_up_staff: bool = True,
               problems: Sequence[Problem] = ()) -> Response:
    staff = None
    if look_up_staff:
        with kluis_of(request).db.sessions() as session:
            staff = signed_in(request, session)
    return page(request, "staff/error.html", TITLES.get(status, "Something went wrong"), staff, status,
                message=message, problems=list(problems))

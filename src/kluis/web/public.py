"""The public pages' frame (the statement, the privacy centre, the marketing and cookie pages): their language, their
templates, and their HTML error page.

- Language: ``?lang=nl`` or ``?lang=en`` (a form posts it as a field too); anything else, or none, is Dutch, the
  statement's own language. An unsupported language (``?lang=de``) is not an error: the page answers in Dutch, and
  its language switch offers English. ``PublicRoute`` sets the language (``kluis.kit.i18n.speaking``) around every
  handler, so ``gettext`` in the handler and ``_()`` in its template answer in it. Docs: docs/i18n.md.
- Templates: one Jinja environment with the same gettext callables and ``when``/``day`` filters as the console, and
  ``switch(lang)``, the address of the same page (its parameters kept) in the other language.
- After the answer: ``after_answer``, the step of a code's held message (``kluis.mail.addressing``) run once the
  answer has left, so a form answers as fast for a known address as for an unknown one (R-DSR-1).
- Errors: an unknown address, a bad parameter or a refused HTTP method on a public path (and on any path a browser
  asks for as a page, outside the API) answers the HTML error page in the page's language; the API keeps
  problem+json (``kluis.web.problems``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask
from starlette.responses import Response

from kluis.kit import i18n
from kluis.kit.i18n import gettext as _
from kluis.mail import addressing
from kluis.wiring import Kluis

DEFAULT = "nl"
PAGES = ("/privacy", "/marketing", "/cookies/demo", "/mijn-privacy")  # /privacy also covers /privacy-centre
API = ("/api/", "/cookies/api/", "/console", "/docs", "/redoc", "/openapi.json", "/health")
# The field every public form posts its CSRF token in, and what a form whose token lapsed says.
Csrf = Annotated[str, Form(max_length=128)]
FORM_EXPIRED = i18n.N_("This form has expired. Open the page again and retry.")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff"}
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
i18n.install(templates.env)
templates.env.filters["when"] = i18n.when
templates.env.filters["day"] = i18n.day


def language_in(value: object) -> str:
    """The page's language from a ``lang`` parameter: one Kluis speaks, else Dutch."""
    return value if isinstance(value, str) and value in i18n.LANGUAGES else DEFAULT


async def language_of(request: Request) -> str:
    """``?lang=`` of the address, else the ``lang`` field of a posted form (Starlette keeps the parsed form, so the
    handler reads the same one), else Dutch."""
    given: object = request.query_params.get("lang")
    if given is None and request.method == "POST" and "form" in request.headers.get("content-type", ""):
        given = (await request.form()).get("lang")
    return language_in(given)


def current() -> str:
    return i18n.language()


Lang = Annotated[str, Depends(current)]  # a handler's language, as PublicRoute set it


class PublicRoute(APIRoute):
    """The route class of the public routers: every handler (its dependencies and template too) answers in the page's
    language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            with i18n.speaking(await language_of(request)) as lang:
                response = await handler(request)
            response.headers.setdefault("Content-Language", lang)
            return response

        return route


def switch(request: Request, lang: str) -> str:
    """The address of this page in ``lang``, its other parameters kept (relative, so one page answering at several
    addresses, the "not found" page, reads the same at each). A page answering a form post links to the page the
    form was on (the post's last step only takes a POST)."""
    query = urlencode([*((key, value) for key, value in request.query_params.multi_items() if key != "lang"),
                       ("lang", lang)])
    return f"{_page_of_post(request.url.path)}?{query}" if request.method == "POST" else f"?{query}"


def _page_of_post(path: str) -> str:
    for step, page in (("/code", "/verify"), ("/new-code", "/verify"), ("/sign-in", "")):
        if path.endswith(step):
            return path[: -len(step)] + page
    return path


templates.env.globals["switch"] = switch
log = logging.getLogger("kluis.web")
PERSON = "person"


def after_answer(kluis: Kluis, outbox_id: uuid.UUID) -> BackgroundTask:
    """R-DSR-1: the step of a code's held message (whether the address is known, and so whom the code goes to) runs
    once the answer has left, in its own transaction: the answer takes as long for every address. The message was
    written with the answer, so should this never run (the process died) or fail, the worker runs it."""

    def run() -> None:
        try:
            with kluis.db.transaction() as session:
                addressing.address(session, kluis, outbox_id, PERSON)
        except Exception as exc:  # the answer has gone; its text may hold values, so log the class
            log.error("mail %s: the step after the answer failed (%s); the worker runs it", outbox_id,
                      type(exc).__name__)

    return BackgroundTask(run)


def wants_page(request: Request) -> bool:
    """Whether an error on this request is shown as the HTML page (a public path, or a browser asking for a page
    outside the API) rather than problem+json."""
    path = request.url.path
    if path.startswith(API) or path == "/cookies/api":
        return False
    if path.startswith(PAGES):
        return True
    return "text/html" in request.headers.get("accept", "")


ERRORS = {
    400: (i18n.N_("This address is not right"), i18n.N_("A value in this address is not one we can use. Check the "
                                                         "link, or start again from the privacy statement.")),
    404: (i18n.N_("Page not found"), i18n.N_("There is no page at this address. Check the link, or start again "
                                             "from the privacy statement.")),
    405: (i18n.N_("This page cannot do that"), i18n.N_("This page cannot be used this way. Open it again from the "
                                                       "privacy statement.")),
    413: (i18n.N_("Too much at once"), i18n.N_("What you sent is too large. Please send less.")),
}


def error_page(request: Request, status: int, *, reference: str = "") -> Response:
    """The public error page for ``status`` in the request's language (a 422 of a parameter shows as 400)."""
    shown = 400 if status == 422 else status
    if reference:
        title, body = _("Something went wrong"), _("Something went wrong on our side; nothing of yours was saved. "
                                                   "Please try again later. If you contact us, quote:")
    else:
        title, body = (i18n.translate(text) for text in ERRORS.get(shown, ERRORS[400]))
    return templates.TemplateResponse(request, "error.html", {
        "lang": i18n.language(), "title": title, "body": body, "reference": reference, "missing": True},
        status_code=shown, headers=HEADERS)


async def answer_error(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    with i18n.speaking(language_in(request.query_params.get("lang"))):
        response = error_page(request, status)
    response.headers.update(headers or {})
    return response

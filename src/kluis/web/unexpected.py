"""The last word on an error nobody handled: never a bare "Internal Server Error" (hostile input, Interfaces).

The API answers problem+json 500; a console page answers the console's error page; a public page (the
privacy statement, the privacy centre, the marketing pages) answers its error page in Dutch or English.
Each answer carries a reference id that is also logged, with the error's type and where it was raised but
never its message or the request's address, either of which can hold personal data. The error is not raised
on to the server, whose own log would print both.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kluis.kit import i18n
from kluis.kit.ids import token
from kluis.web import public
from kluis.web.problems import problem

log = logging.getLogger("kluis.web")
Page = Callable[[Request, str], Response]


class Unexpected:
    """ASGI middleware, outermost: every layer inside it (the hot paths too) is covered. ``pages`` maps a path
    prefix to the page that tells a browser (the console adds its own, see ``kluis.web.console``)."""

    def __init__(self, app: Any, pages: dict[str, Page]) -> None:
        self.app, self.pages = app, pages

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the point of this layer
            reference = logged(scope, exc)
            if not started:  # else the client already has a status line; the connection is closed short
                await self.answer(Request(scope), reference)(scope, receive, send)

    def answer(self, request: Request, reference: str) -> Response:
        path = request.url.path
        for prefix, page in self.pages.items():
            if path == prefix or path.startswith(prefix + "/"):
                return page(request, reference)
        if public.wants_page(request):
            return public_page(request, reference)
        response = problem(500, "internal_error", f"something went wrong on our side; nothing was saved. "
                                                  f"Reference: {reference}")
        response.headers["Kluis-Reference"] = reference
        return response


def logged(scope: dict[str, Any], exc: BaseException) -> str:
    """A new reference id, logged with the error's type, the route's template and the innermost frame."""
    reference = token(6)
    route = scope.get("route")
    frame = (traceback.extract_tb(exc.__traceback__) or [None])[-1]
    where = f"{frame.filename}:{frame.lineno} in {frame.name}" if frame else "?"
    log.error("unexpected %s on %s %s at %s; reference %s", type(exc).__name__, scope.get("method"),
              getattr(route, "path", "(no route)"), where, reference)
    return reference


def public_page(request: Request, reference: str) -> Response:
    with i18n.speaking(public.language_in(request.query_params.get("lang"))):
        return public.error_page(request, 500, reference=reference)

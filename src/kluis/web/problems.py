"""One handler turns every error into application/problem+json (RFC 9457) with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from kluis.kit.errors import DomainError, Problem
from kluis.web import public

log = logging.getLogger("kluis.web")
MEDIA_TYPE = "application/problem+json"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def problem(status: int, code: str, detail: str, problems: list[Problem] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"urn:kluis:problem:{code}", "title": code.replace("_", " "),
                            "status": status, "code": code, "detail": detail}
    if problems:
        body["errors"] = [p.as_dict() for p in problems]
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message, exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if public.wants_page(request):  # a bad parameter of a page (issue 19 §1): the page's HTML error
            return await public.answer_error(request, 400)
        problems = [Problem(_path(tuple(e.get("loc", ()))), str(e.get("type", "invalid")), str(e.get("msg", "")))
                    for e in exc.errors()]
        return problem(422, "request_invalid", f"the request was not accepted: {len(problems)} problem(s)",
                       problems)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity conflict: %s", type(exc.orig).__name__)
        return problem(409, "conflict", "the change collided with another one (a value that must be unique?); "
                                        "nothing was saved, try again")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if public.wants_page(request):  # an unknown page, a refused method: the HTML error page (issue 19 §1)
            return await public.answer_error(request, exc.status_code, http_headers(request, exc))
        response: Response = problem(exc.status_code, f"http_{exc.status_code}", str(exc.detail))
        response.headers.update(http_headers(request, exc))
        return response


def http_headers(request: Request, exc: HTTPException) -> dict[str, str]:
    """The headers an HTTP error keeps; a 405 names every method its path takes (RFC 9110 requires Allow),
    over all the path's routes: Starlette names only those of the first route it tried."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(method for method in METHODS if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes))
    return headers


DOCUMENTED = {401: "No valid API key", 403: "The key may not do this, or not for this purpose",
              404: "No such resource", 409: "In conflict with the current state", 413: "The request body is too large",
              422: "The request was not accepted (errors[] names each problem and its path)",
              429: "Too many requests; try again later", 500: "Something went wrong on our side (quote the reference)"}
PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "code": {"type": "string"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["path", "code", "message"],
            "properties": {"path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


def body_of(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route whose answer is not JSON (a page, a script, a stream): its one media type, so the
    document does not claim FastAPI's default ``application/json`` for it."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


def document(app: FastAPI) -> None:
    """The OpenAPI document declares, for every operation, the problem+json answers any of them can give (the
    handlers above, the body limit, the rate limits), in place of FastAPI's own 422 shape, which no answer has."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI caches the document; it is completed once
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" in components:
            return schema
        components["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                # A text answer (a page, the Markdown statement) gives its own errors (an unknown version, say) as
                # the HTML error page; the rest are problem+json.
                text = [kind for kind in responses.get("200", {}).get("content", {}) if kind.startswith("text/")]
                pages = {kind: {"schema": {"type": "string"}} for kind in [*text, "text/html"] if text}
                for status, description in DOCUMENTED.items():
                    responses[str(status)] = {"description": description, "content": {
                        MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}, **pages}}
                if text:  # a page's bad parameter answers its HTML error page (kluis.web.public), not a 422
                    responses["400"] = {"description": "A parameter of the page is not one it can use",
                                        "content": {"text/html": {"schema": {"type": "string"}}}}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema

"""The public privacy statement pages: ``/privacy`` (HTML) and ``/privacy.md`` (Markdown), NL and EN (R-POL-3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kluis.policy.render import Format, render_statement
from kluis.policy.schemas import LANGS, Lang, Policy, version_label

router = APIRouter()

LangQuery = Annotated[str, Query(description="Language of the statement: nl (default) or en; others fall "
                                             "back to nl.")]


@router.get("/privacy", response_class=HTMLResponse, summary="Privacy statement (HTML page)")
def privacy_statement(request: Request, lang: LangQuery = "nl") -> Response:
    return _statement(request, lang, "html", "text/html; charset=utf-8")


@router.get("/privacy.md", summary="Privacy statement (Markdown)")
def privacy_statement_markdown(request: Request, lang: LangQuery = "nl") -> Response:
    return _statement(request, lang, "md", "text/markdown; charset=utf-8")


def _statement(request: Request, requested: str, fmt: Format, media_type: str) -> Response:
    # An unknown language is not worth an error page for someone who wants to read the statement.
    lang: Lang = requested if requested in LANGS else "nl"
    policy: Policy = request.app.state.kluis.policy
    content_hash = policy.content_hash
    headers = {"Content-Language": lang, "ETag": f'"{content_hash[:16]}-{lang}-{fmt}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    body = render_statement(policy, lang, fmt, version=version_label(content_hash))
    return Response(body, media_type=media_type, headers=headers)

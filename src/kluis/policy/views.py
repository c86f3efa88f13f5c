"""The public privacy statement pages (R-POL-3): ``/privacy`` (HTML) and ``/privacy.md`` (Markdown), NL and EN,
of the version in force or of any stored version (``?version=N``), and ``/privacy/history``: every version with
its dates and what changed, in plain words (R-GOV-4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kluis.kit.i18n import gettext as _
from kluis.policy.diff import describe, diff
from kluis.policy.render import Format, Period, moment_text, render_statement
from kluis.policy.schemas import LANGS, Lang, Policy
from kluis.policy.timeline import Version
from kluis.web import problems
from kluis.web.deps import kluis_of
from kluis.web.public import PublicRoute, templates

router = APIRouter(route_class=PublicRoute)

LangQuery = Annotated[str, Query(description="Language of the statement: nl (default) or en; others fall "
                                             "back to nl.")]
VersionQuery = Annotated[int | None, Query(ge=1, le=1_000_000, description="A stored version (default: the one "
                                                                           "in force).")]
@router.get("/privacy", response_class=HTMLResponse, summary="Privacy statement (HTML page)")
def privacy_statement(request: Request, lang: LangQuery = "nl", version: VersionQuery = None) -> Response:
    return _statement(request, lang, version, "html", "text/html; charset=utf-8")


@router.get("/privacy.md", summary="Privacy statement (Markdown)", response_class=Response,
            responses=problems.body_of("text/markdown", "The statement as Markdown"))
def privacy_statement_markdown(request: Request, lang: LangQuery = "nl", version: VersionQuery = None) -> Response:
    return _statement(request, lang, version, "md", "text/markdown; charset=utf-8")


@router.get("/privacy/history", response_class=HTMLResponse, summary="Versions of the privacy statement and what "
                                                                     "changed")
def privacy_history(request: Request, lang: LangQuery = "nl") -> Response:
    language = _lang(lang)
    kluis = kluis_of(request)
    now = kluis.clock.now()
    versions = kluis.timeline.versions(now)
    items = [_item(v, versions, language, now) for v in reversed(versions)]
    return _page(request, language, items=items, missing=None)


def _lang(requested: str) -> Lang:
    # An unknown language is not worth an error page for someone who wants to read the statement.
    return requested if requested in LANGS else "nl"


def _statement(request: Request, requested: str, seq: int | None, fmt: Format, media_type: str) -> Response:
    lang = _lang(requested)
    kluis = kluis_of(request)
    now = kluis.clock.now()
    shown = kluis.timeline.in_force(now) if seq is None else kluis.timeline.version(seq, now)
    if seq is not None and (shown is None or shown.policy is None):
        return _page(request, lang, items=[], missing=seq, status=404)
    policy: Policy = kluis.policy if shown is None or shown.policy is None else shown.policy
    upcoming = kluis.timeline.upcoming(now) if seq is None else None
    period = Period(shown.effective_from, shown.until, upcoming.effective_from if upcoming else None) \
        if shown is not None else None
    # People read a version as its number with the date it took effect (shown beside it), not as a hash.
    label = str(shown.seq) if shown is not None else None
    tag = f"{policy.content_hash[:16]}-{shown.seq if shown else 0}-{upcoming.seq if upcoming else 0}-{lang}-{fmt}"
    headers = {"Content-Language": lang, "ETag": f'"{tag}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    text = render_statement(policy, lang, fmt, version=label, period=period, pinned=seq)
    return Response(text, media_type=media_type, headers=headers)


def _item(version: Version, versions: list[Version], lang: Lang, now: Any) -> dict[str, Any]:
    if version.in_force_at(now):
        when = _("applies now")
    elif version.effective_from > now:
        when = _("takes effect on %(moment)s") % {"moment": moment_text(version.effective_from, lang)}
    elif version.until is not None and version.until > version.effective_from:
        when = _("applied from %(start)s until %(end)s") % {"start": moment_text(version.effective_from, lang),
                                                             "end": moment_text(version.until, lang)}
    else:
        when = _("never took effect")
    before = next((v.policy for v in versions if v.seq == version.previous), None)
    changes: list[dict[str, Any]] = []
    if version.policy is not None and before is not None:
        changes = [{"text": describe(c, before, version.policy, lang), "material": c.material}
                   for c in diff(before, version.policy)]
    return {"seq": version.seq, "label": str(version.seq), "when": when, "readable": version.policy is not None,
            "changes": changes, "first": version.previous is None and version.policy is not None}


def _page(request: Request, lang: Lang, *, items: list[dict[str, Any]], missing: int | None,
          status: int = 200) -> Response:
    return templates.TemplateResponse(request, "policy/history.html", {
        "lang": lang, "items": items, "missing": missing}, status_code=status, headers={"Content-Language": lang})

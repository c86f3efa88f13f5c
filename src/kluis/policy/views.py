"""The public privacy statement pages (R-POL-3): ``/privacy`` (HTML) and ``/privacy.md`` (Markdown), NL and EN,
of the version in force or of any stored version (``?version=N``), and ``/privacy/history``: every version with
its dates and what changed, in plain words (R-GOV-4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kluis.policy.diff import describe, diff
from kluis.policy.render import LABELS, Format, Period, moment_text, render_statement
from kluis.policy.schemas import LANGS, Lang, Policy, version_label
from kluis.policy.timeline import Version
from kluis.web import problems
from kluis.web.deps import kluis_of
from kluis.web.public import PublicRoute, templates

router = APIRouter(route_class=PublicRoute)

LangQuery = Annotated[str, Query(description="Language of the statement: nl (default) or en; others fall "
                                             "back to nl.")]
VersionQuery = Annotated[int | None, Query(ge=1, le=1_000_000, description="A stored version (default: the one "
                                                                           "in force).")]
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Versies van de privacyverklaring", "Versions of the privacy statement"),
    "intro": ("Hier staat elke versie van onze privacyverklaring, wanneer die gold en wat er ten opzichte van de "
              "vorige versie veranderde.", "Every version of our privacy statement, when it applied and what changed "
              "from the version before."),
    "in_force": ("geldt nu", "applies now"), "coming": ("gaat in op {moment}", "takes effect on {moment}"),
    "from_until": ("gold van {start} tot {end}", "applied from {start} until {end}"),
    "never": ("is nooit ingegaan", "never took effect"), "read": ("Lees deze versie", "Read this version"),
    "material": ("belangrijke wijziging", "significant change"), "first": ("De eerste versie.", "The first version."),
    "no_text": ("De tekst van deze versie is niet bewaard.", "The text of this version was not kept."),
    "missing": ("Deze versie van de privacyverklaring bestaat niet.",
                "This version of the privacy statement does not exist."),
    "statement": ("Privacyverklaring", "Privacy statement"),
}


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
    label = shown.label if shown is not None else version_label(policy.content_hash)
    tag = f"{policy.content_hash[:16]}-{shown.seq if shown else 0}-{upcoming.seq if upcoming else 0}-{lang}-{fmt}"
    headers = {"Content-Language": lang, "ETag": f'"{tag}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(render_statement(policy, lang, fmt, version=label, period=period), media_type=media_type,
                    headers=headers)


def _item(version: Version, versions: list[Version], lang: Lang, now: Any) -> dict[str, Any]:
    i = 0 if lang == "nl" else 1
    if version.in_force_at(now):
        when = WORDS["in_force"][i]
    elif version.effective_from > now:
        when = WORDS["coming"][i].format(moment=moment_text(version.effective_from, lang))
    elif version.until is not None and version.until > version.effective_from:
        when = WORDS["from_until"][i].format(start=moment_text(version.effective_from, lang),
                                             end=moment_text(version.until, lang))
    else:
        when = WORDS["never"][i]
    before = next((v.policy for v in versions if v.seq == version.previous), None)
    changes: list[dict[str, Any]] = []
    if version.policy is not None and before is not None:
        changes = [{"text": describe(c, before, version.policy, lang), "material": c.material}
                   for c in diff(before, version.policy)]
    return {"seq": version.seq, "label": version.label, "when": when, "readable": version.policy is not None,
            "changes": changes, "first": version.previous is None and version.policy is not None}


def _page(request: Request, lang: Lang, *, items: list[dict[str, Any]], missing: int | None,
          status: int = 200) -> Response:
    i = 0 if lang == "nl" else 1
    words = {key: value[i] for key, value in WORDS.items()} | {"version": LABELS["version"][i]}
    return templates.TemplateResponse(request, "policy/history.html", {
        "lang": lang, "other": "en" if lang == "nl" else "nl", "w": words, "items": items, "missing": missing,
        "suffix": "&lang=en" if lang == "en" else ""}, status_code=status, headers={"Content-Language": lang})

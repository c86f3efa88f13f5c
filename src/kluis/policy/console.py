"""The records of processing in the staff console (R-GOV-5): a page with the downloads, and the download
itself (CSV, JSON, PDF; NL or EN), for the roles that check the controls (the DPO and the auditor)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kluis.kit.errors import Invalid, Problem
from kluis.policy.records_export import FORMATS, MEDIA_TYPES, export
from kluis.policy.schemas import LANGS
from kluis.policy.service import list_versions, records_of_processing
from kluis.staff.rules import Permission
from kluis.vault.service import employer_names
from kluis.web import console
from kluis.web.deps import kluis_of

T = TypeVar("T", bound=str)
router = APIRouter(prefix="/console/policy", route_class=console.ConsoleRoute, include_in_schema=False)


@router.get("/records")
def records(request: Request, format: str = "", lang: str = "nl", version: str = "",  # noqa: A002
            per_employer: bool = False) -> Response:
    """Without ``format`` the page; with it the file, generated from the loaded policy (or stored ``version``)."""
    kluis = kluis_of(request)
    if not format:
        with kluis.db.sessions() as session:
            staff = console.require(request, session, Permission.AUDIT_READ)
            versions = list_versions(session)
        return console.page(request, "policy/console_records.html", "Records of processing", staff, active="records",
                            formats=FORMATS, langs=LANGS, versions=versions, current=kluis.policy.content_hash)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.AUDIT_READ)
        fmt, language, seq = _choice(format, FORMATS, "format"), _choice(lang, LANGS, "lang"), _seq(version)
        found = records_of_processing(session, kluis.clock, kluis.policy, lang=language, fmt=fmt,
                                      actor=staff.actor, seq=seq,
                                      employers=employer_names(session) if per_employer else None)
    name = f"records-of-processing-{language}.{fmt}"
    return Response(export(found, fmt), media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _choice(value: str, allowed: tuple[T, ...], name: str) -> T:
    for option in allowed:
        if value == option:
            return option
    raise Invalid(f"Unknown {name} '{value[:20]}': one of {', '.join(allowed)}.", code=f"{name}_invalid",
                  problems=[Problem(name, "invalid", f"one of {', '.join(allowed)}")])


def _seq(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise Invalid("A policy version is a number.", code="version_invalid",
                      problems=[Problem("version", "invalid", "a version number")])
    return int(text)

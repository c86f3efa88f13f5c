"""The policy in the staff console: the records of processing (R-GOV-5), a page with the downloads and the download
itself (CSV, JSON, PDF; NL or EN), for the roles that check the controls (the DPO and the auditor); the versions of
the policy with what changed and how far each announcement is, and the DPO's form to publish a new version for its
moment (R-POL-3, R-GOV-4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kluis.changes import announcements
from kluis.kit import i18n
from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import Invalid, Problem
from kluis.kit.i18n import gettext as _
from kluis.policy.diff import describe, diff
from kluis.policy.loader import parse_policy
from kluis.policy.publish import publish
from kluis.policy.records_export import FORMATS, MEDIA_TYPES, export
from kluis.policy.render import moment_text
from kluis.policy.schemas import LANGS, Lang
from kluis.policy.service import list_versions, records_of_processing
from kluis.policy.timeline import Version
from kluis.staff.rules import Permission
from kluis.vault.service import employer_names
from kluis.web import console
from kluis.web.deps import kluis_of

T = TypeVar("T", bound=str)
router = APIRouter(prefix="/console/policy", route_class=console.ConsoleRoute, include_in_schema=False)
MAX_POLICY = 1024 * 1024  # a policy file is about 60 kB
OFFSETS = ("amsterdam", "+01:00", "+02:00", "+00:00")


@router.get("/records")
def records(request: Request, format: str = "", lang: str = "nl", version: str = "",  # noqa: A002
            per_employer: bool = False) -> Response:
    """Without ``format`` the page; with it the file, generated from the loaded policy (or stored ``version``)."""
    kluis = kluis_of(request)
    if not format:
        with kluis.db.sessions() as session:
            staff = console.require(request, session, Permission.AUDIT_READ)
            versions = list_versions(session)
        return console.page(request, "policy/console_records.html", _("Records of processing"), staff, active="records",
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


@router.get("/versions")
def versions(request: Request) -> Response:
    """Every version: when it applies, what changed, how far its announcement is; the DPO's publish form."""
    kluis = kluis_of(request)
    now = kluis.clock.now()
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.AUDIT_READ)
        runs = announcements.progress(session)
    found = kluis.timeline.versions(now)
    items = [_item(v, found, now) | {"run": runs.get(v.seq)} for v in reversed(found)]
    return console.page(request, "policy/console_versions.html", _("Policy versions"), staff, active="versions",
                        items=items, can_publish=staff.may(Permission.POLICY_PUBLISH), offsets=OFFSETS,
                        notice_days=kluis.policy.changes.notice_days)


@router.post("/versions")
def publish_version(request: Request, csrf: Annotated[str, Form(max_length=128)],
                    effective_local: Annotated[str, Form(max_length=32)],
                    policy_file: Annotated[UploadFile, File(description="the policy YAML file")],
                    effective_offset: Annotated[str, Form(pattern="^(amsterdam|[+-]\\d\\d:\\d\\d)$")] = "amsterdam",
                    ) -> Response:
    kluis = kluis_of(request)
    data = policy_file.file.read(MAX_POLICY + 1)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.POLICY_PUBLISH, csrf)
        at = _instant(effective_local, effective_offset)
        if len(data) > MAX_POLICY:
            raise Invalid(_("The policy file is larger than 1 MB."), code="policy_file_too_large",
                          problems=[Problem("policy_file", "too_large", _("at most 1 MB"))])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(_("The policy file is not UTF-8 text."), code="policy_file_unreadable",
                          problems=[Problem("policy_file", "not_utf8", _("a YAML file in UTF-8"))]) from None
        policy = parse_policy(text, file=(policy_file.filename or "policy.yaml")[:120])
        seq = publish(session, kluis.clock, policy, effective_at=at, actor=staff.actor,
                      source=policy_file.filename or "console").version.seq
    kluis.timeline.forget()
    return RedirectResponse(f"/console/policy/versions#v{seq}", status_code=303)


def _item(version: Version, found: list[Version], now: datetime) -> dict[str, Any]:
    """One version as the page shows it, in the page's language (the policy's own texts come in NL and EN)."""
    lang: Lang = "nl" if i18n.language() == "nl" else "en"
    before = next((v.policy for v in found if v.seq == version.previous), None)
    changes = [{"text": describe(c, before, version.policy, lang), "material": c.material}
               for c in diff(before, version.policy)] if before is not None and version.policy is not None else []
    return {"seq": version.seq, "label": version.label, "from": moment_text(version.effective_from, lang),
            "until": moment_text(version.until, lang) if version.until else "", "in_force": version.in_force_at(now),
            "coming": version.effective_from > now, "published": moment_text(version.published_at, lang),
            "by": version.published_by or "", "changes": changes, "readable": version.policy is not None}


def _instant(local: str, offset: str) -> datetime:
    """The moment as typed, in Amsterdam time or with an explicit offset."""
    try:
        if offset != "amsterdam":
            return datetime.fromisoformat(local.strip() + offset)
        typed = datetime.fromisoformat(local.strip())
    except ValueError as exc:
        raise Invalid(_("The version was not published."), code="effective_at_invalid",
                      problems=[Problem("effective_at", "time_invalid", _("give a date and time"))]) from exc
    return amsterdam_wall_time(typed, _("The version was not published."), "effective_at_invalid", "effective_at")


def _choice(value: str, allowed: tuple[T, ...], name: str) -> T:
    for option in allowed:
        if value == option:
            return option
    choices = ", ".join(allowed)
    message = _("Unknown %(name)s '%(value)s': one of %(choices)s.") % {"name": name, "value": value[:20],
                                                                        "choices": choices}
    raise Invalid(message,
                  code=f"{name}_invalid",
                  problems=[Problem(name, "invalid", _("one of %(choices)s") % {"choices": choices})])


def _seq(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise Invalid(_("A policy version is a number."), code="version_invalid",
                      problems=[Problem("version", "invalid", _("a version number"))])
    return int(text)

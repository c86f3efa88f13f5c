"""Staff console pages of the breach register (R-GOV-3): the register with each deadline's countdown, reporting
an incident (support and DPO), and the DPO's steps: decision, AP draft (JSON/PDF), filing, notifying people."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kluis.breaches import form, rules
from kluis.breaches.service import Breaches, IncidentIn, reference
from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.i18n import gettext as _
from kluis.staff.rules import Permission
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/breaches", route_class=console.ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=80)]
OFFSETS = ("amsterdam", "+01:00", "+02:00", "+00:00")


def _uuid(text: str) -> uuid.UUID:
    return console.uuid_of(text, "breach in the register", code="breach_not_found")


def instant(local: str, offset: str, path: str) -> datetime | None:
    """A date and time as typed, in Amsterdam time or with an explicit offset (which settles the hour that
    occurs twice when the clocks go back)."""
    if not local.strip():
        return None
    try:
        if offset != "amsterdam":
            return datetime.fromisoformat(local.strip() + offset)
        typed = datetime.fromisoformat(local.strip())
    except ValueError as exc:
        raise Invalid(_("The breach was not recorded."), code="breach_invalid",
                      problems=[Problem(path, "time_invalid", _("give a date and time"))]) from exc
    return amsterdam_wall_time(typed, _("The breach was not recorded."), "breach_invalid", path)


@router.get("")
def register_page(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.BREACH_REPORT)
        items = Breaches(session, kluis, staff.actor).register()
    now = kluis.clock.now()
    return console.page(request, "breaches/console_list.html", _("Breach register"), staff, active="breaches",
                        items=items, now=now, rules=rules, countdown=rules.countdown_words, reference=reference,
                        can_decide=staff.may(Permission.BREACH_DECIDE))


@router.get("/new")
def new_form(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.BREACH_REPORT)
        employers = Breaches(session, kluis, staff.actor).employers()
    return console.page(request, "breaches/console_new.html", _("Report a breach"), staff, active="breaches",
                        natures=list(rules.Nature), categories=kluis.policy.categories, subjects=kluis.policy.subjects,
                        employers=employers, offsets=OFFSETS)


@router.post("")
def report(request: Request, csrf: console.Csrf, aware_local: Annotated[str, Form(max_length=32)],
           happened_from_local: Annotated[str, Form(max_length=32)], summary: Text,
           aware_offset: Annotated[str, Form(pattern="^(amsterdam|[+-]\\d\\d:\\d\\d)$")] = "amsterdam",
           happened_until_local: Annotated[str, Form(max_length=32)] = "",
           nature: Annotated[list[str], Form(max_length=3)] = [],  # noqa: B006 - FastAPI reads the default
           categories: Annotated[list[str], Form(max_length=40)] = [],  # noqa: B006
           subject_types: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006
           employer_ids: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006
           cross_border: Annotated[bool, Form()] = False, systems: Text = "", consequences: Text = "",
           measures: Text = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.BREACH_REPORT, csrf)
        aware = instant(aware_local, aware_offset, "aware_at")
        began = instant(happened_from_local, "amsterdam", "happened_from")
        if aware is None or began is None:
            raise Invalid(_("The incident was not registered."), code="breach_invalid",
                          problems=[Problem("aware_at", "required", _("give when benVitaal became aware and when "
                                                                      "the breach began"))])
        made = Breaches(session, kluis, staff.actor).report(IncidentIn(
            aware_at=aware, happened_from=began,
            happened_until=instant(happened_until_local, "amsterdam", "happened_until"), nature=nature,
            categories=categories, subject_types=subject_types, summary=summary, systems=systems,
            consequences=consequences, measures=measures,
            employer_ids=[_uuid(e) for e in employer_ids if e.strip()], cross_border=cross_border))
    return RedirectResponse(f"/console/breaches/{made.id}", status_code=303)


@router.get("/register.csv")
def register_csv(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.BREACH_DECIDE)
        text = form.register_csv(Breaches(session, kluis, staff.actor))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="breach-register.csv"'})


@router.get("/{breach_id}")
def detail(request: Request, breach_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.BREACH_REPORT)
        breaches = Breaches(session, kluis, staff.actor)
        breach = breaches.get(_uuid(breach_id))
        texts, reason = breaches.texts(breach), breaches.risk_reason(breach)
        filings = [(f, breaches.filing_texts(f)) for f in breaches.filings(breach.id)]
        affected = breaches.count_affected(breach)
    now = kluis.clock.now()
    return console.page(request, "breaches/console_breach.html",
                        _("Breach %(reference)s") % {"reference": reference(breach.id)}, staff,
                        active="breaches", breach=breach, texts=texts, reason=reason, filings=filings,
                        affected=affected, reference=reference(breach.id), rules=rules,
                        countdown=rules.countdown_words, now=now,
                        late=rules.is_late(breach.deadline_at, now),
                        can_decide=staff.may(Permission.BREACH_DECIDE), risks=list(rules.Risk),
                        categories={c.id: c.name for c in kluis.policy.categories})


@router.get("/{breach_id}/ap-draft.{fmt}")
def ap_draft(request: Request, breach_id: str, fmt: str) -> Response:
    if fmt not in ("json", "pdf"):
        raise NotFound(_("The draft comes as .json or .pdf."), code="format_unknown")
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.BREACH_DECIDE)
        breaches = Breaches(session, kluis, staff.actor)
        breach = breaches.get(_uuid(breach_id))
        draft = form.draft(breaches, breach, follow_up=breach.ap_filed_at is not None)
        breaches.audit_draft(breach, fmt)
    headers = {"Content-Disposition": f'attachment; filename="ap-melding-{reference(breach.id)}.{fmt}"'}
    if fmt == "pdf":
        return Response(form.as_pdf(draft), media_type="application/pdf", headers=headers)
    return Response(form.as_json(draft), media_type="application/json", headers=headers)


@router.post("/{breach_id}/amend")
def amend(request: Request, breach_id: str, csrf: console.Csrf, summary: Text = "", systems: Text = "",
          consequences: Text = "", measures: Text = "",
          happened_until_local: Annotated[str, Form(max_length=32)] = "") -> Response:
    """New facts; a text left empty stays as it was."""
    kluis = kluis_of(request)
    given = {"summary": summary, "systems": systems, "consequences": consequences, "measures": measures}
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.BREACH_REPORT, csrf)
        Breaches(session, kluis, staff.actor).amend(
            _uuid(breach_id), {name: text for name, text in given.items() if text.strip()},
            instant(happened_until_local, "amsterdam", "happened_until"))
    return RedirectResponse(f"/console/breaches/{breach_id}", status_code=303)


@router.post("/{breach_id}/decide")
def decide(request: Request, breach_id: str, csrf: console.Csrf, risk: Annotated[str, Form(max_length=12)],
           reason: Text = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.BREACH_DECIDE, csrf)
        Breaches(session, kluis, staff.actor).decide(_uuid(breach_id), risk, reason)
    return RedirectResponse(f"/console/breaches/{breach_id}", status_code=303)


@router.post("/{breach_id}/file")
def file(request: Request, breach_id: str, csrf: console.Csrf, ap_reference: Short,
         filed_local: Annotated[str, Form(max_length=32)] = "", late_reason: Text = "",
         changes: Text = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.BREACH_DECIDE, csrf)
        breaches = Breaches(session, kluis, staff.actor)
        breach = breaches.get(_uuid(breach_id))
        draft = form.draft(breaches, breach, follow_up=breach.ap_filed_at is not None, late_reason=late_reason)
        breaches.file(breach.id, ap_reference=ap_reference, filed_at=instant(filed_local, "amsterdam", "filed_at"),
                      late_reason=late_reason, changes=changes, form=draft)
    return RedirectResponse(f"/console/breaches/{breach_id}", status_code=303)


@router.post("/{breach_id}/notify")
def notify(request: Request, breach_id: str, csrf: console.Csrf) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.BREACH_DECIDE, csrf)
        Breaches(session, kluis, staff.actor).start_notifying(_uuid(breach_id))
    return RedirectResponse(f"/console/breaches/{breach_id}", status_code=303)

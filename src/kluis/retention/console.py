"""Staff console page for legal holds (R-RET-3): the DPO places and releases them; while one is active,
what it covers is neither swept nor erased on request. Only the DPO role has this permission."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from kluis.kit.clock import AMSTERDAM
from kluis.kit.errors import Invalid, Problem
from kluis.kit.i18n import gettext as _
from kluis.retention import holds
from kluis.staff.rules import Permission
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/holds", route_class=console.ConsoleRoute, include_in_schema=False)


def _uuid(text: str, path: str) -> uuid.UUID | None:
    if not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        problem = Problem(path, "id_invalid", _("an id looks like 8-4-4-4-12 hexadecimal digits"))
        raise Invalid(_("The legal hold was not placed."), code="hold_invalid", problems=[problem]) from None


@router.get("")
def list_page(request: Request, ended: Annotated[bool, Query()] = False) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.LEGAL_HOLDS)
        items = holds.list_holds(session, kluis.clock, include_ended=ended)
    return console.page(request, "retention/console_holds.html", _("Legal holds"), staff, active="holds",
                        items=items, ended=ended,
                        scopes=holds.SCOPES, reasons=holds.REASONS, categories=sorted(kluis.policy.category_ids),
                        now=kluis.clock.now())


@router.post("")
def place(request: Request, csrf: console.Csrf, scope: Annotated[str, Form(max_length=12)],
          reason: Annotated[str, Form(max_length=40)], person_id: Annotated[str, Form(max_length=40)] = "",
          category: Annotated[str, Form(max_length=40)] = "", employer_id: Annotated[str, Form(max_length=40)] = "",
          reference: Annotated[str, Form(max_length=80)] = "",
          until: Annotated[date | None, Form(description="the hold ends at the start of this day, Amsterdam")] = None
          ) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.LEGAL_HOLDS, csrf)
        holds.place(session, kluis.clock, kluis.policy, staff.actor, scope=scope, reason=reason,
                    person_id=_uuid(person_id, "person_id") if scope == "person" else None,
                    category=(category or None) if scope == "category" else None,
                    employer_id=_uuid(employer_id, "employer_id") if scope == "employer" else None,
                    reference=reference.strip() or None,
                    until=datetime.combine(until, time(0), tzinfo=AMSTERDAM) if until else None)
    return RedirectResponse("/console/holds", status_code=303)


@router.post("/{hold_id}/release")
def release(request: Request, hold_id: str, csrf: console.Csrf) -> Response:
    kluis = kluis_of(request)
    parsed = console.uuid_of(hold_id, "legal hold", code="hold_not_found")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.LEGAL_HOLDS, csrf)
        holds.release(session, kluis.clock, staff.actor, parsed)
    return RedirectResponse("/console/holds", status_code=303)

"""Staff console pages for the client employers (R-DSR-8): each employer's privacy contact and the service
agreement under which benVitaal is its processor, the requests forwarded to an employer that still wait for a
contact, and agreements ending soon. Support staff see them; the DPO sets the terms. Setting a contact mails the
requests that waited for it, in the same transaction."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kluis.kit.clock import AMSTERDAM
from kluis.kit.i18n import gettext as _
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.staff.rules import Permission
from kluis.vault import employers
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/employers", route_class=console.ConsoleRoute, include_in_schema=False)


@router.get("")
def list_page(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        items = employers.listed(session)
        waiting = Rights(session, kluis, staff.actor).waiting_for_contact()
    today = kluis.clock.now().astimezone(AMSTERDAM).date()
    names = {str(e.id): e.name for e in items}
    rows = [(r, short_reference(r.id), names.get(str(r.forwarded_employer_id), "")) for r in waiting]
    return console.page(request, "vault/console_employers.html", _("Employers"), staff, active="employers",
                        items=items, waiting=rows,
                        ending={e.id for e in items if employers.ending_soon(e, today)},
                        ending_days=employers.ENDING_SOON_DAYS,
                        may_manage=staff.may(Permission.EMPLOYERS_MANAGE))


@router.get("/{employer_id}")
def detail(request: Request, employer_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        employer = employers.get(session, console.uuid_of(employer_id, "employer"))
        waiting = [(r, short_reference(r.id)) for r in Rights(session, kluis, staff.actor).waiting_for_contact()
                   if r.forwarded_employer_id == employer.id]
    return console.page(request, "vault/console_employer.html", _("Employer"), staff, employer=employer,
                        waiting=waiting, may_manage=staff.may(Permission.EMPLOYERS_MANAGE))


@router.post("/{employer_id}")
def set_terms(request: Request, employer_id: str, csrf: console.Csrf,
              privacy_contact: Annotated[str, Form(max_length=254)] = "",
              agreement_reference: Annotated[str, Form(max_length=80)] = "",
              agreement_signed_on: Annotated[date | None, Form()] = None,
              agreement_ends_on: Annotated[date | None, Form()] = None) -> Response:
    """The DPO records the employer's privacy contact and service agreement; bad input changes nothing."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.EMPLOYERS_MANAGE, csrf)
        employer = employers.set_terms(session, kluis.clock, staff.actor, console.uuid_of(employer_id, "employer"),
                                       employers.EmployerTerms(privacy_contact or None, agreement_reference or None,
                                                               agreement_signed_on, agreement_ends_on))
        Rights(session, kluis, staff.actor).forward_waiting(employer.id)
    return RedirectResponse(f"/console/employers/{employer_id}", status_code=303)

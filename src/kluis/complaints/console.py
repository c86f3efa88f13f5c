"""Staff console pages for complaints (R-GOV-2): the queue by deadline, registering one that came by mail,
phone or letter, and the detail page where the DPO assigns a handler and the DPO or that handler reads,
notes, links and answers. Support see that a complaint exists, not its content; an auditor sees counts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kluis.complaints.rules import is_overdue, short_reference
from kluis.complaints.service import Complaints, QueueQuery
from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import NotFound
from kluis.kit.i18n import gettext as _
from kluis.staff.rules import Permission
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/complaints", route_class=console.ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=12_000)]
Id = Annotated[str, Form(max_length=80)]


def _optional(text: str, what: str) -> uuid.UUID | None:
    return console.uuid_of(text, what) if text.strip() else None


@router.get("")
def queue(request: Request, closed: bool = False) -> Response:
    """The queue for those who handle complaints; counts only for a role that may see no more (auditor)."""
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.COUNTS)
        found = Complaints(session, kluis, staff.actor).queue(staff, QueueQuery(state="all" if closed else "open"))
    now = kluis.clock.now()
    return console.page(request, "complaints/console_list.html", _("Complaints"), staff, active="complaints",
                        counts=found.counts, listed=found.items is not None, closed=closed, reference=short_reference,
                        items=[(c, is_overdue(c.deadline_at, now, c.state)) for c in found.items or []])


@router.get("/new")
def new_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.COMPLAINTS_LIST)
    return console.page(request, "complaints/console_new.html", _("Register a complaint"), staff, active="complaints")


@router.post("")
def register(request: Request, csrf: console.Csrf, text: Text, received_on: Annotated[date, Form()],
             received_time: Annotated[time, Form()], reference: Annotated[str, Form(max_length=80)],
             person_id: Id = "", request_id: Id = "", breach_ref: Id = "",
             lang: Annotated[str, Form(pattern="^(nl|en)$")] = "nl") -> Response:
    """Receipt is when the mail, call or letter reached benVitaal, in Amsterdam time; never in the future."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.COMPLAINTS_LIST, csrf)
        made = Complaints(session, kluis, staff.actor).register_by_staff(
            text, amsterdam_wall_time(datetime.combine(received_on, received_time),
                                      _("The complaint was not recorded."), "received_at_invalid", "received_time"),
            reference, lang=lang,
            person_id=_optional(person_id, "person"), request_id=_optional(request_id, "request"),
            breach_ref=breach_ref)
    return RedirectResponse(f"/console/complaints/{made.id}", status_code=303)


@router.get("/{complaint_id}")
def detail(request: Request, complaint_id: str) -> Response:
    """Dates, links and state for anyone who may list complaints; the text only for the DPO and the handler,
    opened (and audited) in this transaction."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.COMPLAINTS_LIST)
        complaints = Complaints(session, kluis, staff.actor)
        found = complaints.view(console.uuid_of(complaint_id, "complaint"), staff)
        handlers = complaints.handlers() if staff.may(Permission.COMPLAINTS_READ) else []
    item = found.complaint
    return console.page(request, "complaints/console_detail.html", _("Complaint"), staff, active="complaints",
                        item=item, reference=short_reference(item.id), readable=found.letters is not None,
                        letters=found.letters or [], handlers=handlers,
                        overdue=is_overdue(item.deadline_at, kluis.clock.now(), item.state))


@router.post("/{complaint_id}/assign")
def assign(request: Request, complaint_id: str, csrf: console.Csrf, handler_id: Id) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.COMPLAINTS_READ, csrf)
        Complaints(session, kluis, staff.actor).assign(console.uuid_of(complaint_id, "complaint"), staff,
                                                       console.uuid_of(handler_id, "staff member"))
    return RedirectResponse(f"/console/complaints/{complaint_id}", status_code=303)


@router.post("/{complaint_id}/link")
def link(request: Request, complaint_id: str, csrf: console.Csrf, person_id: Id = "", request_id: Id = "",
         breach_ref: Id = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.COMPLAINTS_LIST, csrf)
        Complaints(session, kluis, staff.actor).link(
            console.uuid_of(complaint_id, "complaint"), staff, person_id=_optional(person_id, "person"),
            request_id=_optional(request_id, "request"), breach_ref=breach_ref.strip() or None)
    return RedirectResponse(f"/console/complaints/{complaint_id}", status_code=303)


@router.post("/{complaint_id}/{action}")
def write(request: Request, complaint_id: str, action: str, csrf: console.Csrf, text: Text) -> Response:
    """A note (kept with the correspondence) or the written answer (mailed to the person; closes it)."""
    kluis = kluis_of(request)
    if action not in ("note", "answer"):
        raise NotFound(_("There is no such page in the console."), code="action_unknown")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.COMPLAINTS_LIST, csrf)
        complaints = Complaints(session, kluis, staff.actor)
        target = console.uuid_of(complaint_id, "complaint")
        (complaints.answer if action == "answer" else complaints.add_note)(target, staff, text)
    return RedirectResponse(f"/console/complaints/{complaint_id}", status_code=303)

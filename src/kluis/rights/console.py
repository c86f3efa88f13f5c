"""Staff console pages for requests (R-DSR-1..5, R-DSR-7, R-DSR-8): the list by deadline with overdue flags,
registering a request that came by e-mail or letter, each step of its handling, its package jobs, the
corrections of a rectification request, and carrying out (and lifting) a restriction or objection."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from kluis.erasure import partial
from kluis.gate.service import RESTRICTION_REASONS
from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import Invalid, NotFound
from kluis.kit.i18n import gettext as _
from kluis.rights import queue
from kluis.rights.packages.service import Packages
from kluis.rights.rectification import Rectifications
from kluis.rights.rules import OBJECTION_SCOPES, PACKAGE_TYPES, TRANSITIONS, RequestType, State, short_reference
from kluis.rights.service import Rights
from kluis.staff.rules import Permission
from kluis.vault import employers
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/requests", route_class=console.ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
STEPS = {"start": State.IN_PROGRESS, "wait": State.WAITING_ON_PERSON, "complete": State.DONE}


@router.get("")
def list_requests(request: Request, closed: bool = False, state: str = "",
                  kind: Annotated[str, Query(alias="type", max_length=16)] = "",
                  overdue: Annotated[str, Query(max_length=8)] = "",
                  assignee: Annotated[str, Query(max_length=40)] = "",
                  after: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The queue by deadline, filtered by state (``closed`` is the older way to say all), type, being overdue and
    assignee (a staff id, ``me`` or ``none``), a page at a time; a filter it does not know is an error page naming
    it, never an empty or full list."""
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        query = queue.parse(state or ("all" if closed else "open"), kind, overdue, after, assignee, staff.staff_id)
        items, next_after = Rights(session, kluis, staff.actor).queue(query)
    filters = {"state": query.state, "type": query.type, "overdue": query.overdue, "assignee": query.assignee}
    return console.page(request, "rights/console_list.html", _("Requests"), staff, active="requests",
                        items=items, query=query, states=queue.STATES, types=[t.value for t in RequestType],
                        next_page=urlencode({**filters, "after": next_after}) if next_after else None,
                        reference=short_reference)


@router.get("/new")
def new_form(request: Request) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
    return console.page(request, "rights/console_new.html", _("Register a request"), staff, types=list(RequestType),
                        scopes=OBJECTION_SCOPES)


@router.post("")
def register(request: Request, csrf: console.Csrf, kind: Annotated[str, Form(alias="type", max_length=16)],
             received_on: Annotated[date, Form()], reference: Annotated[str, Form(max_length=80)],
             received_time: Annotated[time, Form()] = time(9, 0), scope: Annotated[str, Form(max_length=24)] = "",
             person_id: Annotated[str, Form(max_length=40)] = "", verification: Text = "",
             lang: Annotated[str, Form(pattern="^(nl|en)$")] = "nl") -> Response:
    """Receipt is when the e-mail or letter first reached benVitaal (Amsterdam time), so it may be past."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        received_at = amsterdam_wall_time(datetime.combine(received_on, received_time),
                                          _("The request was not registered."), "received_at_invalid",
                                          "received_time")
        made = Rights(session, kluis, staff.actor).register_by_staff(
            kind, received_at, reference, lang=lang, scope=scope or None,
            person_id=console.uuid_of(person_id, "person") if person_id.strip() else None,
            verification=verification.strip() or None)
    return RedirectResponse(f"/console/requests/{made.request.id}", status_code=303)


@router.get("/{request_id}")
def detail(request: Request, request_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.REQUESTS_RECORD)
        rights = Rights(session, kluis, staff.actor)
        item = rights.get(console.uuid_of(request_id, "request"))
        listed = rights.flags_of(item)
        packages = Packages(session, kluis, staff.actor).for_request(item.id)
        rectifications = Rectifications(session, kluis, staff.actor).of_request(item.id)
        instruction = rights.instruction_of(item)
        parts = partial.parts_of(session, item.id)  # R-DSR-8: benVitaal's own part and the employer's
        employer = employers.get(session, item.forwarded_employer_id) if item.forwarded_employer_id else None
        objection = (kluis.gate(session, staff.actor).objection(item.person_id, item.objection_id)
                     if item.objection_id and item.person_id else None)
        assignable = rights.assignable() if staff.may(Permission.REQUESTS_ASSIGN) else []
        records = ([(r.id, r.category) for r in kluis.vault(session, staff.actor).records_of(item.person_id)
                    if r.content_kind == "json"]
                   if item.type == RequestType.RECTIFICATION and item.person_id else [])
    return console.page(request, "rights/console_request.html", _("Request"), staff, item=item, listed=listed,
                        reference=short_reference(item.id), next_states=TRANSITIONS[State(item.state)],
                        packages=packages, rectifications=rectifications, instruction=instruction, employer=employer,
                        records=records, objection=objection, parts=parts,
                        may_assess=staff.may(Permission.OBJECTIONS_ASSESS), assignable=assignable,
                        dataset_columns=[(d.id, t.name, column) for d in kluis.policy.datasets for t in d.tables
                                         for column in t.columns if column != t.identity.column],
                        fields={c.id: c.field_ids() for c in kluis.policy.categories},
                        restriction_reasons=RESTRICTION_REASONS, package_types=PACKAGE_TYPES)


@router.post("/{request_id}/assign")
def assign(request: Request, request_id: str, csrf: console.Csrf,
           assignee_id: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Issue 19 §2: the DPO gives the request to a staff member who handles requests; empty: unassigned."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_ASSIGN, csrf)
        Rights(session, kluis, staff.actor).assign(
            console.uuid_of(request_id, "request"),
            console.uuid_of(assignee_id, "staff member") if assignee_id.strip() else None)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/rectify")
def rectify(request: Request, request_id: str, csrf: console.Csrf, record_id: Annotated[str, Form(max_length=40)],
            field: Annotated[str, Form(max_length=64)], value: Text = "") -> Response:
    """R-DSR-5: a correction staff checked, entered field by field; an empty value removes the field."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        Rights(session, kluis, staff.actor).rectify(console.uuid_of(request_id, "request"),
                                                    console.uuid_of(record_id, "record"),
                                                    {field.strip(): value.strip() or None})
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/rectify-dataset")
def rectify_dataset(request: Request, request_id: str, csrf: console.Csrf, target: Annotated[str, Form(max_length=160)],
                    value: Text = "") -> Response:
    """R-DSR-5 / R-DSR-9: a checked correction in a service database: ``target`` is ``dataset:column``."""
    kluis = kluis_of(request)
    dataset_id, _, column = target.partition(":")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        Rights(session, kluis, staff.actor).rectify_dataset(console.uuid_of(request_id, "request"), dataset_id.strip(),
                                                            {column.strip(): value.strip() or None})
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/verify")
def verify(request: Request, request_id: str, csrf: console.Csrf, person_id: Annotated[str, Form(max_length=40)],
           note: Text) -> Response:
    """Identity confirmed another way (e.g. through the employer): say how."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        Rights(session, kluis, staff.actor).record_verification(console.uuid_of(request_id, "request"),
                                                                console.uuid_of(person_id, "person"), note)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/assess")
def assess(request: Request, request_id: str, csrf: console.Csrf, grounds: Text,
           outcome: Annotated[str, Form(pattern="^(upheld|overridden)$")]) -> Response:
    """Art. 21(1), the DPO only: uphold the objection, or record the compelling grounds that override it."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.OBJECTIONS_ASSESS, csrf)
        Rights(session, kluis, staff.actor).assess_objection(console.uuid_of(request_id, "request"),
                                                             outcome == "upheld", grounds)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/withdraw-objection")
def withdraw_objection(request: Request, request_id: str, csrf: console.Csrf,
                       reference: Annotated[str, Form(max_length=80)]) -> Response:
    """Only on the person's own word: ``reference`` says where it is recorded (their e-mail or letter)."""
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        item = Rights(session, kluis, staff.actor).get(console.uuid_of(request_id, "request"))
        if item.objection_id is None or item.person_id is None:
            raise NotFound(_("This request recorded no objection."), code="objection_not_found")
        kluis.gate(session, staff.actor).withdraw_objection(item.person_id, item.objection_id, "staff", reference)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/{request_id}/{action}")
def act(request: Request, request_id: str, action: str, csrf: console.Csrf, reason: Text = "",
        decision: Annotated[str, Form(max_length=8)] = "") -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.REQUESTS_RECORD, csrf)
        rights, target = Rights(session, kluis, staff.actor), console.uuid_of(request_id, "request")
        if action in STEPS:
            {"start": rights.start, "wait": rights.wait_on_person, "complete": rights.complete}[action](target)
        elif action == "refuse":
            rights.refuse(target, reason)
        elif action == "extend":
            rights.extend(target, reason)
        elif action == "instruction":
            rights.record_employer_instruction(target, reason, decision or None)
        elif action == "package":
            rights.build_package(target)
        elif action == "carry-out":
            rights.carry_out(target, reason.strip() or None)
        elif action == "lift":
            rights.lift_restriction(target)
        else:
            raise Invalid(_("No such step."), code="action_unknown")
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)

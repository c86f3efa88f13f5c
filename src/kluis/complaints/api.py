"""/api/v1 endpoints for complaints (R-GOV-2).

A service files the complaint of a person it knows, from its account page, and follows it; the text is never
returned there. Staff tools (the DPO's case system) run a complaint from intake to answer with a key holding the
``complaints_register`` power (register, the queue, a complaint's dates) and ``complaints_handle`` (read the
text, assign, link, note, answer), naming in ``Kluis-Staff`` the staff member acting: that account's role and
assignment decide as in the console (the DPO and the assigned handler read the text, each read audited under
their name; other support see that a complaint exists; an auditor sees counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from sqlalchemy.orm import Session

from kluis.access.service import COMPLAINTS_HANDLE, COMPLAINTS_REGISTER, Caller
from kluis.complaints.acting import Acting, acting_by_id
from kluis.complaints.schemas import (
    CaseOut,
    CaseRead,
    ComplaintIn,
    ComplaintOut,
    HandlerIn,
    LetterOut,
    LinkIn,
    QueueOut,
    RegisterIn,
    TextIn,
)
from kluis.complaints.service import Complaints, QueueQuery
from kluis.kit.errors import NotAllowed
from kluis.staff.rules import Permission
from kluis.web.deps import CallerDep, KluisDep, PurposeDep
from kluis.wiring import Kluis

router = APIRouter(prefix="/api/v1", tags=["complaints"])
STAFF_HEADER = "Kluis-Staff"
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid key"},
    403: {"description": "the key lacks the power or purpose, the staff member named is unknown or disabled, or "
                         "their role (or assignment) does not allow it"},
    404: {"description": "no such complaint"}}


@router.post("/people/{person_id}/complaints", status_code=201, response_model=ComplaintOut,
             responses={404: {"description": "no such person, or no such request of this person"},
                        422: {"description": "empty or too long text"}})
def file_complaint(person_id: UUID, body: ComplaintIn, kluis: KluisDep, caller: CallerDep,
                   purpose: PurposeDep) -> ComplaintOut:
    """The person is signed in to the service, so the complaint is theirs at once (channel `account`): it is
    sealed, acknowledged by e-mail with its deadline and the right to complain to the Autoriteit
    Persoonsgegevens, and put in the DPO's queue."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        complaint = Complaints(session, kluis, caller.actor).receive_from_account(person_id, body.text, body.lang,
                                                                                   body.request_id)
        return ComplaintOut.of(complaint)


@router.get("/people/{person_id}/complaints/{complaint_id}", response_model=ComplaintOut,
            responses={404: {"description": "no such complaint of this person (someone else's is just as unknown)"}})
def complaint_status(person_id: UUID, complaint_id: UUID, kluis: KluisDep, caller: CallerDep,
                     purpose: PurposeDep) -> ComplaintOut:
    """Where the person's complaint stands: dates and state, never its text."""
    caller.require(purpose)
    with kluis.db.sessions() as session:
        return ComplaintOut.of(Complaints(session, kluis, caller.actor).of_person(person_id, complaint_id))


# --- the staff API ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffCall:
    """A checked staff call: the key (purpose named, power held) and the staff member it acts for."""

    caller: Caller
    staff_id: UUID | None

    def open(self, kluis: Kluis, session: Session, power: str, permission: Permission = Permission.COMPLAINTS_LIST
             ) -> tuple[Complaints, Acting]:
        self.caller.require_power(power)
        acting = acting_by_id(session, kluis, self.staff_id)
        if not acting.may(permission):
            raise NotAllowed("this staff member's role does not handle complaints", code="role_not_allowed")
        return Complaints(session, kluis, acting.actor, via=self.caller.actor), acting


def staff_call(caller: CallerDep, purpose: PurposeDep, staff_id: Annotated[UUID | None, Header(
        alias=STAFF_HEADER, description="the id of the staff account acting (`kluis staff list`)")] = None
               ) -> StaffCall:
    caller.require(purpose)
    return StaffCall(caller, staff_id)


StaffDep = Annotated[StaffCall, Depends(staff_call)]


@router.post("/complaints", status_code=201, response_model=CaseOut,
             responses={**ERRORS, 404: {"description": "no such person or request"},
                        422: {"description": "empty text or reference, a receipt time without offset, in the "
                                             "future or before 2000"}})
def register_complaint(body: RegisterIn, kluis: KluisDep, call: StaffDep) -> CaseOut:
    """Register a complaint that came by mail, phone or letter, with its real receipt time: sealed, acknowledged
    at once to the person named (with the deadline and the Autoriteit Persoonsgegevens' address), queued."""
    with kluis.db.transaction() as session:
        complaints, _ = call.open(kluis, session, COMPLAINTS_REGISTER)
        made = complaints.register_by_staff(body.text, body.received_at, body.reference, body.lang,
                                            person_id=body.person_id, request_id=body.request_id,
                                            breach_ref=body.breach_ref)
        return CaseOut.of(made, kluis.clock.now())


@router.get("/complaints", response_model=QueueOut,
            responses={**ERRORS, 422: {"description": "an `after` that is not a complaint of the queue"}})
def complaint_queue(kluis: KluisDep, call: StaffDep, state: Literal["open", "closed", "all"] = "open",
                    overdue: bool = False, assignee: UUID | None = None, unassigned: bool = False,
                    after: UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> QueueOut:
    """The queue by deadline, soonest first, a page at a time (keyset: pass `next_after` as `after`), with the
    counts per state. An auditor gets the counts only (`items` null). Never a text."""
    with kluis.db.sessions() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_REGISTER, Permission.COUNTS)
        found = complaints.queue(acting, QueueQuery(state=state, overdue=overdue, handler_id=assignee,
                                                    unassigned=unassigned, after=after, limit=limit))
        now = kluis.clock.now()
        items = None if found.items is None else [CaseOut.of(c, now) for c in found.items]
        return QueueOut(counts=found.counts, items=items, next_after=found.next_after)


@router.get("/complaints/{complaint_id}", response_model=CaseRead, responses=ERRORS)
def read_complaint(complaint_id: UUID, kluis: KluisDep, call: StaffDep) -> CaseRead:
    """A complaint's dates, state and links; with its correspondence for the DPO and the assigned handler through
    a key with `complaints_handle`: that read is audited under their name. Others see only that it exists."""
    with kluis.db.transaction() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_REGISTER)
        found = complaints.view(complaint_id, acting, open_text=COMPLAINTS_HANDLE in call.caller.powers)
        letters = None if found.letters is None else [LetterOut(kind=m.kind, by=m.by, at=m.at, text=m.text)
                                                      for m in found.letters]
        return CaseRead(**CaseOut.of(found.complaint, kluis.clock.now()).model_dump(),
                        readable=letters is not None, correspondence=letters)


@router.post("/complaints/{complaint_id}/assignment", response_model=CaseOut,
             responses={**ERRORS, 409: {"description": "the complaint is closed"},
                        422: {"description": "the handler is not an active DPO or support staff member"}})
def assign_complaint(complaint_id: UUID, body: HandlerIn, kluis: KluisDep, call: StaffDep) -> CaseOut:
    """The DPO gives the complaint to one handler (DPO or support staff), who may then read and answer it."""
    with kluis.db.transaction() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_HANDLE)
        return CaseOut.of(complaints.assign(complaint_id, acting, body.handler_id), kluis.clock.now())


@router.post("/complaints/{complaint_id}/links", response_model=CaseOut,
             responses={**ERRORS, 404: {"description": "no such complaint, person, or request of its person"},
                        409: {"description": "the complaint is already another person's"},
                        422: {"description": "a breach reference over 64 characters"}})
def link_complaint(complaint_id: UUID, body: LinkIn, kluis: KluisDep, call: StaffDep) -> CaseOut:
    """Tie the complaint to a person (then it appears in their access package), a request or a breach."""
    with kluis.db.transaction() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_HANDLE)
        return CaseOut.of(complaints.link(complaint_id, acting, person_id=body.person_id, request_id=body.request_id,
                                          breach_ref=body.breach_ref), kluis.clock.now())


@router.post("/complaints/{complaint_id}/notes", status_code=201, response_model=CaseOut,
             responses={**ERRORS, 409: {"description": "the complaint is closed"},
                        422: {"description": "an empty or too long note"}})
def note_complaint(complaint_id: UUID, body: TextIn, kluis: KluisDep, call: StaffDep) -> CaseOut:
    """A note kept, sealed, with the correspondence; internal (never in the person's access package)."""
    with kluis.db.transaction() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_HANDLE)
        return CaseOut.of(complaints.add_note(complaint_id, acting, body.text), kluis.clock.now())


@router.post("/complaints/{complaint_id}/answer", response_model=CaseOut,
             responses={**ERRORS, 409: {"description": "the complaint is already answered (or lapsed)"},
                        422: {"description": "an empty or too long answer"}})
def answer_complaint(complaint_id: UUID, body: TextIn, kluis: KluisDep, call: StaffDep) -> CaseOut:
    """The written answer: sealed, mailed to the person with the right to complain to the Autoriteit
    Persoonsgegevens and its address, and the complaint closed. Once only."""
    with kluis.db.transaction() as session:
        complaints, acting = call.open(kluis, session, COMPLAINTS_HANDLE)
        return CaseOut.of(complaints.answer(complaint_id, acting, body.text), kluis.clock.now())

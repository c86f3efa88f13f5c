"""/api/v1 endpoints for complaints: a service files the complaint of a person it knows, from its account page,
and follows it (R-GOV-2). The text is never returned here: only the DPO and the assigned handler read it."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from kluis.complaints.schemas import ComplaintIn, ComplaintOut
from kluis.complaints.service import Complaints
from kluis.web.deps import CallerDep, KluisDep, PurposeDep

router = APIRouter(prefix="/api/v1", tags=["complaints"])


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

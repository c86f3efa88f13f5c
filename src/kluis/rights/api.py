"""/api/v1 endpoints for requests: a signed-in person asks from the account page (R-DSR-1); an employer's instruction
is recorded (R-DSR-8); a DPO's tool gives a request to a handler (issue 19 §2), naming in ``Kluis-Staff`` the staff
member acting, whose role decides as in the console."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field

from kluis.access.service import EMPLOYER_INSTRUCTIONS, REQUESTS_ASSIGN
from kluis.complaints.acting import acting_by_id
from kluis.erasure import partial
from kluis.kit.errors import NotAllowed
from kluis.rights.rectification import Rectifications
from kluis.rights.rules import RequestType, short_reference
from kluis.rights.service import Rights
from kluis.staff.rules import Permission
from kluis.web.deps import CallerDep, KluisDep, PurposeDep

router = APIRouter(prefix="/api/v1", tags=["rights"])


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: RequestType
    scope: Literal["marketing", "profiling", "legitimate_interest"] | None = None
    lang: Literal["nl", "en"] = "nl"


class RequestOut(BaseModel):
    id: UUID
    reference: str
    type: str
    scope: str | None
    state: str
    received_at: datetime
    deadline: date
    deadline_at: datetime
    processor_role: bool
    status_path: Annotated[str, Field(description="the person's status page (no login needed)")]


@router.post("/people/{person_id}/requests", status_code=201, response_model=RequestOut)
def create_request(person_id: UUID, body: RequestIn, kluis: KluisDep, caller: CallerDep,
                   purpose: PurposeDep) -> RequestOut:
    """A request from the account page: the person is signed in, so it is verified at once
    (channel `account`). The person gets a notice by e-mail; the deadline runs from now."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        received = Rights(session, kluis, caller.actor).receive_from_account(person_id, body.type, body.lang,
                                                                            body.scope)
        request = received.request
        return RequestOut(id=request.id, reference=short_reference(request.id), type=request.type,
                          scope=request.scope, state=request.state, received_at=request.received_at,
                          deadline=request.deadline_on, deadline_at=request.deadline_at,
                          processor_role=request.processor_role,
                          status_path=f"/privacy-centre/requests/{received.token}")


class SelfEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: Annotated[dict[str, Any], Field(min_length=1, max_length=50,
                                            description="field id -> new value; null removes the field")]
    lang: Literal["nl", "en"] = "nl"


class ToldOut(BaseModel):
    party: Annotated[str, Field(description="recipient:<id> or processor:<id> from the policy")]
    channel: Annotated[str, Field(description="mail (queued to its contact), other (staff tell it another "
                                              "way) or not_individually (public readers)")]


class RectifiedOut(BaseModel):
    id: UUID
    record_id: UUID
    category: str
    fields: list[str]
    told: list[ToldOut]


@router.patch("/people/{person_id}/records/{record_id}", response_model=RectifiedOut)
def self_edit(person_id: UUID, record_id: UUID, body: SelfEditIn, kluis: KluisDep, caller: CallerDep,
              purpose: PurposeDep) -> RectifiedOut:
    """R-DSR-5: the signed-in person corrects their own data from the profile page, at once. Only fields the
    policy marks `self_editable` for the record's category (`403 field_not_self_editable` otherwise: ask for a
    rectification instead); values pass the content guard like anything ingested. The recipients and
    processors that received the category are told (Art. 19), and the person gets a mail naming them."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        row = Rectifications(session, kluis, caller.actor).self_edit(person_id, record_id, body.fields, body.lang)
        return RectifiedOut(id=row.id, record_id=row.record_id, category=row.category, fields=row.fields,
                            told=[ToldOut(**t) for t in row.told])


INSTRUCTION_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid key"}, 403: {"description": "the key lacks the power employer_instructions"},
    404: {"description": "no such request (problem+json, `request_not_found`)"},
    409: {"description": "not forwarded to an employer, closed, already decided, the person erased, or the erasure "
                         "already under way (problem+json: `not_forwarded`, `request_closed`, `instruction_recorded`, "
                         "`person_erased`, `erasure_started`)"},
    422: {"description": "no instruction text, too long, or a missing or misplaced decision (problem+json with the "
                         "fields); nothing is recorded"}}


class InstructionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: Annotated[str, Field(description="what the employer instructed, as it wrote it (sealed at rest)")]
    decision: Annotated[Literal["erase", "keep"] | None, Field(
        description="an erasure request only (and required there): erase the data held for the employer, or keep "
                    "it (the request then closes with benVitaal's own part erased)")] = None


class ErasurePartsOut(BaseModel):
    own: Annotated[str, Field(description="benVitaal's own part: pending | erased")]
    own_records_erased: int
    own_records_kept: Annotated[int, Field(description="kept under a legal obligation or legal hold")]
    employer: Annotated[str, Field(description="the employer's part: waiting | erasing | erased | kept")]


class InstructionOut(BaseModel):
    id: UUID
    reference: str
    type: str
    state: str
    employer_decision: str | None
    instruction_at: datetime | None
    instruction_by: str | None
    erasure: ErasurePartsOut | None


@router.post("/requests/{request_id}/employer-instruction", response_model=InstructionOut,
             responses=INSTRUCTION_ERRORS)
def record_employer_instruction(request_id: UUID, body: InstructionIn, kluis: KluisDep,
                                caller: CallerDep) -> InstructionOut:
    """R-DSR-8: record the employer's instruction on a request forwarded to it, as the console does: the text
    sealed with the person's data key, who (this key) and when, audited with ids only. On an erasure request the
    decision erases the employer's part too, or keeps it and closes the request."""
    caller.require_power(EMPLOYER_INSTRUCTIONS)
    with kluis.db.transaction() as session:
        request = Rights(session, kluis, caller.actor).record_employer_instruction(request_id, body.instruction,
                                                                                    body.decision)
        found = partial.parts_of(session, request.id)
        return InstructionOut(
            id=request.id, reference=short_reference(request.id), type=request.type, state=request.state,
            employer_decision=request.employer_decision, instruction_at=request.instruction_at,
            instruction_by=request.instruction_by,
            erasure=ErasurePartsOut(own=found.own, own_records_erased=found.own_erased,
                                    own_records_kept=found.own_kept, employer=found.employer) if found else None)


ASSIGN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid key"},
    403: {"description": "the key lacks the purpose or the power requests_assign, the staff member in Kluis-Staff is "
                         "missing, unknown or disabled, or their role may not assign requests (problem+json: "
                         "`purpose_required`, `power_required`, `staff_unknown`, `role_not_allowed`)"},
    404: {"description": "no such request (problem+json, `request_not_found`)"},
    422: {"description": "the assignee is not an active staff member who may handle requests (problem+json, "
                         "`assignee_invalid`); nothing is written"}}


class AssigneeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: Annotated[UUID | None, Field(description="the staff account to handle the request (`kluis staff "
                                                       "list`); null gives it back to the team")]


class AssigneeOut(BaseModel):
    id: UUID
    reference: str
    state: str
    assigned_to: Annotated[UUID | None, Field(description="the staff id handling it; null: not assigned")]


@router.post("/requests/{request_id}/assignee", response_model=AssigneeOut, responses=ASSIGN_ERRORS)
def assign_request(request_id: UUID, body: AssigneeIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep,
                   staff_id: Annotated[UUID | None, Header(alias="Kluis-Staff", description=(
                       "the id of the staff account acting (`kluis staff list`)"))] = None) -> AssigneeOut:
    """Issue 19 §2: give the request to one active staff member who handles requests (DPO or support), another one
    (reassign), or nobody (`staff_id` null), as the DPO does in the console: the same check, one audit event
    `request.assigned` with ids only (the staff member acting, the key in `via`)."""
    caller.require(purpose)
    caller.require_power(REQUESTS_ASSIGN)
    with kluis.db.transaction() as session:
        acting = acting_by_id(session, kluis, staff_id)
        if not acting.may(Permission.REQUESTS_ASSIGN):
            raise NotAllowed("this staff member's role does not assign requests", code="role_not_allowed")
        request = Rights(session, kluis, acting.actor, via=caller.actor).assign(request_id, body.staff_id)
        return AssigneeOut(id=request.id, reference=short_reference(request.id), state=request.state,
                           assigned_to=request.assigned_to)

"""/api/v1 endpoints for requests: a signed-in person asks from the account page (R-DSR-1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kluis.rights.rectification import Rectifications
from kluis.rights.rules import RequestType, short_reference
from kluis.rights.service import Rights
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

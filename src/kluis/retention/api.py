"""/api/v1 endpoints of retention: services report the events that start a term (a contract or procedure
that ended, a settled claim) and what a person did; staff tools place and release legal holds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kluis.access.service import LEGAL_HOLDS
from kluis.retention import holds, service
from kluis.retention.models import Hold
from kluis.web.deps import CallerDep, KluisDep, PurposeDep

router = APIRouter(prefix="/api/v1", tags=["retention"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["settled", "contract_end", "procedure_end"]
    at: Annotated[datetime | None, Field(description="when it happened (default: now)")] = None
    record_ids: Annotated[list[UUID], Field(max_length=10_000, description="the settled claims")] = []
    with_consent: Annotated[bool, Field(description="the person agreed to the longer term (an applicant kept "
                                                    "for future vacancies)")] = False


class EventOut(BaseModel):
    event_ids: list[UUID]
    records: Annotated[int, Field(description="records whose due date this event set")]
    due_at: datetime | None


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activity: Annotated[str, Field(max_length=40, description="an activity id of the policy, e.g. click")]
    at: datetime | None = None


class ActivityOut(BaseModel):
    counted: Annotated[bool, Field(description="false for what was done to the person (a mail sent or opened)")]
    records: int


class RecordRetentionOut(BaseModel):
    record_id: UUID
    category: str
    rule_id: str | None
    trigger: str | None
    triggered_on: date | None
    due_on: date | None
    holds: list[UUID]
    legal_obligation: Annotated[bool, Field(description="kept for a legal obligation: an erasure request does "
                                                        "not take it before its due day")]


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["person", "category", "employer"]
    reason: Annotated[str, Field(max_length=40)]
    person_id: UUID | None = None
    category: Annotated[str | None, Field(max_length=40)] = None
    employer_id: UUID | None = None
    reference: Annotated[str | None, Field(max_length=80)] = None
    until: datetime | None = None


class HoldOut(BaseModel):
    id: UUID
    scope: str
    person_id: UUID | None
    category: str | None
    employer_id: UUID | None
    reason: str
    reference: str | None
    recorded_by: str
    created_at: datetime
    until: datetime | None
    released_at: datetime | None

    @classmethod
    def of(cls, hold: Hold) -> HoldOut:
        return cls.model_validate(hold, from_attributes=True)


@router.post("/people/{person_id}/retention-events", status_code=201, response_model=EventOut)
def report_event(person_id: UUID, body: EventIn, kluis: KluisDep, caller: CallerDep,
                 purpose: PurposeDep) -> EventOut:
    """The contract of the person ended, their application procedure ended, or claims of theirs were settled
    (`record_ids`): the retention terms that run from it start, and the records get their due date."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        result = service.record_event(session, kluis.clock, kluis.policy, caller.actor, person_id, body.kind,
                                      body.at, body.record_ids, body.with_consent)
        return EventOut(event_ids=result.event_ids, records=result.records, due_at=result.due_at)


@router.post("/people/{person_id}/activities", response_model=ActivityOut)
def report_activity(person_id: UUID, body: ActivityIn, kluis: KluisDep, caller: CallerDep,
                    purpose: PurposeDep) -> ActivityOut:
    """Something happened with a contact; only what the person did moves their last registered activity."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        result = service.record_activity(session, kluis.clock, kluis.policy, caller.actor, person_id,
                                         body.activity, body.at)
        return ActivityOut(counted=result.counted, records=result.records)


@router.get("/people/{person_id}/retention", response_model=list[RecordRetentionOut])
def explain(person_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> list[RecordRetentionOut]:
    """Per record: the rule that keeps it, the trigger and the day it happened, its due date and its holds."""
    caller.require(purpose)
    with kluis.db.sessions() as session:
        lines = service.explain(session, kluis.clock, kluis.policy, person_id)
    return [RecordRetentionOut(record_id=x.record_id, category=x.category, rule_id=x.rule_id, trigger=x.trigger,
                               triggered_on=x.triggered_on, due_on=x.due_on, holds=[h.id for h in x.holds],
                               legal_obligation=x.legal_obligation)
            for x in lines]


@router.post("/retention/holds", status_code=201, response_model=HoldOut)
def place_hold(body: HoldIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> HoldOut:
    """A legal hold on one person, one category or one employer's data: neither swept nor erased on request."""
    caller.require(purpose)
    caller.require_power(LEGAL_HOLDS)
    with kluis.db.transaction() as session:
        return HoldOut.of(holds.place(session, kluis.clock, kluis.policy, caller.actor, scope=body.scope,
                                      reason=body.reason, person_id=body.person_id, category=body.category,
                                      employer_id=body.employer_id, reference=body.reference, until=body.until))


@router.get("/retention/holds", response_model=list[HoldOut])
def list_holds(kluis: KluisDep, caller: CallerDep, purpose: PurposeDep, include_ended: bool = False) -> list[HoldOut]:
    caller.require(purpose)
    caller.require_power(LEGAL_HOLDS)
    with kluis.db.sessions() as session:
        return [HoldOut.of(h) for h in holds.list_holds(session, kluis.clock, include_ended)]


@router.post("/retention/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(hold_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> HoldOut:
    caller.require(purpose)
    caller.require_power(LEGAL_HOLDS)
    with kluis.db.transaction() as session:
        return HoldOut.of(holds.release(session, kluis.clock, caller.actor, hold_id))

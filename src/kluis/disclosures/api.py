"""/api/v1 endpoints of the disclosure log: a service logs what it handed to a recipient or processor; the
log is read back per person (R-DSR-3, Art. 19)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kluis.access.service import Caller
from kluis.disclosures.models import Disclosure
from kluis.disclosures.service import MAX_BATCH, DisclosureIn, Disclosures, ShareRefused, audit_refusal
from kluis.kit.errors import NotAllowed, Problem
from kluis.web.deps import CallerDep, KluisDep, PurposeDep
from kluis.wiring import Kluis

router = APIRouter(prefix="/api/v1", tags=["disclosures"])


class Given(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: Annotated[str, Field(max_length=80, description="recipient:<id> or processor:<id> of the policy")]
    categories: Annotated[list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=20)]
    purpose: Annotated[str, Field(max_length=40)]
    at: Annotated[datetime | None, Field(description="when it was disclosed (default: now)")] = None
    reference: Annotated[str | None, Field(max_length=80, description="the sender's own reference")] = None


class GivenFor(Given):
    person_id: UUID


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[GivenFor], Field(min_length=1, max_length=MAX_BATCH)]


class DisclosureOut(BaseModel):
    id: UUID
    person_id: UUID
    party: str
    categories: list[str]
    purpose: str
    at: datetime
    reference: str | None

    @classmethod
    def of(cls, row: Disclosure) -> DisclosureOut:
        return cls(id=row.id, person_id=row.person_id, party=row.party, categories=list(row.categories),
                   purpose=row.purpose, at=row.at, reference=row.reference)


class Recorded(BaseModel):
    ids: list[UUID]


@router.post("/people/{person_id}/disclosures", status_code=201, response_model=DisclosureOut)
def record_one(person_id: UUID, body: Given, kluis: KluisDep, caller: CallerDep) -> DisclosureOut:
    """Log that this person's data went to a party of the policy. Refused, with nothing written, when the
    party does not receive these categories, the gate refuses the purpose for the person, or the party is an
    authority (only by order). The key must hold the purpose."""
    [row] = _record(kluis, caller, [DisclosureIn(person_id=person_id, **body.model_dump())], single=True)
    return DisclosureOut.of(row)


@router.post("/disclosures", status_code=201, response_model=Recorded)
def record_batch(body: Batch, kluis: KluisDep, caller: CallerDep) -> Recorded:
    """Up to 10,000 disclosures at once (a monthly export, say): all are recorded, or none."""
    rows = _record(kluis, caller, [DisclosureIn(**item.model_dump()) for item in body.items])
    return Recorded(ids=[r.id for r in rows])


def _record(kluis: Kluis, caller: Caller, items: list[DisclosureIn], single: bool = False) -> list[Disclosure]:
    """Record, all or none; a share the processors register refuses (R-SHR-2) is audited on its own, then 403."""
    try:
        with kluis.db.transaction() as session:
            return Disclosures(session, kluis.policy, kluis.clock, caller.actor).record(
                items, allowed_purposes=caller.purposes, single=single)
    except ShareRefused as refused:
        with kluis.db.transaction() as session:
            audit_refusal(session, kluis.clock, caller.actor, refused)
        raise


@router.get("/people/{person_id}/disclosures", response_model=list[DisclosureOut])
def list_of(person_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> list[DisclosureOut]:
    """The person's logged disclosures, oldest first, if the gate allows the purpose named in the
    Kluis-Purpose header for this person (403 with the reason otherwise). A disclosure by an authority's order
    whose deferral is still in force is not listed (R-SHR-3)."""
    name = caller.require(purpose)
    with kluis.db.sessions() as session:
        kluis.vault(session, caller.actor).person(person_id)
        decision = kluis.gate(session, caller.actor).decide(person_id, name)
        if not decision.allowed:
            raise NotAllowed(f"processing for {name!r} is refused: {decision.reason}", code="processing_refused",
                             problems=[Problem("purpose", decision.reason, f"the gate refuses {name!r}")])
        return [DisclosureOut.of(r) for r in Disclosures(session, kluis.policy, kluis.clock, caller.actor)
                .of(person_id, kluis.clock.now())]

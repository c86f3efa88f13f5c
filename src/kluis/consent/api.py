"""/api/v1 endpoints of consent: give, withdraw, history (R-CONS-1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kluis.policy.schemas import BasisWrite
from kluis.web.deps import CallerDep, KluisDep, PurposeDep
from kluis.web.gated import gated

router = APIRouter(prefix="/api/v1", tags=["consent"])
CONSENT = str(BasisWrite.CONSENT)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Annotated[str, Field(max_length=40)]
    action: Literal["given", "withdrawn"]
    method: Annotated[str, Field(max_length=30)]
    notice_text: Annotated[str | None, Field(max_length=10_000)] = None
    # The language of the notice shown (given: Dutch unless said); a withdrawal without one keeps the person's own.
    lang: Literal["nl", "en"] | None = None
    ip: Annotated[str | None, Field(max_length=64)] = None
    reference: Annotated[str | None, Field(max_length=80)] = None
    # For a message from the person (dpo_email, staff_written_request): when it reached benVitaal.
    received_at: AwareDatetime | None = None


class ConsentOut(BaseModel):
    id: UUID
    purpose: str
    action: str
    policy_version: int | None


@router.post("/people/{person_id}/consents", status_code=201, response_model=ConsentOut)
def record_consent(person_id: UUID, body: ConsentIn, kluis: KluisDep, caller: CallerDep,
                   purpose: PurposeDep) -> ConsentOut:
    """Record consent given or withdrawn, with the exact notice text shown and the truncated IP. A basis write:
    allowed for anyone when the named purpose lists `consent` in the policy, else decided by the gate."""
    name = caller.require(purpose)
    with gated(kluis, caller, "consent.record", name, [("purpose", person_id, name)], write=CONSENT) as session:
        consents = kluis.consents(session, caller.actor)
        if body.action == "given":
            event = consents.give(person_id, body.purpose, method=body.method, notice_text=body.notice_text or "",
                                  lang=body.lang or "nl", ip=body.ip, reference=body.reference,
                                  received_at=body.received_at)
        else:
            event = consents.withdraw(person_id, body.purpose, method=body.method, notice_text=body.notice_text,
                                      lang=body.lang, ip=body.ip, reference=body.reference,
                                      received_at=body.received_at)
        return ConsentOut(id=event.id, purpose=event.purpose, action=event.action,
                          policy_version=event.policy_version)


@router.get("/people/{person_id}/consents")
def consent_history(person_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> dict[str, Any]:
    caller.require(purpose)
    with kluis.db.transaction() as session:
        return {"consents": kluis.consents(session, caller.actor).history(person_id)}

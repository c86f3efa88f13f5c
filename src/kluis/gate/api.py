"""/api/v1 endpoints of the gate: decisions, objections, restrictions, relations (R-GATE-1, R-DSR-7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kluis.access.service import PERSON_ACCOUNT, Caller, authenticate, bearer_token
from kluis.kit.errors import Invalid, NotAllowed, Problem
from kluis.policy.schemas import BasisWrite, did_you_mean
from kluis.web.deps import AuthorizationDep, CallerDep, KluisDep, PurposeDep
from kluis.web.gated import gated
from kluis.wiring import Kluis

router = APIRouter(prefix="/api/v1", tags=["gate"])
MAX_DECISIONS = 10_000
OBJECTION, RELATION = str(BasisWrite.OBJECTION), str(BasisWrite.RELATION)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: UUID
    purpose: Annotated[str, Field(max_length=40)]


class Questions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[Question], Field(min_length=1, max_length=MAX_DECISIONS)]


class DecisionOut(BaseModel):
    person_id: UUID
    purpose: str
    allowed: bool
    reason: str
    basis: str | None
    role: str | None
    facts: dict[str, Any]


class DecisionsOut(BaseModel):
    decisions: list[DecisionOut]


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Annotated[str, Field(max_length=40)]
    on_behalf_of: Literal["person", "staff"] = "person"
    reference: Annotated[str | None, Field(max_length=80)] = None


class RestrictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=40)]
    on_behalf_of: Literal["person", "staff"] = "person"
    reference: Annotated[str | None, Field(max_length=80)] = None


class RelationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["employment", "account", "order", "application"]
    employer_id: UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class RelationEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ends_at: datetime | None = None


class Created(BaseModel):
    id: UUID


def _check_purposes(kluis: Kluis, caller: Caller, questions: list[Question], single: bool) -> None:
    unknown, foreign = [], []
    for i, q in enumerate(questions):
        path = "purpose" if single else f"items[{i}].purpose"
        if q.purpose not in kluis.policy.purpose_ids:
            unknown.append(Problem(path, "purpose_unknown", f"unknown purpose {q.purpose!r}"
                                   f"{did_you_mean(q.purpose, kluis.policy.purpose_ids)}"))
        elif q.purpose not in caller.purposes:
            foreign.append(Problem(path, "purpose_not_allowed", f"this key may not ask about {q.purpose!r}"))
    if unknown:
        raise Invalid("the question names an unknown purpose", code="purpose_unknown", problems=unknown)
    if foreign:
        raise NotAllowed("a key may only ask about its own purposes", code="purpose_not_allowed", problems=foreign)


@router.post("/decisions", response_model=DecisionOut | DecisionsOut)
def decide(body: Question | Questions, kluis: KluisDep, authorization: AuthorizationDep = None) -> JSONResponse:
    """May this person be processed for this purpose? One question, or a batch of up to 10,000.
    Needs an API key (Authorization: Bearer …) bound to the purposes asked about."""
    questions = [body] if isinstance(body, Question) else body.items
    # The hot path: the key and the facts in one connection, on the replica when one is configured (docs/gate.md).
    with kluis.db.read_sessions() as session:
        caller = authenticate(session, bearer_token(authorization))
        _check_purposes(kluis, caller, questions, isinstance(body, Question))
        decisions = kluis.gate(session, caller.actor).decide_many([(q.person_id, q.purpose) for q in questions])
    # Answered as JSON directly: the shape is DecisionOut(s), already plain data (the hot path of every service).
    out = [{"person_id": str(q.person_id), **d.as_dict()} for q, d in zip(questions, decisions, strict=True)]
    return JSONResponse(out[0] if isinstance(body, Question) else {"decisions": out})


@router.get("/people/{person_id}/gate")
def facts(person_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> dict[str, Any]:
    """The facts the gate decides from: objections, restrictions, relations, current consents."""
    caller.require(purpose)
    with kluis.db.sessions() as session:
        gate = kluis.gate(session, caller.actor)
        gate.person(person_id)
        return {
            "objections": [{"id": o.id, "scope": o.scope, "at": o.at, "assessment": o.assessment,
                            "lifted_at": o.lifted_at, "lifted_by": o.lifted_by, "on_behalf_of": o.on_behalf_of}
                           for o in gate.objections_of(person_id)],
            "restrictions": [{"id": r.id, "reason": r.reason, "at": r.at, "lifted_at": r.lifted_at}
                             for r in gate.restrictions_of(person_id)],
            "relations": [{"id": r.id, "kind": r.kind, "employer_id": r.employer_id, "starts_at": r.starts_at,
                           "ends_at": r.ends_at} for r in gate.relations_of(person_id)],
        }


@router.post("/people/{person_id}/objections", status_code=201, response_model=Created)
def add_objection(person_id: UUID, body: ObjectionIn, kluis: KluisDep, caller: CallerDep,
                  purpose: PurposeDep) -> Created:
    """Record an objection; it takes effect in the same transaction (for profiling the profile goes too). A basis
    write: allowed for anyone when the named purpose lists `objection` in the policy, else decided by the gate."""
    name = caller.require(purpose)
    with gated(kluis, caller, "objection.record", name, [("purpose", person_id, name)], write=OBJECTION) as session:
        return Created(id=kluis.gate(session, caller.actor).object(person_id, body.scope, body.on_behalf_of,
                                                                   body.reference).id)


@router.delete("/people/{person_id}/objections/{objection_id}", status_code=403)
def lift_objection(person_id: UUID, objection_id: UUID, caller: CallerDep) -> None:
    """Refused, always: a service never lifts an objection. Only the person withdraws one (the account page,
    `POST …/withdrawal` with a `person_account` key) or staff on the person's recorded word (console)."""
    raise NotAllowed("only the person may withdraw an objection: from the account page or the privacy centre, "
                     "or through staff on their recorded word; a service cannot lift it",
                     code="objection_withdrawal_by_person_only")


@router.post("/people/{person_id}/objections/{objection_id}/withdrawal", response_model=Created)
def withdraw_objection(person_id: UUID, objection_id: UUID, kluis: KluisDep, caller: CallerDep,
                       purpose: PurposeDep) -> Created:
    """The signed-in person withdraws their own objection on the account page. Needs a key with the
    `person_account` power (`403 power_required` otherwise: an ordinary service key cannot)."""
    caller.require(purpose)
    caller.require_power(PERSON_ACCOUNT)
    with kluis.db.transaction() as session:
        return Created(id=kluis.gate(session, caller.actor).withdraw_objection(person_id, objection_id, "person").id)


@router.post("/people/{person_id}/restrictions", status_code=201, response_model=Created)
def add_restriction(person_id: UUID, body: RestrictionIn, kluis: KluisDep, caller: CallerDep,
                    purpose: PurposeDep) -> Created:
    caller.require(purpose)
    with kluis.db.transaction() as session:
        return Created(id=kluis.gate(session, caller.actor).restrict(person_id, body.reason, body.on_behalf_of,
                                                                     body.reference).id)


@router.delete("/people/{person_id}/restrictions/{restriction_id}", status_code=204)
def lift_restriction(person_id: UUID, restriction_id: UUID, kluis: KluisDep, caller: CallerDep,
                     purpose: PurposeDep) -> None:
    """Lift a restriction benVitaal recorded on its own account (the person is told first). One the person
    asked for is lifted by staff handling their request: `403 restriction_lift_not_allowed`."""
    caller.require(purpose)
    with kluis.db.transaction() as session:
        kluis.gate(session, caller.actor).lift_restriction(person_id, restriction_id, by_service=True)


@router.post("/people/{person_id}/relations", status_code=201, response_model=Created)
def add_relation(person_id: UUID, body: RelationIn, kluis: KluisDep, caller: CallerDep,
                 purpose: PurposeDep) -> Created:
    """Record a relation (the contract a purpose on contract needs). A basis write: allowed when the named
    purpose lists `relation` in the policy, else decided by the gate like any write."""
    name = caller.require(purpose)
    with gated(kluis, caller, "relation.record", name, [("purpose", person_id, name)], write=RELATION) as session:
        return Created(id=kluis.gate(session, caller.actor).add_relation(
            person_id, body.kind, body.starts_at, body.ends_at, body.employer_id).id)


@router.post("/people/{person_id}/relations/{relation_id}/end", response_model=Created)
def end_relation(person_id: UUID, relation_id: UUID, body: RelationEnd, kluis: KluisDep, caller: CallerDep,
                 purpose: PurposeDep) -> Created:
    name = caller.require(purpose)
    with gated(kluis, caller, "relation.end", name, [("purpose", person_id, name)], write=RELATION) as session:
        return Created(id=kluis.gate(session, caller.actor).end_relation(person_id, relation_id, body.ends_at).id)

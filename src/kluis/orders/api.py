"""/api/v1 endpoints of authority orders (R-SHR-3) for a legal department's case system, with a key holding the
``authority_orders`` power: record refused informal requests and orders (with the PDF), read their state. A key
never decides: a second DPO approves or rejects in the console or with ``kluis orders``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from kluis.access.service import AUTHORITY_ORDERS
from kluis.orders import rules
from kluis.orders.models import AuthorityOrder, AuthorityRefusal
from kluis.orders.rules import OrderFacts
from kluis.orders.service import Orders
from kluis.web.deps import CallerDep, KluisDep, PurposeDep

router = APIRouter(prefix="/api/v1/authority-orders", tags=["authority orders"])


class RefusalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authority: Annotated[str, Field(max_length=120, description="the authority that asked")]
    asked_at: Annotated[datetime | None, Field(description="when it asked, with offset (default: now)")] = None
    answer: Annotated[str, Field(max_length=2000, description="the answer given; kept encrypted")]


class RefusalOut(BaseModel):
    id: UUID
    authority: str
    asked_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, row: AuthorityRefusal) -> RefusalOut:
        return cls(id=row.id, authority=row.authority, asked_at=row.asked_at, recorded_at=row.recorded_at)


class OrderOut(BaseModel):
    id: UUID
    state: Annotated[str, Field(description="recorded, approved or rejected")]
    authority: Annotated[str, Field(description="recipient:<id> of the policy, or authority:<name>")]
    legal_basis: str
    reference: str
    order_date: date
    defer_until: date | None
    categories: list[str]
    person_ids: list[UUID]
    document_size: int
    document_sha256: str
    recorded_by: str
    recorded_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    disclosed_at: datetime | None

    @classmethod
    def of(cls, row: AuthorityOrder, people: list[UUID]) -> OrderOut:
        return cls(id=row.id, state=row.state, authority=row.party, legal_basis=row.legal_basis,
                   reference=row.reference, order_date=row.order_date, defer_until=row.defer_until,
                   categories=list(row.categories), person_ids=people, document_size=row.document_size,
                   document_sha256=row.document_sha256, recorded_by=row.recorded_by, recorded_at=row.recorded_at,
                   decided_by=row.decided_by, decided_at=row.decided_at, disclosed_at=row.disclosed_at)


@router.post("/refusals", status_code=201, response_model=RefusalOut)
def refuse(body: RefusalIn, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> RefusalOut:
    """Record that an authority asked without a written order and was refused; nothing about the person."""
    caller.require(purpose)
    caller.require_power(AUTHORITY_ORDERS)
    with kluis.db.transaction() as session:
        return RefusalOut.of(Orders(session, kluis, caller.actor).refuse_informal(body.authority, body.asked_at,
                                                                                  body.answer))


@router.post("", status_code=201, response_model=OrderOut)
def record(kluis: KluisDep, caller: CallerDep, purpose: PurposeDep,
           authority: Annotated[str, Form(max_length=120, description="recipient:<id> or the authority's name")],
           legal_basis: Annotated[str, Form(max_length=400, description="e.g. art. 126nd Sv, or the court order")],
           reference: Annotated[str, Form(max_length=200)], order_date: Annotated[date, Form()],
           person_ids: Annotated[list[UUID], Form(description="the people the order covers (repeat the field)")],
           categories: Annotated[list[str], Form(description="the categories the order covers (repeat)")],
           document: Annotated[UploadFile, File(description="the order itself: a PDF, at most 10 MB")],
           defer_until: Annotated[date | None, Form(description="informing the person is deferred until")] = None
           ) -> OrderOut:
    """Record a written order with its PDF (multipart/form-data). 422 with every problem, nothing written, for a
    missing or non-PDF document, an unknown person, a deferral that does not end after the order's date, ..."""
    caller.require(purpose)
    caller.require_power(AUTHORITY_ORDERS)
    data = document.file.read(rules.MAX_DOCUMENT + 1)
    with kluis.db.transaction() as session:
        orders = Orders(session, kluis, caller.actor)
        order = orders.record(OrderFacts(party=authority, legal_basis=legal_basis, reference=reference,
                                         order_date=order_date, defer_until=defer_until, categories=tuple(categories),
                                         person_ids=tuple(person_ids)), data)
        return OrderOut.of(order, orders.people_of(order.id))


@router.get("", response_model=list[OrderOut])
def list_orders(kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> list[OrderOut]:
    caller.require(purpose)
    caller.require_power(AUTHORITY_ORDERS)
    with kluis.db.sessions() as session:
        orders = Orders(session, kluis, caller.actor)
        return [OrderOut.of(o, orders.people_of(o.id)) for o in orders.list_orders()]


@router.get("/{order_id}", response_model=OrderOut)
def show(order_id: UUID, kluis: KluisDep, caller: CallerDep, purpose: PurposeDep) -> OrderOut:
    """An order and its state: recorded, approved (then ``disclosed_at`` says when its data was produced) or
    rejected."""
    caller.require(purpose)
    caller.require_power(AUTHORITY_ORDERS)
    with kluis.db.sessions() as session:
        orders = Orders(session, kluis, caller.actor)
        order = orders.get(order_id)
        return OrderOut.of(order, orders.people_of(order.id))

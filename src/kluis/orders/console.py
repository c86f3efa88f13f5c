"""Staff console pages for authority orders (R-SHR-3): the list with refused informal requests, recording an
order with its PDF, the order's page where a second DPO approves or rejects it, producing its export (the link is
shown once, on the page that made it), the download, the order's document, and deleting the order."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kluis.kit.clock import amsterdam_wall_time
from kluis.kit.errors import Invalid, Problem
from kluis.kit.i18n import gettext as _
from kluis.orders import rules
from kluis.orders.rules import OrderFacts
from kluis.orders.service import Issued, Orders
from kluis.staff.rules import Permission
from kluis.staff.service import SignedIn
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/orders", route_class=console.ConsoleRoute, include_in_schema=False)


def parse_people(text: str) -> tuple[uuid.UUID, ...]:
    """Person ids, one per line (or separated by commas or spaces)."""
    ids, bad = [], []
    for part in text.replace(",", " ").split():
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            bad.append(part[:40])
    if bad:
        raise Invalid(_("The order was not recorded."), code="order_invalid", problems=[
            Problem("person_ids", "id_invalid",
                    _("not a person id (8-4-4-4-12 hexadecimal digits): %(text)s") % {"text": b})
            for b in bad[:10]])
    return tuple(ids)


@router.get("")
def list_page(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.ORDERS_RECORD)
        orders = Orders(session, kluis, staff.actor)
        items, refusals = orders.list_orders(), orders.refusals()
    return console.page(request, "orders/console_list.html", _("Authority orders"), staff, items=items,
                        refusals=refusals, active="orders")


@router.post("/refusals")
def refuse(request: Request, csrf: console.Csrf, authority: Annotated[str, Form(max_length=120)],
           asked_on: Annotated[date, Form()], asked_time: Annotated[time, Form()],
           answer: Annotated[str, Form(max_length=2000)]) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.ORDERS_RECORD, csrf)
        Orders(session, kluis, staff.actor).refuse_informal(
            authority, amsterdam_wall_time(datetime.combine(asked_on, asked_time), _("The refusal was not recorded."),
                                           "refusal_invalid", "asked_time"), answer)
    return RedirectResponse("/console/orders", status_code=303)


@router.get("/new")
def new_form(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.ORDERS_RECORD)
        authorities = Orders(session, kluis, staff.actor).authorities()
    return console.page(request, "orders/console_new.html", _("Record an order"), staff, authorities=authorities,
                        categories=sorted(kluis.policy.category_ids), max_mb=rules.MAX_DOCUMENT // (1024 * 1024),
                        active="orders")


@router.post("")
def record(request: Request, csrf: console.Csrf, legal_basis: Annotated[str, Form(max_length=400)],
           reference: Annotated[str, Form(max_length=200)], order_date: Annotated[date, Form()],
           person_ids: Annotated[str, Form(max_length=5000)],
           document: Annotated[UploadFile | None, File(description="the order, a PDF")] = None,
           authority: Annotated[str, Form(max_length=80)] = "",
           authority_name: Annotated[str, Form(max_length=120)] = "",
           categories: Annotated[list[str] | None, Form()] = None,
           defer_until: Annotated[date | None, Form()] = None) -> Response:
    kluis = kluis_of(request)
    # Read one byte past the limit: enough to refuse a larger file without holding all of it.
    data = document.file.read(rules.MAX_DOCUMENT + 1) if document is not None else b""
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.ORDERS_RECORD, csrf)
        facts = OrderFacts(party=authority_name if authority_name.strip() else authority, legal_basis=legal_basis,
                           reference=reference, order_date=order_date, defer_until=defer_until,
                           categories=tuple(categories or ()), person_ids=parse_people(person_ids))
        order = Orders(session, kluis, staff.actor).record(facts, data)
    return RedirectResponse(f"/console/orders/{order.id}", status_code=303)


def _order_page(request: Request, staff: SignedIn, order_id: uuid.UUID, issued: Issued | None = None) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        orders = Orders(session, kluis, staff.actor)
        order = orders.get(order_id)
        context: dict[str, Any] = {
            "order": order, "people": orders.people_of(order.id), "exports": orders.exports_of(order.id),
            "reasons": orders.reasons_of(order) if staff.may(Permission.ORDERS_DECIDE) else None,
            "may_decide": staff.may(Permission.ORDERS_DECIDE) and order.recorded_by != staff.actor,
            "may_produce": staff.may(Permission.ORDERS_DECIDE), "now": kluis.clock.now()}
    link = f"/console/orders/exports/{issued.token}" if issued else None
    return console.page(request, "orders/console_order.html",
                        _("Order %(reference)s") % {"reference": order.reference}, staff, link=link,
                        active="orders", **context)


@router.get("/{order_id}")
def order_page(request: Request, order_id: str) -> Response:
    with kluis_of(request).db.sessions() as session:
        staff = console.require(request, session, Permission.ORDERS_RECORD)
    return _order_page(request, staff, console.uuid_of(order_id, "order"))


@router.get("/{order_id}/document")
def document(request: Request, order_id: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.ORDERS_RECORD)
        order, pdf = Orders(session, kluis, staff.actor).document(console.uuid_of(order_id, "order"))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="order-{order.id}.pdf"'})


@router.post("/{order_id}/decision")
def decide(request: Request, order_id: str, csrf: console.Csrf,
           decision: Annotated[str, Form(pattern="^(approve|reject)$")],
           reasons: Annotated[str, Form(max_length=2000)] = "") -> Response:
    kluis = kluis_of(request)
    parsed = console.uuid_of(order_id, "order")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.ORDERS_RECORD, csrf)
        issued = Orders(session, kluis, staff.actor).decide(parsed, decision == "approve", reasons,
                                                            decider_is_dpo=staff.may(Permission.ORDERS_DECIDE))
    return _order_page(request, staff, parsed, issued)


@router.post("/{order_id}/exports")
def produce(request: Request, order_id: str, csrf: console.Csrf) -> Response:
    kluis = kluis_of(request)
    parsed = console.uuid_of(order_id, "order")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.ORDERS_DECIDE, csrf)
        issued = Orders(session, kluis, staff.actor).produce(parsed)
    return _order_page(request, staff, parsed, issued)


@router.post("/{order_id}/delete")
def delete(request: Request, order_id: str, csrf: console.Csrf) -> Response:
    kluis = kluis_of(request)
    parsed = console.uuid_of(order_id, "order")
    with kluis.db.transaction() as session:
        staff = console.require_form(request, session, Permission.ORDERS_RECORD, csrf)
        kept = Orders(session, kluis, staff.actor).delete(parsed, by_dpo=staff.may(Permission.ORDERS_DECIDE))
    return RedirectResponse(f"/console/orders/{parsed}" if kept else "/console/orders", status_code=303)


@router.get("/exports/{token}")
def download(request: Request, token: str) -> Response:
    kluis = kluis_of(request)
    with kluis.db.transaction() as session:
        staff = console.require(request, session, Permission.ORDERS_DECIDE)
        export, zipped = Orders(session, kluis, staff.actor).download(token)
    return Response(zipped, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="order-export-{export.id}.zip"'})

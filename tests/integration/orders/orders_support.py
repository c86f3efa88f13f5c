"""Helpers for the authority-order tests (R-SHR-3): a real PDF, an order's facts, two DPOs' actors."""

from __future__ import annotations

import io
from datetime import date

from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from kluis.audit.models import AuditEvent
from kluis.orders.models import AuthorityOrder, AuthorityRefusal, OrderExport
from kluis.orders.rules import OrderFacts
from kluis.orders.service import Orders

RECORDER = "staff:00000000-0000-4000-8000-000000000001"
APPROVER = "staff:00000000-0000-4000-8000-000000000002"


def order_pdf(text: str = "Bevel tot verstrekking van gegevens, art. 126nd Sv") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=1)  # the same bytes each time
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def facts(person_ids, **changes) -> OrderFacts:
    base = dict(party="recipient:authorities", legal_basis="art. 126nd Sv", reference="OM-2026-0042",
                order_date=date(2026, 11, 20), defer_until=None, categories=("basic",), person_ids=tuple(person_ids))
    return OrderFacts(**(base | changes))


def record(kluis, person_ids, document=None, actor=RECORDER, **changes):
    with kluis.db.transaction() as session:
        return Orders(session, kluis, actor).record(facts(person_ids, **changes),
                                                    order_pdf() if document is None else document).id


def approve(kluis, order_id, actor=APPROVER, reasons="Bevel van de rechter-commissaris is echt en volledig"):
    with kluis.db.transaction() as session:
        return Orders(session, kluis, actor).decide(order_id, True, reasons, decider_is_dpo=True)


def counts(kluis) -> dict[str, int]:
    with kluis.db.sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (AuthorityOrder, AuthorityRefusal, OrderExport, AuditEvent)}

"""`kluis orders`: authority orders from the command line (R-SHR-3). Who acts is named with ``--as`` (a staff
member's e-mail address): the same four-eyes rule holds as in the console, a second DPO decides."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kluis import wiring
from kluis.kit.cli import domain_errors, out
from kluis.kit.errors import Invalid, NotAllowed, NotFound, Problem
from kluis.orders import rules
from kluis.orders.rules import OrderFacts
from kluis.orders.service import Orders
from kluis.staff import service as staff
from kluis.staff.rules import Permission, may

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kluis.wiring import Kluis

app = typer.Typer(help="Authority orders: refuse informal requests, record, decide, export (R-SHR-3).",
                  no_args_is_help=True)
As = Annotated[str, typer.Option("--as", help="Your staff e-mail address (the console account).")]


def _staff(session: Session, kluis: Kluis, email: str, permission: Permission) -> tuple[str, bool]:
    """(actor, is DPO) of an active staff member who holds ``permission``."""
    account = staff.find_account(session, kluis.keys, staff.normalise_email(email))
    if account is None or account.disabled_at is not None:
        raise NotFound("no active staff account with this e-mail address", code="staff_not_found")
    if not may(account.role, permission):
        raise NotAllowed(f"your role ({account.role}) may not do this", code="role_not_allowed")
    return staff.actor_of(account), may(account.role, Permission.ORDERS_DECIDE)


def _uuid(text: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(f"'{text}' is not an id", code=f"{name}_id_invalid",
                      problems=[Problem(name, "id_invalid", "give the id (a UUID)")]) from None


@app.command("refuse")
@domain_errors
def refuse(who: As, authority: Annotated[str, typer.Option(help="The authority that asked.")],
           answer: Annotated[str, typer.Option(help="The answer given (kept encrypted).")],
           asked_at: Annotated[datetime | None, typer.Option(help="When it asked, with offset (default: now).",
                                                             formats=["%Y-%m-%dT%H:%M:%S%z"])] = None) -> None:
    """Record an informal request (no written order) as refused; nothing about the person it concerned."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        actor, _ = _staff(session, kluis, who, Permission.ORDERS_RECORD)
        row = Orders(session, kluis, actor).refuse_informal(authority, asked_at, answer)
    out.print(f"refusal {row.id} recorded", highlight=False)


@app.command("record")
@domain_errors
def record(who: As, legal_basis: Annotated[str, typer.Option(help="e.g. 'art. 126nd Sv' or the court's order.")],
           reference: Annotated[str, typer.Option(help="The order's reference (case number).")],
           order_date: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="The order's date.")],
           document: Annotated[Path, typer.Option(help="The order itself, a PDF.", dir_okay=False)],
           person: Annotated[list[str], typer.Option(help="A person id the order covers (repeat).")],
           category: Annotated[list[str], typer.Option(help="A category the order covers (repeat).")],
           authority: Annotated[str, typer.Option(help="recipient:<id> of the policy, or the authority's name.")] =
           "recipient:authorities",
           defer_until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help=(
               "The order defers informing the person until this day."))] = None) -> None:
    """Record a written order and its PDF; a second DPO then approves or rejects it."""
    kluis = wiring.for_cli()
    data = _read(document)
    with kluis.db.transaction() as session:
        actor, _ = _staff(session, kluis, who, Permission.ORDERS_RECORD)
        order = Orders(session, kluis, actor).record(OrderFacts(
            party=authority, legal_basis=legal_basis, reference=reference, order_date=order_date.date(),
            defer_until=defer_until.date() if defer_until else None, categories=tuple(category),
            person_ids=tuple(_uuid(p, "person") for p in person)), data)
    out.print(f"order {order.id} recorded; a second DPO approves or rejects it", highlight=False)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise Invalid("the order was not recorded", code="order_invalid",
                      problems=[Problem("document", "document_required", f"no such file: {path}")])
    with path.open("rb") as handle:
        return handle.read(rules.MAX_DOCUMENT + 1)


@app.command("list")
@domain_errors
def list_orders() -> None:
    """Orders, newest first, and the refused informal requests."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        orders = Orders(session, kluis, "cli")
        for o in orders.list_orders():
            out.print(f"{o.id}  {o.state:<9} {o.order_date}  {o.reference}  {o.party}  {o.legal_basis}",
                      highlight=False, soft_wrap=True)
        for r in orders.refusals():
            out.print(f"refused {r.asked_at.isoformat()}  {r.authority}", highlight=False, soft_wrap=True)


def _decide(order: str, who: str, reasons: str, approve: bool) -> None:
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        actor, is_dpo = _staff(session, kluis, who, Permission.ORDERS_RECORD)
        issued = Orders(session, kluis, actor).decide(_uuid(order, "order"), approve, reasons, is_dpo)
    if issued is not None:
        out.print(f"approved; export {issued.export.id} of {issued.export.people} person(s), "
                  f"{issued.export.records} record(s), until {issued.export.expires_at.isoformat()}", highlight=False)
        out.print(f"download (shown once): /console/orders/exports/{issued.token}", highlight=False, soft_wrap=True)
    else:
        out.print("rejected", highlight=False)


@app.command("approve")
@domain_errors
def approve(order: str, who: As, reasons: Annotated[str, typer.Option(help="Why (kept encrypted).")]) -> None:
    """Approve an order you did not record (DPO): the export is made and the disclosure logged."""
    _decide(order, who, reasons, True)


@app.command("reject")
@domain_errors
def reject(order: str, who: As, reasons: Annotated[str, typer.Option(help="Why (kept encrypted).")]) -> None:
    """Reject an order you did not record (DPO): nothing is produced."""
    _decide(order, who, reasons, False)


@app.command("delete")
@domain_errors
def delete(order: str, who: As) -> None:
    """Delete an order (DPO): its document's key is destroyed, so no copy of the document opens again."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        actor, is_dpo = _staff(session, kluis, who, Permission.ORDERS_RECORD)
        kept = Orders(session, kluis, actor).delete(_uuid(order, "order"), is_dpo)
    out.print(f"order {order} deleted; its document's key destroyed"
              + ("; the order stays as the disclosure log's reference" if kept else ""), highlight=False)


@app.command("download")
@domain_errors
def download(token: Annotated[str, typer.Argument(help="The link's last part, as shown once; give it after -- "
                                                 "(it may begin with -).")], who: As,
             to: Annotated[Path, typer.Option("--to", help="Where to write the ZIP.", dir_okay=False)]) -> None:
    """Write an export's ZIP to a file (DPO); counted and audited like a download in the console."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        actor, _ = _staff(session, kluis, who, Permission.ORDERS_DECIDE)
        export, zipped = Orders(session, kluis, actor).download(token.rsplit("/", 1)[-1])
    to.write_bytes(zipped)
    out.print(f"wrote {len(zipped)} bytes of export {export.id} to {to}", highlight=False)


@app.command("expire")
@domain_errors
def expire() -> None:
    """Delete the exports whose link has expired (the worker does this too)."""
    kluis = wiring.for_cli()
    total = 0
    while True:
        with kluis.db.transaction() as session:
            done = Orders(session, kluis, "cli").expire_due()
        total += done
        if done == 0:
            break
    out.print(f"deleted {total} expired export(s) as of {kluis.clock.now().isoformat()}", highlight=False)

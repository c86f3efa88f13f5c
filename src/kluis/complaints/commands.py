"""`kluis complaints`: the complaint register from the command line (R-GOV-2).

Whoever reads or handles a complaint here names their staff account (``--staff``): the same rules hold as in
the console (the DPO and the assigned handler read the text; every read is audited under that account).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kluis import wiring
from kluis.complaints import repository
from kluis.complaints.acting import acting_by_email
from kluis.complaints.rules import is_overdue, short_reference
from kluis.complaints.service import Complaints
from kluis.kit.cli import domain_errors, out
from kluis.kit.errors import Invalid

app = typer.Typer(help="Complaints: register, read, assign, answer (R-GOV-2).", no_args_is_help=True)
StaffOption = Annotated[str, typer.Option("--staff", help="Your staff account's e-mail address.")]


def _text(text: str | None, text_file: Path | None) -> str:
    if text_file is not None:
        return text_file.read_text(encoding="utf-8")
    return text or ""


def _id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a complaint id", code="complaint_id_invalid") from exc


@app.command("list")
@domain_errors
def list_complaints(closed: Annotated[bool, typer.Option("--closed", help="Include answered ones.")] = False
                    ) -> None:
    """The queue by deadline: references, dates and states; never a text."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        now = kluis.clock.now()
        for c in repository.queue(session, now, state="all" if closed else "open"):
            flag = " OVERDUE" if is_overdue(c.deadline_at, now, c.state) else ""
            out.print(f"{c.id}  {short_reference(c.id)}  {c.channel:<14} {c.state:<9} due {c.deadline_on}{flag}",
                      highlight=False, soft_wrap=True)


@app.command("counts")
@domain_errors
def counts() -> None:
    """How many complaints in each state, and how many are overdue."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        for name, number in sorted(repository.counts(session, kluis.clock.now()).items()):
            out.print(f"{name}: {number}", highlight=False)


@app.command("register")
@domain_errors
def register(staff: StaffOption,
             received_at: Annotated[datetime, typer.Option("--received-at", formats=["%Y-%m-%dT%H:%M:%S%z"],
                                                           help="When it reached benVitaal, with its offset, "
                                                                "e.g. 2026-11-20T16:30:00+01:00.")],
             reference: Annotated[str, typer.Option("--reference", help="Of the mail, call or letter.")],
             text: Annotated[str | None, typer.Option("--text")] = None,
             text_file: Annotated[Path | None, typer.Option("--text-file", exists=True, dir_okay=False)] = None,
             person: Annotated[str | None, typer.Option("--person", help="The person's id.")] = None,
             request: Annotated[str | None, typer.Option("--request", help="A request's id.")] = None,
             breach: Annotated[str | None, typer.Option("--breach", help="A breach's id.")] = None,
             lang: Annotated[str, typer.Option("--lang")] = "nl") -> None:
    """Register a complaint that came by mail, phone or letter; prints its id."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        acting = acting_by_email(session, kluis, staff)
        complaint = Complaints(session, kluis, acting.actor).register_by_staff(
            _text(text, text_file), received_at, reference, lang, person_id=_id(person) if person else None,
            request_id=_id(request) if request else None, breach_ref=breach)
    out.print(f"{complaint.id}  {short_reference(complaint.id)}  due {complaint.deadline_on}", highlight=False)


@app.command("show")
@domain_errors
def show(complaint_id: str, staff: StaffOption) -> None:
    """The complaint and its correspondence (DPO or the assigned handler; the read is audited)."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        acting = acting_by_email(session, kluis, staff)
        read = Complaints(session, kluis, acting.actor).read(_id(complaint_id), acting)
    c = read.complaint
    out.print(f"{short_reference(c.id)}  {c.channel}  {c.state}  received {c.received_at.isoformat()}  "
              f"due {c.deadline_on}", highlight=False, soft_wrap=True)
    for letter in read.letters:
        out.print(f"--- {letter.kind} {letter.at.isoformat()} {letter.by}\n{letter.text}", highlight=False,
                  soft_wrap=True)


@app.command("assign")
@domain_errors
def assign(complaint_id: str, staff: StaffOption,
           handler: Annotated[str, typer.Option("--handler", help="The handler's staff e-mail.")]) -> None:
    """The DPO gives the complaint to one handler."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        acting = acting_by_email(session, kluis, staff)
        Complaints(session, kluis, acting.actor).assign(_id(complaint_id), acting,
                                                        acting_by_email(session, kluis, handler).staff_id)
    out.print("assigned", highlight=False)


@app.command("answer")
@domain_errors
def answer(complaint_id: str, staff: StaffOption, text: Annotated[str | None, typer.Option("--text")] = None,
           text_file: Annotated[Path | None, typer.Option("--text-file", exists=True, dir_okay=False)] = None
           ) -> None:
    """The written answer: sealed, mailed to the person with their right to complain to the AP; closes it."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        acting = acting_by_email(session, kluis, staff)
        Complaints(session, kluis, acting.actor).answer(_id(complaint_id), acting, _text(text, text_file))
    out.print("answered", highlight=False)

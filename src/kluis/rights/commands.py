"""`kluis rights` (also `kluis requests`): data subject requests from the command line (R-DSR-1): housekeeping, and
giving a request to a handler (issue 19 §2) as the DPO does in the console."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from kluis import wiring
from kluis.complaints.acting import acting_by_email
from kluis.kit.cli import domain_errors, out
from kluis.kit.errors import Invalid, NotAllowed
from kluis.rights import intake
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.staff.rules import Permission

app = typer.Typer(help="Data subject requests: housekeeping, and assigning a handler (R-DSR-1).",
                  no_args_is_help=True)
ACTOR = "cli"


@app.command("expire-unverified")
@domain_errors
def expire_unverified(dry_run: Annotated[bool, typer.Option("--dry-run", help="Count them; change nothing.")] = False,
                      batch: Annotated[int, typer.Option("--batch", min=1, max=100_000)] = 500) -> None:
    """Close privacy-centre requests not verified within KLUIS_UNVERIFIED_REQUEST_DAYS of receipt, deleting
    their codes and ties to an address, in batches (one transaction each); run again any time."""
    kluis = wiring.for_cli()
    total = 0
    if dry_run:
        with kluis.db.sessions() as session:
            total = intake.expire_unverified(session, kluis, ACTOR, batch=1_000_000_000, dry_run=True)
    else:
        while True:
            with kluis.db.transaction() as session:
                done = intake.expire_unverified(session, kluis, ACTOR, batch=batch)
                if done == 0:
                    intake.prune(session, kluis, kluis.clock.now())
            total += done
            if done == 0:
                break
    days = kluis.settings.unverified_request_days
    out.print(f"{'would close' if dry_run else 'closed'} {total} request(s) not verified within {days} day(s)",
              highlight=False, soft_wrap=True)


def _id(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a {what} id", code=f"{what.replace(' ', '_')}_id_invalid") from exc


@app.command("assign")
@domain_errors
def assign(request_id: str, assignee: Annotated[str, typer.Argument(
               help="The staff id of the handler (`kluis staff list`), or none to give it back to the team.")],
           staff: Annotated[str, typer.Option("--staff", help="Your staff account's e-mail address (the DPO).")]
           ) -> None:
    """Give a request to a staff member who handles requests, or back to the team (none); audited under --staff."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        acting = acting_by_email(session, kluis, staff)
        if not acting.may(Permission.REQUESTS_ASSIGN):
            raise NotAllowed("this staff member's role does not assign requests", code="role_not_allowed")
        request = Rights(session, kluis, acting.actor).assign(
            _id(request_id, "request"), None if assignee.strip().lower() == "none" else _id(assignee, "staff member"))
        out.print(f"{short_reference(request.id)} assigned to {request.assigned_to or 'nobody'}", highlight=False)

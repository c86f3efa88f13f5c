"""`kluis rights`: housekeeping of data subject requests from the command line (R-DSR-1)."""

from __future__ import annotations

from typing import Annotated

import typer

from kluis import wiring
from kluis.kit.cli import domain_errors, out
from kluis.rights import intake

app = typer.Typer(help="Data subject requests: housekeeping (R-DSR-1).", no_args_is_help=True)
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

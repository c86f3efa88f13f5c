"""`kluis marketing`: campaigns and their audiences (R-CONS-5)."""

from __future__ import annotations

from typing import Annotated

import typer

from kluis import wiring
from kluis.consent.marketing.service import Marketing
from kluis.kit.cli import domain_errors, out

app = typer.Typer(help="Marketing campaigns and audiences (only people who may receive them).",
                  no_args_is_help=True)


@app.command("campaign")
@domain_errors
def campaign(name: str, title: Annotated[str, typer.Option(help="Subject and heading of the mail.")],
             text: Annotated[str, typer.Option(help="The message.")]) -> None:
    """Create a campaign on the marketing e-mail list."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        created = Marketing(session, kluis, "cli").add_campaign(name, title, text)
    out.print(f"campaign {created.id} on list {created.list_id}")


@app.command("audience")
@domain_errors
def audience(campaign_name: Annotated[str, typer.Option("--campaign", help="The campaign's name.")]) -> None:
    """Print, one per line, the id of every person who may receive the campaign (streamed: constant memory)."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        for person_id in Marketing(session, kluis, "cli").audience(campaign_name):
            typer.echo(str(person_id))


@app.command("send")
@domain_errors
def send(campaign_name: Annotated[str, typer.Option("--campaign", help="The campaign's name.")]) -> None:
    """Queue the campaign for its audience; `kluis worker` sends it, checking each person again."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        queued = Marketing(session, kluis, "cli").send_campaign(campaign_name)
    out.print(f"queued {queued} messages")

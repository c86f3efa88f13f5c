"""`kluis audit`: verify the chain and print anchors to keep elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer

from kluis import wiring
from kluis.audit import service
from kluis.kit.cli import domain_errors, err, out

app = typer.Typer(help="The tamper-evident audit chain (R-GOV-1).", no_args_is_help=True)


@app.command("verify")
@domain_errors
def verify(anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", help="An anchor printed earlier by `kluis audit anchor`; repeat for several.")] = None) -> None:
    """Walk the whole chain and report the first broken link (exit 1), or OK."""
    try:
        anchors = [service.Anchor.parse(a) for a in anchor or []]
    except ValueError as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from None
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        result = service.verify(session, anchors)
    if result.ok:
        out.print(f"OK: {result.checked} events, head {result.head_seq} {result.head_hash}", highlight=False)
        return
    err.print(f"[red]BROKEN[/red] at event {result.broken_seq}: {result.reason} "
              f"({result.checked} events before it are intact)", highlight=False)
    raise typer.Exit(1)


@app.command("anchor")
@domain_errors
def anchor() -> None:
    """Print the chain head, to keep off-site: a later `verify --anchor` detects any rewrite or truncation."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        typer.echo(str(service.anchor(session)))

"""`kluis audit`: seal the log, verify it, report how far sealing has come, and print anchors to keep elsewhere."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from kluis import wiring
from kluis.audit import sealer, verifications
from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.kit.cli import domain_errors, err, out

app = typer.Typer(help="The tamper-evident audit log (R-GOV-1).", no_args_is_help=True)


@app.command("verify")
@domain_errors
def verify(anchor: Annotated[list[str] | None, typer.Option(
        "--anchor", help="An anchor printed earlier by `kluis audit anchor`; repeat for several.")] = None,
           key: Annotated[str | None, typer.Option(
               "--key", envvar="KLUIS_AUDIT_KEY", show_envvar=False,
               help="The audit key (base64url), for an auditor without the configuration; "
                    "default KLUIS_AUDIT_KEY.")] = None,
           record: Annotated[bool, typer.Option(
               "--record/--no-record", help="Record the outcome, which the console shows (only when verifying with "
                                            "the configured key); --no-record for read-only access.")] = True) -> None:
    """Walk the whole log and report the first event that does not hold (exit 1), or OK with what is unsealed.
    The outcome is recorded: the console shows the newest verification, the worker's or this one."""
    try:
        anchors = [audit_log.Anchor.parse(a) for a in anchor or []]
    except ValueError as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from None
    kluis = wiring.for_cli()
    secret = audit_key(key if key is not None else kluis.settings.audit_key)
    configured = kluis.settings.audit_key
    own_key = configured is not None and key in (None, configured.get_secret_value())
    result = verifications.run(kluis.db, secret, kluis.clock, by=verifications.CLI, anchors=anchors,
                               record=record and own_key)
    if not result.ok:
        where = f"at event {result.broken_seq}" if result.broken_seq is not None else "before any event"
        err.print(f"[red]BROKEN[/red] {where}: {result.reason} ({result.checked} sealed events before it hold)",
                  highlight=False)
        raise typer.Exit(1)
    out.print(f"OK: {result.checked} sealed events hold, through {result.head_seq} {result.head_hash}; "
              f"{result.gaps} numbers skipped by rolled-back transactions", highlight=False)
    if result.unsealed:
        lag = (kluis.clock.now() - result.oldest_unsealed_at).total_seconds() if result.oldest_unsealed_at else 0
        out.print(f"{result.unsealed} events not sealed yet (oldest {lag:.0f} s ago): `kluis audit seal` or a "
                  "running worker seals them", highlight=False)


@app.command("seal")
@domain_errors
def seal(wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for running transactions that hold events back (PostgreSQL).")] = 10.0
         ) -> None:
    """Link every committed event into the log now (the worker does this continuously)."""
    kluis = wiring.for_cli()
    secret = audit_key(kluis.settings.audit_key)
    total, deadline = 0, time.monotonic() + wait
    while True:
        done = sealer.seal_all(kluis.db, secret, kluis.clock)
        total += done.sealed
        if not done.waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.1)  # a running transaction holds numbers below the horizon: it ends in milliseconds, as a rule
    with kluis.db.sessions() as session:
        state = audit_log.status(session, kluis.clock)
    out.print(f"sealed {total} events; sealed through {state.sealed_seq}, {state.unsealed} not sealed yet",
              highlight=False)


@app.command("status")
@domain_errors
def status() -> None:
    """How far sealing has come: the watermark, events not sealed yet and the age of the oldest."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        state = audit_log.status(session, kluis.clock)
    sealed_at = state.sealed_at.isoformat() if state.sealed_at else "never"
    out.print(f"sealed through {state.sealed_seq} (last sealed {sealed_at}); {state.unsealed} not sealed yet, "
              f"lag {state.lag_seconds:.1f} s", highlight=False)


@app.command("anchor")
@domain_errors
def anchor() -> None:
    """Print the watermark (last sealed event and its link), to keep off-site: a later `verify --anchor` detects
    a log cut back to before it."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        typer.echo(str(audit_log.anchor(session)))

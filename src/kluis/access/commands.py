"""`kluis access`: service API keys and the master-key rotation."""

from __future__ import annotations

from typing import Annotated

import typer

from kluis import wiring
from kluis.access import service
from kluis.audit.service import append
from kluis.breaches import service as breaches
from kluis.kit.cli import domain_errors, out, progress
from kluis.kit.secrets import new_secret
from kluis.orders import service as orders
from kluis.staff import service as staff
from kluis.vault import resealing

# Every column of the data database that the master key seals itself (keys live in the key store).
SEALED = (*staff.SEALED, *breaches.SEALED, *orders.SEALED)

app = typer.Typer(help="Service API keys (bound to purposes) and master-key rotation.", no_args_is_help=True)


@app.command("create")
@domain_errors
def create(service_name: Annotated[str, typer.Option("--service", help="Name of the calling service.")],
           purpose: Annotated[list[str], typer.Option("--purpose", help="A purpose this key may use; repeat.")],
           power: Annotated[list[str] | None, typer.Option(
               "--power", help=f"A power beyond its purposes ({', '.join(service.POWERS)}); repeat.")] = None
           ) -> None:
    """Create an API key for a service, bound to its purposes. The key is shown once."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        key, token = service.create_key(session, kluis.clock, kluis.policy, service=service_name,
                                        purposes=purpose, actor="cli", powers=power or ())
    powers = f"; powers: {', '.join(key.powers)}" if key.powers else ""
    out.print(f"API key for {key.service} (purposes: {', '.join(key.purposes)}{powers}). Shown once; store it now:")
    out.print(token, highlight=False, soft_wrap=True)


@app.command("list")
@domain_errors
def list_keys() -> None:
    """List API keys (prefix, service, purposes, status); secrets are never shown again."""
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        for key in service.list_keys(session):
            status = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            powers = f"  powers: {','.join(key.powers)}" if key.powers else ""
            out.print(f"{key.prefix}  {key.service:<24} {','.join(key.purposes):<40} {status}{powers}",
                      highlight=False)


@app.command("revoke")
@domain_errors
def revoke(prefix: str) -> None:
    """Revoke the key with this prefix (the part after `kluis_`)."""
    kluis = wiring.for_cli()
    with kluis.db.transaction() as session:
        key = service.revoke_key(session, kluis.clock, prefix, actor="cli")
    out.print(f"revoked {key.prefix} ({key.service})")


@app.command("rotate")
@domain_errors
def rotate(batch: Annotated[int, typer.Option(min=1, max=100_000)] = 1000) -> None:
    """Put everything the master key protects under the current KLUIS_MASTER_KEY (old keys in
    KLUIS_PREVIOUS_MASTER_KEYS): person keys and object keys (an order's document key) are re-wrapped in the key
    store; values sealed by the master key itself (staff e-mail addresses and TOTP seeds, breach and order texts)
    are sealed anew. Records are not re-encrypted. Each batch commits, so a stopped rotation resumes where it was.
    """
    kluis = wiring.for_cli()
    with progress("re-wrapping keys", kluis.keystore.outdated()) as step:
        rewrapped = kluis.keystore.rotate(batch=batch, on_batch=step)
    with progress("sealing values anew", resealing.count(kluis.db, SEALED)) as step:
        resealed = resealing.reseal(kluis.db, kluis.keys, SEALED, batch=batch, on_batch=step)
    with kluis.db.transaction() as session:
        append(session, kluis.clock, actor="cli", action="keys.rotated", object_type="master_key",
               object_ids=[kluis.keys.master_id], details={"rewrapped": rewrapped, "resealed": resealed})
    out.print(f"{rewrapped} keys re-wrapped and {resealed} sealed values sealed anew: all now under master key "
              f"{kluis.keys.master_id}; a previous master key may be dropped", highlight=False)


@app.command("new-secret")
def new_secret_command() -> None:
    """Print a fresh 256-bit secret for KLUIS_MASTER_KEY, KLUIS_INDEX_KEY or KLUIS_SECRET_KEY."""
    out.print(new_secret(), highlight=False)

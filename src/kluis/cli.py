"""The `kluis` command: wiring of each domain's command group, plus init, migrate and serve."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

import kluis.subscriptions  # noqa: F401 - installs who reacts to which domain event
from kluis import schema, wiring
from kluis.access.commands import app as access_app
from kluis.audit.commands import app as audit_app
from kluis.breaches.commands import app as breaches_app
from kluis.complaints.commands import app as complaints_app
from kluis.consent.marketing.commands import app as marketing_app
from kluis.datasets.commands import app as datasets_app
from kluis.demo.commands import demo, seed
from kluis.erasure.commands import app as erasure_app
from kluis.erasure.commands import certificate_app, restore_app
from kluis.kit.cli import domain_errors, err, out
from kluis.orders.commands import app as orders_app
from kluis.policy.commands import app as policy_app
from kluis.prepare import init
from kluis.retention.commands import app as retention_app
from kluis.rights.commands import app as rights_app
from kluis.staff.commands import app as staff_app
from kluis.worker import worker

app = typer.Typer(help="Kluis: the privacy engine behind benVitaal's privacy statement.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(access_app, name="access")
app.add_typer(staff_app, name="staff")
app.add_typer(audit_app, name="audit")
app.add_typer(marketing_app, name="marketing")
app.add_typer(erasure_app, name="erasure")
app.add_typer(datasets_app, name="datasets")
app.add_typer(retention_app, name="retention")
app.add_typer(rights_app, name="rights")
app.add_typer(breaches_app, name="breaches")
app.add_typer(orders_app, name="orders")
app.add_typer(complaints_app, name="complaints")
# A group is named for the folder that owns it; the names used before that stay, hidden, for operators' scripts.
for former, group in (("keys", access_app), ("certificate", certificate_app), ("restore", restore_app),
                      ("requests", rights_app), ("breach", breaches_app)):
    app.add_typer(group, name=former, hidden=True)
app.command("seed")(seed)
app.command("demo")(demo)
app.command("worker")(worker)
app.command("init")(init)


@app.command("migrate")
@domain_errors
def migrate(check: Annotated[bool, typer.Option(
        "--check", help="Only compare: exit 1 when the migrated schema differs from the models.")] = False) -> None:
    """Upgrade the data database and the key store to the latest schema."""
    kluis = wiring.for_cli()
    schema.upgrade(kluis.db, keys=kluis.keys)
    if check:
        found = schema.differences(kluis.db)
        for diff in found:
            err.print(f"differs: {diff}", highlight=False)
        if found:
            raise typer.Exit(1)
    out.print("schema up to date")


@app.command("serve")
@domain_errors
def serve(host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64, help="server processes on this port")] = 1) -> None:
    """Serve the HTTP API and pages (stateless: run as many as needed behind a load balancer)."""
    # Imported here for start-up speed: only `serve` needs the web server and the application's routes.
    import uvicorn

    from kluis.app import SERVER_OPTIONS, create_app

    kluis = wiring.for_cli()
    schema.ensure_current(kluis.db)
    kluis.register_policy()
    err.print(f"Kluis on http://{host}:{port}  (statement /privacy, API docs /docs, health /health)")
    if workers == 1:
        uvicorn.run(create_app(kluis), host=host, port=port, access_log=False, **SERVER_OPTIONS)
        return
    kluis.close()  # each worker process builds its own (connections are not shared across processes)
    uvicorn.run("kluis.app:from_settings", factory=True, host=host, port=port, workers=workers, access_log=False,
                **SERVER_OPTIONS)


def main() -> None:
    logging.basicConfig(level=os.environ.get("KLUIS_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()

"""The `kluis` command: a table of each domain's command group, plus migrate and serve.

Start-up speed: `kluis --help` and every command load only what they use. The table below names each command's
module and its one-line help, so the top-level help lists them without importing a single domain; a group's
module is imported when that group is run or asked for its own help (tests/unit/test_cli_start_up.py keeps the
table's help equal to each group's own).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer import _click as click  # Typer ships its own Click; its groups and commands are built from that one
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group

from kluis.kit import logs
from kluis.kit.cli import domain_errors, err, out


@dataclass(frozen=True)
class Lazy:
    """A command of ``kluis`` defined elsewhere: its module, the object there (a Typer group or a function) and the
    help the top-level list shows (the command's own help, line breaks included)."""

    name: str
    module: str
    attribute: str
    help: str
    hidden: bool = False

    def load(self) -> click.Command:
        """Import the module and build the command exactly as ``app.add_typer``/``app.command`` would."""
        importlib.import_module("kluis.subscriptions")  # who reacts to which event, before any command runs
        target = getattr(importlib.import_module(self.module), self.attribute)
        holder = typer.Typer(add_completion=False)
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=self.name, hidden=self.hidden)
        else:
            holder.command(self.name, hidden=self.hidden)(target)
        return get_group(holder).commands[self.name]

    def listing(self) -> click.Command:
        """A stand-in that only carries the name and help, for the top-level list."""
        return TyperCommand(self.name, help=self.help, hidden=self.hidden)


# Typer's order: single commands first, then groups. A group is named for the folder that owns it; the names used
# before that stay, hidden, for operators' scripts.
COMMANDS = (
    Lazy("seed", "kluis.demo.commands", "seed",
         "Fill the vault with realistic Dutch demo people (about 10 records each), in streamed batches."),
    Lazy("demo", "kluis.demo.commands", "demo",
         "Zero set-up demo: local SQLite and keys, demo people, an API key and a DPO login, then serve."),
    Lazy("worker", "kluis.worker", "worker",
         "Build access packages and delete expired ones, send queued mail (the outbox), run erasure jobs and the\n"
         "daily retention sweep. Run as many workers as needed: each message goes out once, each package is built\n"
         "by one worker, each record is erased once."),
    Lazy("init", "kluis.prepare", "init",
         "Prepare a Kluis: local keys (SQLite only), schema migrations, and the policy version."),
)
GROUPS = (
    Lazy("policy", "kluis.policy.commands", "app",
         "The privacy statement as data: check the policy file, render the statement, publish versions."),
    Lazy("access", "kluis.access.commands", "app", "Service API keys (bound to purposes) and master-key rotation."),
    Lazy("staff", "kluis.staff.commands", "app", "Staff accounts of the console (argon2id passwords, TOTP codes)."),
    Lazy("audit", "kluis.audit.commands", "app", "The tamper-evident audit log (R-GOV-1)."),
    Lazy("marketing", "kluis.consent.marketing.commands", "app",
         "Marketing campaigns and audiences (only people who may receive them)."),
    Lazy("erasure", "kluis.erasure.commands", "app", "Erasure jobs (R-DSR-6): queue, run, list."),
    Lazy("datasets", "kluis.datasets.commands", "app",
         "benVitaal's service databases declared in the policy (docs/datasets.md)."),
    Lazy("retention", "kluis.retention.commands", "app",
         "Retention: due dates, the sweep and legal holds (R-RET-1..3)."),
    Lazy("rights", "kluis.rights.commands", "app",
         "Data subject requests: housekeeping, and assigning a handler (R-DSR-1)."),
    Lazy("breaches", "kluis.breaches.commands", "app",
         "The breach register: 72-hour clock, affected people, AP and people notified (R-GOV-3)."),
    Lazy("orders", "kluis.orders.commands", "app",
         "Authority orders: refuse informal requests, record, decide, export (R-SHR-3)."),
    Lazy("complaints", "kluis.complaints.commands", "app", "Complaints: register, read, assign, answer (R-GOV-2)."),
    Lazy("keys", "kluis.access.commands", "app", "", hidden=True),
    Lazy("certificate", "kluis.erasure.commands", "certificate_app", "", hidden=True),
    Lazy("restore", "kluis.erasure.commands", "restore_app", "", hidden=True),
    Lazy("requests", "kluis.rights.commands", "app", "", hidden=True),
    Lazy("breach", "kluis.breaches.commands", "app", "", hidden=True),
)
LAZY = {entry.name: entry for entry in (*COMMANDS, *GROUPS)}


class LazyGroup(TyperGroup):
    """The top-level group: a command from the table is built on first use; the top-level help uses stand-ins."""

    listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        here = [name for name in self.commands if name not in LAZY]
        return [*(c.name for c in COMMANDS), *here, *(g.name for g in GROUPS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = LAZY.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            if self.listing:
                return entry.listing()
            self.commands[cmd_name] = entry.load()
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(cls=LazyGroup, help="Kluis: the privacy engine behind benVitaal's privacy statement.",
                  no_args_is_help=True)


@app.command("migrate")
@domain_errors
def migrate(check: Annotated[bool, typer.Option(
        "--check", help="Only compare: exit 1 when the migrated schema differs from the models.")] = False) -> None:
    """Upgrade the data database and the key store to the latest schema."""
    # Imported here for start-up speed: the models and Alembic load only for the commands that use them.
    from kluis import schema, wiring

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
    # Imported here for start-up speed: only `serve` needs the web server, the models and the application's routes.
    import uvicorn

    from kluis import schema, wiring
    from kluis.app import SERVER_OPTIONS, create_app
    from kluis.kit import heap
    from kluis.web import supervisor

    kluis = wiring.for_cli()
    schema.ensure_current(kluis.db)
    kluis.register_policy()
    err.print(f"Kluis on http://{host}:{port}  (statement /privacy, API docs /docs, health /health)")
    if workers == 1:
        application = create_app(kluis)
        heap.settle()  # built for the process's lifetime: out of the collector's way (kluis.kit.heap)
        uvicorn.run(application, host=host, port=port, access_log=False, **SERVER_OPTIONS)
        return
    kluis.close()  # each worker process builds its own (connections are not shared across processes)
    if not supervisor.run("kluis.app:from_settings", host=host, port=port, workers=workers, access_log=False,
                          **SERVER_OPTIONS):
        err.print("[red]error[/red]: a server process could not start (its error is logged above)", highlight=False)
        raise typer.Exit(1)


def main() -> None:
    logs.configure()
    app()

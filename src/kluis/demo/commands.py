"""`kluis seed` and `kluis demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from kluis import wiring
from kluis.access.service import create_key
from kluis.demo.datasets import prepare_demo_datasets
from kluis.kit.cli import domain_errors, out, progress
from kluis.mail.service import enqueue
from kluis.prepare import init
from kluis.staff.service import add_staff
from kluis.vault.models import Person
from kluis.wiring import Kluis
from kluis.worker import run_in_background


@domain_errors
def seed(subjects: Annotated[int, typer.Option("--subjects", min=1, max=10_000_000, help="How many people.")],
         seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same people.")] = 1,
         batch: Annotated[int, typer.Option(min=1, max=10_000)] = 500) -> None:
    """Fill the vault with realistic Dutch demo people (about 10 records each), in streamed batches."""
    from kluis.demo.seed import seed as run_seed  # imported here for start-up speed: Faker loads slowly

    kluis = wiring.for_cli()
    kluis.register_policy(actor="cli")
    with progress("seeding people", subjects) as step:
        result = run_seed(kluis, subjects, seed_value, batch, step)
    out.print(f"seeded {result.people} people with {result.records} records for {result.employers} employers")


@domain_errors
def demo(subjects: Annotated[int, typer.Option("--subjects", min=1, max=1_000_000)] = 2000,
         port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
         serve: Annotated[bool, typer.Option(help="Serve after preparing (off: prepare and exit).")] = True) -> None:
    """Zero set-up demo: local SQLite and keys, demo people, an API key and a DPO login, then serve."""
    init()
    kluis = wiring.for_cli()
    with kluis.db.sessions() as session:
        existing = session.query(Person).count()
    if existing == 0:
        seed(subjects=subjects, seed_value=1, batch=500)
    else:
        out.print(f"the vault already holds {existing} people; not seeding again")
    for name, url in prepare_demo_datasets(kluis).items():
        out.print(f"demo dataset '{name}': {url}", highlight=False, soft_wrap=True)
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="demo",
                              purposes=list(kluis.policy.purpose_ids), actor="cli")
        email = f"dpo+{token[6:12].lower()}@demo.benvitaal.nl"
        enrolment = add_staff(session, kluis.clock, kluis.keys, email, "dpo")
        enqueue(session, kluis.clock, template="account_notice", staff_id=enrolment.account.id,
                context={"notice": "account_created"}, actor="cli")
    out.print("\n[bold]Kluis demo[/bold]")
    out.print(f"  privacy statement  http://127.0.0.1:{port}/privacy   (English: /privacy?lang=en)")
    out.print(f"  API docs           http://127.0.0.1:{port}/docs")
    out.print(f"  health             http://127.0.0.1:{port}/health")
    out.print(f"  staff console      http://127.0.0.1:{port}/console/login")
    out.print(f"  API key (all purposes, shown once): {token}", highlight=False, soft_wrap=True)
    out.print(f"  DPO login          {email} / {enrolment.password}", highlight=False, soft_wrap=True)
    out.print(f"  DPO TOTP secret    {enrolment.totp_secret}  (authenticator app, or: .venv/bin/python -c "
              f"\"import pyotp; print(pyotp.TOTP('{enrolment.totp_secret}').now())\")", highlight=False, soft_wrap=True)
    if serve:
        run_demo_server(kluis, port)


def run_demo_server(kluis: Kluis, port: int) -> None:
    """One process for the demo: the HTTP app, the worker in a thread, and a local SMTP catcher whose
    messages (kept in memory only) are shown at /demo/mail."""
    # Imported here for start-up speed: only the demo needs the web server, the routes and the mail catcher.
    import uvicorn

    from kluis.app import SERVER_OPTIONS, create_app
    from kluis.mail.catcher import start_catcher

    settings = kluis.settings
    try:
        catcher = start_catcher(settings.smtp_host, settings.smtp_port)
    except OSError:  # the usual port is taken: any free one
        catcher = start_catcher(settings.smtp_host, 0)
        kluis.settings = settings.model_copy(update={"smtp_port": catcher.port})
    stop_worker = run_in_background(kluis)
    app = create_app(kluis)
    app.state.mail_catcher = catcher
    out.print(f"  mail sent by Kluis  http://127.0.0.1:{port}/demo/mail")
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, **SERVER_OPTIONS)
    finally:
        stop_worker()
        catcher.stop()

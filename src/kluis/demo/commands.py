"""`kluis seed` and `kluis demo`."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from kluis import wiring
from kluis.access.service import create_key
from kluis.demo.datasets import prepare_demo_datasets
from kluis.kit.cli import domain_errors, err, out, progress
from kluis.mail.service import enqueue
from kluis.prepare import init
from kluis.staff.service import add_staff, mail_language
from kluis.vault.models import Person
from kluis.wiring import Kluis
from kluis.worker import run_in_background

if TYPE_CHECKING:
    import uvicorn

    from kluis.demo.seed import Seeding

# Written before the demo serves: the demo person's colleagues, and people enough for the dashboard's charts. The
# rest are written while it serves: a person and their records take about 5 ms of CPU, so 2,000 kept a newcomer
# waiting 10 s of CPU, a minute of wall time on a busy machine (docs/performance.md, "Start-up").
FIRST_PEOPLE = 100
# The seed's batches while the demo serves: short write transactions, so that SQLite's one writer takes the
# pages' writes in between.
SERVING_BATCH = 100


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
         host: Annotated[str, typer.Option(help="Address to listen on (the links in mail follow it).")] = "127.0.0.1",
         port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on (the links in mail follow it).")]
         = 8000,
         serve: Annotated[bool, typer.Option(help="Serve after preparing (off: prepare and exit).")] = True) -> None:
    """Zero set-up demo: local SQLite and keys, demo people, an API key and a DPO login, then serve."""
    from kluis.demo.seed import Seeding, ensure_demo_person  # imported here for start-up speed, like `seed`

    init()
    kluis = wiring.for_cli()
    served = served_url(host, port)
    if "base_url" not in kluis.settings.model_fields_set:
        # Links in mail point at this demo, unless KLUIS_BASE_URL says otherwise. Set before anything is queued:
        # some links are written into a message's context when it is queued.
        kluis.settings = kluis.settings.model_copy(update={"base_url": served})
    with kluis.db.sessions() as session:
        existing = session.query(Person).count()
    seeding = None
    if existing == 0:
        seeding = Seeding(kluis, subjects)
        first = min(subjects, FIRST_PEOPLE) if serve else subjects
        with progress("seeding people", first) as step:
            done = seeding.people(first, on_progress=step)
        later = f"; the other {seeding.left} follow while the demo serves" if seeding.left else ""
        out.print(f"seeded {done.people} people with {done.records} records for {done.employers} employers{later}")
    else:
        out.print(f"the vault already holds {existing} people; not seeding again")
    person_email = ensure_demo_person(kluis)
    for name, url in prepare_demo_datasets(kluis).items():
        out.print(f"demo dataset '{name}': {url}", highlight=False, soft_wrap=True)
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="demo",
                              purposes=list(kluis.policy.purpose_ids), actor="cli")
        email = f"dpo+{token[6:12].lower()}@demo.benvitaal.nl"
        enrolment = add_staff(session, kluis.clock, kluis.keys, email, "dpo")
        enqueue(session, kluis.clock, template="account_notice", staff_id=enrolment.account.id,
                lang=mail_language(enrolment.account, kluis.settings), context={"notice": "account_created"},
                actor="cli")
    lines = [
        ("privacy centre", f"{served}/privacy-centre/request   (English: ?lang=en)"),
        ("try it as", f"{person_email}   (a demo person: the code to confirm arrives in the mail catcher)"),
        ("mail catcher", f"{served}/demo/mail   (every mail Kluis sends, kept in memory while the demo runs)"),
        ("staff console", f"{served}/console/login"),
        ("console login", f"{email} / {enrolment.password}   (the demo's DPO)"),
        ("console TOTP", f"{enrolment.totp_secret}   (authenticator app, or: .venv/bin/python -c "
                         f"\"import pyotp; print(pyotp.TOTP('{enrolment.totp_secret}').now())\")"),
        ("privacy statement", f"{served}/privacy   (English: /privacy?lang=en)"),
        ("API docs", f"{served}/docs   (ReDoc: /redoc)"),
        ("API key", f"{token}   (all purposes, shown once)"),
        ("health", f"{served}/health"),
    ]
    out.print("\n[bold]Kluis demo[/bold]")
    for label, value in lines:
        out.print(f"  {label:<18} {value}", highlight=False, soft_wrap=True, markup=False)
    if serve:
        run_demo_server(kluis, host, port, seeding)


def served_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host``: a wildcard address is reached
    through loopback, and an IPv6 address goes in brackets."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - recognising the wildcard, not binding to it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_demo_server(kluis: Kluis, host: str, port: int, seeding: Seeding | None = None) -> None:
    """One process for the demo: the HTTP app, the worker in a thread, and a local SMTP catcher whose
    messages (kept in memory only) are shown at /demo/mail; and in a thread, the rest of the seed's people."""
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
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **SERVER_OPTIONS))
    if seeding is not None and seeding.left:
        threading.Thread(target=_seed_once_serving, args=(server, seeding), name="kluis-demo-seed",
                         daemon=True).start()
    out.print(f"serving on {served_url(host, port)} (Ctrl+C stops the demo)", highlight=False)
    try:
        server.run()
    finally:
        stop_worker()
        catcher.stop()
    if not server.started:  # as uvicorn.run: the port was taken, say
        raise typer.Exit(3)


def _seed_once_serving(server: uvicorn.Server, seeding: Seeding) -> None:
    """The rest of the seed, once the server answers: its start-up does not wait for the seed's CPU."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    seed_rest(seeding)


def seed_rest(seeding: Seeding, batch: int = SERVING_BATCH, every: int = 500) -> None:
    """The seed's other people, written while the demo serves, with a line each time another ``every`` are in.
    Stopped before the end, the demo keeps those written and does not seed again."""
    total = seeding.result.people + seeding.left
    told = seeding.result.people

    def tell(_: int) -> None:
        nonlocal told
        if seeding.result.people // every > told // every or not seeding.left:
            told = seeding.result.people
            out.print(f"demo seed: {told} of {total} people", highlight=False)

    try:
        seeding.people(seeding.left, batch, tell)
    except Exception as exc:  # the demo serves on with the people it has; the text may hold values
        err.print(f"demo seed stopped at {seeding.result.people} of {total} people: {type(exc).__name__}")

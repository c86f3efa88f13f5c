"""`kluis worker`, the worker in a background thread and the demo's mail catcher (SPEC §9 Mail; R-CONS-2)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kluis import wiring
from kluis.app import create_app
from kluis.cli import app
from kluis.mail.catcher import start_catcher
from kluis.worker import drain, pollers, run_in_background

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


@pytest.fixture
def catcher():
    handle = start_catcher("127.0.0.1", 0)
    yield handle
    handle.stop()


def test_r_cons_2_kluis_worker_once_sends_what_is_due_and_exits(cli_kluis, relay, desk):
    person = desk.add_person("anna.smit@example.nl")
    desk.queue(person)
    desk.queue(person, lang="en", context={"notice": "account_created"})
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the terminal may wrap the summary line
    assert "mail 2," in said and said.endswith("handled")
    assert len(relay.received) == 2
    again = runner.invoke(app, ["worker", "--once"])
    assert again.exit_code == 0 and "mail 0," in " ".join(again.output.split()) and len(relay.received) == 2


def test_r_cons_2_drain_runs_every_poller_until_nothing_is_due(kluis, relay, desk):
    person = desk.add_person("anna.smit@example.nl")
    for _ in range(25):  # more than one batch
        desk.queue(person)
    handled = drain(kluis, pollers())
    sealed = handled.pop("audit_seal")
    assert handled == {"rights_reminders": 0, "complaints": 0, "rights_unverified": 0, "retention_sweep": 0,
                       "rights_packages": 0, "breach_deadlines": 0, "breach_notify": 0, "agreement_reminders": 0,
                       "order_exports": 0, "mail_addressing": 0, "mail": 25,
                       "policy_announcements": 0, "policy_redating": 0,
                       "erasure": 0, "audit_verify": 1}
    assert sealed >= 50  # the mail's queued and sent events, sealed in the same drain (R-GOV-1)
    assert len(relay.received) == 25


def test_r_cons_2_demo_worker_in_the_background_delivers_to_the_catcher_page(kluis, settings, desk, catcher, client):
    kluis.settings = settings.model_copy(update={"smtp_port": catcher.port})
    stop = run_in_background(kluis, poll_seconds=0.05)
    try:
        desk.queue(desk.add_person("Lotte.Visser@example.nl"), lang="en", context={"notice": "account_updated",
                                                                                  "reference": "R-1"})
        deadline = time.monotonic() + 15
        while not catcher.messages and time.monotonic() < deadline:  # wait for the real delivery
            time.sleep(0.02)
    finally:
        stop()
    [caught] = catcher.messages
    assert caught.to == ("lotte.visser@example.nl",)
    assert caught.subject == "benVitaal: Your account details were changed"
    assert "Reference: R-1" in caught.text and "<strong>R-1</strong>" in caught.html

    assert client.get("/demo/mail").status_code == 404, "no page without a catcher (not the demo)"
    demo_app = create_app(kluis)
    demo_app.state.mail_catcher = catcher
    with TestClient(demo_app) as demo:
        page = demo.get("/demo/mail")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "Your account details were changed" in page.text and "lotte.visser@example.nl" in page.text
    assert caught.message_id in page.text.replace("&lt;", "<").replace("&gt;", ">")
    assert "<strong>R-1</strong>" not in page.text, "the HTML part is shown escaped in a sandboxed frame"

"""R-GOV-5: the records of processing through the CLI (`kluis policy records`) and the console download, for
the roles that check the controls; each export is audited with ids and counts only, bad input writes nothing."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from sqlalchemy import select
from tests.helpers import sealed_log
from tests.integration.breaches.test_breach_interfaces import sign_in
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit.models import AuditEvent
from kluis.cli import app
from kluis.policy.records import COLUMNS, PROCESSOR_REGISTER, label
from kluis.vault.service import add_employer

runner = CliRunner()
ACTION = "policy.records_exported"


def _exports(kluis) -> list[AuditEvent]:
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.seq)))


@pytest.fixture
def cli_kluis(kluis):
    kluis.register_policy()
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_r_gov_5_cli_exports_csv_json_and_pdf_from_the_version_in_force(cli_kluis, tmp_path):
    made = runner.invoke(app, ["policy", "records", "--format", "csv", "--lang", "en"])
    assert made.exit_code == 0, made.output
    rows = list(csv.reader(io.StringIO(made.stdout)))
    assert rows[0] == [label(c, "en") for c in COLUMNS]
    assert len(rows) == 1 + len(cli_kluis.policy.purposes) + 2
    assert sum(1 for row in rows[1:] if row[0] == PROCESSOR_REGISTER) == 2

    made = runner.invoke(app, ["policy", "records", "--format", "json", "--lang", "nl", "--version", "1"])
    assert made.exit_code == 0, made.output
    body = json.loads(made.stdout)
    assert body["lang"] == "nl" and body["version"].startswith("1 (sha256:")

    with cli_kluis.db.transaction() as session:
        add_employer(session, cli_kluis.clock, "test", "Gemeente Zuid")
    made = runner.invoke(app, ["policy", "records", "--format", "json", "--lang", "en", "--per-employer"])
    assert made.exit_code == 0, made.output
    assert [r["controller"] for r in json.loads(made.stdout)["registers"]["art30_2"]["rows"]] == [
        "Gemeente Zuid (controller)"] * 2

    pdf = tmp_path / "register.pdf"
    made = runner.invoke(app, ["policy", "records", "--format", "pdf", "--out", str(pdf)])
    assert made.exit_code == 0, made.output
    assert pdf.read_bytes().startswith(b"%PDF")

    events = _exports(cli_kluis)
    assert [(e.actor, e.object_ids, e.details["format"], e.details["lang"]) for e in events] == [
        ("cli", ["1"], "csv", "en"), ("cli", ["1"], "json", "nl"), ("cli", ["1"], "json", "en"),
        ("cli", ["1"], "pdf", "nl")]
    assert [e.details["per_employer"] for e in events] == [False, False, True, False]
    assert events[2].details["rows"]["art30_2"] == 2
    assert events[0].details["rows"] == {"art30_1": len(cli_kluis.policy.purposes), "art30_2": 2}
    assert sealed_log(cli_kluis).ok


def test_r_gov_5_cli_refuses_an_unknown_or_mismatched_version_and_writes_nothing(cli_kluis, tmp_path):
    unknown = runner.invoke(app, ["policy", "records", "--version", "9"])
    assert unknown.exit_code == 1 and "policy_version_not_found" in unknown.output and "stored: 1" in unknown.output
    data = yaml.safe_load(cli_kluis.settings.policy_file.read_text(encoding="utf-8"))
    data["security_measures"]["en"] = "Changed measures."
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mismatch = runner.invoke(app, ["policy", "records", "--version", "1", str(other)])
    assert mismatch.exit_code == 1 and "policy_version_mismatch" in mismatch.output
    no_out = runner.invoke(app, ["policy", "records", "--format", "pdf"])
    assert no_out.exit_code == 2 and "--out" in no_out.output
    assert _exports(cli_kluis) == []
    # A file not yet registered is labelled with its hash alone.
    made = runner.invoke(app, ["policy", "records", "--format", "json", str(other)])
    assert made.exit_code == 0 and json.loads(made.stdout)["version"].startswith("sha256:")


def test_r_gov_5_console_download_for_auditor_and_dpo_refused_to_marketing(client, kluis, clock):
    sign_in(client, kluis, clock, "auditor")
    page = client.get("/console/policy/records")
    assert page.status_code == 200
    assert 'href="/console/policy/records"' in page.text and "format=pdf&amp;lang=en" in page.text
    got = client.get("/console/policy/records?format=csv&lang=nl")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][2] == "Verwerkingsdoel" and len(rows) == 1 + len(kluis.policy.purposes) + 2
    assert client.get("/console/policy/records?format=pdf&lang=en").content.startswith(b"%PDF")
    bad = client.get("/console/policy/records?format=xlsx&lang=nl")
    assert bad.status_code == 422 and "format" in bad.text
    assert client.get("/console/policy/records?format=csv&lang=de").status_code == 422
    events = _exports(kluis)
    assert [(e.actor.startswith("staff:"), e.details["format"], e.details["lang"]) for e in events] == [
        (True, "csv", "nl"), (True, "pdf", "en")]
    assert set(events[0].details) == {"format", "lang", "content_hash", "per_employer", "rows"}

    sign_in(client, kluis, clock, "dpo")
    assert client.get("/console/policy/records?format=json&lang=en").json()["lang"] == "en"
    with kluis.db.transaction() as session:
        add_employer(session, kluis.clock, "test", "Gemeente Zuid")
    per_employer = client.get("/console/policy/records?format=json&lang=nl&per_employer=1").json()
    assert {r["controller"] for r in per_employer["registers"]["art30_2"]["rows"]} == {
        "Gemeente Zuid (verwerkingsverantwoordelijke)"}

    sign_in(client, kluis, clock, "marketing")
    refused = client.get("/console/policy/records?format=csv&lang=nl")
    assert refused.status_code == 403
    assert client.get("/console/policy/records").status_code == 403
    assert 'href="/console/policy/records"' not in client.get("/console").text
    assert len(_exports(kluis)) == 4
    assert sealed_log(kluis).ok

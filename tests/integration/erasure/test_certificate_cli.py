"""`kluis erasure run` and `kluis erasure certificate export|verify` (R-DSR-6): exit codes a script can trust."""

from __future__ import annotations

import json

import pytest
from tests.integration.erasure.erasure_support import person_with_everything
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.erasure import certificate

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_queue_run_export_and_verify_from_the_command_line_r_dsr_6(cli_kluis, tmp_path):
    person_id, _ = person_with_everything(cli_kluis, claims=1)
    queued = runner.invoke(app, ["erasure", "queue", str(person_id)])
    assert queued.exit_code == 0, queued.output
    job_id = queued.output.split()[2]
    ran = runner.invoke(app, ["erasure", "run"])
    assert ran.exit_code == 0 and "1 erasure job(s) done" in ran.output, ran.output
    assert "done" in runner.invoke(app, ["erasure", "list"]).output
    exported = runner.invoke(app, ["certificate", "export", job_id, "--out", str(tmp_path)])
    assert exported.exit_code == 0, exported.output
    json_path = tmp_path / f"erasure-{job_id}.json"
    public = certificate.public_text(certificate.private_key(
        cli_kluis.settings.certificate_key.get_secret_value()).public_key())
    good = runner.invoke(app, ["certificate", "verify", str(json_path), "--public-key", public])
    assert good.exit_code == 0 and "genuine" in good.output and "PDF" in good.output, good.output
    pdf = runner.invoke(app, ["certificate", "verify", str(json_path.with_suffix(".pdf")), "--public-key", public])
    assert pdf.exit_code == 0, pdf.output

    signed = json.loads(json_path.read_text())
    signed["certificate"]["erased"]["identifiers"] = 0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(signed))
    bad = runner.invoke(app, ["certificate", "verify", str(forged), "--public-key", public])
    assert bad.exit_code == 1 and "NOT GENUINE" in bad.output
    other = certificate.public_text(certificate.private_key("A" * 43).public_key())
    wrong = runner.invoke(app, ["certificate", "verify", str(json_path), "--public-key", other])
    assert wrong.exit_code == 1 and "another key" in wrong.output
    missing = runner.invoke(app, ["certificate", "verify", str(tmp_path / "nope.json")])
    assert missing.exit_code != 0 and "cannot read" in missing.output
    refused = runner.invoke(app, ["erasure", "queue", "not-a-uuid"])
    assert refused.exit_code != 0

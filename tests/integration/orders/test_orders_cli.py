"""`kluis orders` (R-SHR-3): the same workflow and the same four-eyes rule as the console, staff named with
--as; the worker deletes expired exports."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from tests.helpers import sealed_log
from tests.integration.orders.orders_support import counts, order_pdf
from tests.integration.retention.retention_support import ams, person
from tests.integration.rights.test_rights_console import PASSWORD
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.staff import service as staff_service
from kluis.worker import drain, pollers

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis, clock):
    clock.set(ams(2026, 11, 25, 10))
    with kluis.db.transaction() as session:
        for email, role in (("dpo.een@benvitaal.nl", "dpo"), ("dpo.twee@benvitaal.nl", "dpo"),
                            ("support@benvitaal.nl", "support")):
            staff_service.add_staff(session, clock, kluis.keys, email, role, PASSWORD)
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def _run(*args: str):
    return runner.invoke(app, ["orders", *args])


def test_r_shr_3_cli_records_a_second_dpo_approves_and_the_export_expires(cli_kluis, clock, tmp_path):
    pid, _ = person(cli_kluis, "account", "marketing")
    pdf = tmp_path / "bevel.pdf"
    pdf.write_bytes(order_pdf())
    made = _run("record", "--as", "support@benvitaal.nl", "--legal-basis", "art. 126nd Sv", "--reference", "OM-1",
                "--date", "2026-11-20", "--document", str(pdf), "--person", str(pid), "--category", "basic")
    assert made.exit_code == 0, made.output
    order_id = re.search(r"order ([0-9a-f-]{36}) recorded", made.output)[1]
    assert order_id in _run("list").output
    by_support = _run("approve", order_id, "--as", "support@benvitaal.nl", "--reasons", "ok")
    assert by_support.exit_code == 1 and "dpo_required" in by_support.output
    approved = _run("approve", order_id, "--as", "dpo.een@benvitaal.nl", "--reasons", "bevel gecontroleerd")
    assert approved.exit_code == 0, approved.output
    token = re.search(r"/console/orders/exports/([A-Za-z0-9_-]{64})", approved.output)[1]
    out = tmp_path / "export.zip"
    # after "--": a link's last part may begin with "-", which would otherwise read as an option
    assert _run("download", "--as", "dpo.twee@benvitaal.nl", "--to", str(out), "--", token).exit_code == 0
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        assert [r["category"] for r in json.loads(zf.read(f"people/{pid}.json"))["records"]] == ["basic"]
    clock.advance(timedelta(days=7, seconds=1))
    assert drain(cli_kluis, pollers())["order_exports"] == 1
    gone = _run("download", "--as", "dpo.twee@benvitaal.nl", "--to", str(out), "--", token)
    assert gone.exit_code == 1 and "export_expired" in gone.output
    assert "deleted 0 expired export(s)" in _run("expire").output
    assert sealed_log(cli_kluis).ok


def test_r_shr_3_cli_refuses_bad_input_and_the_recorder_approving(cli_kluis, tmp_path):
    pid, _ = person(cli_kluis, "account")
    text = tmp_path / "bevel.pdf"
    text.write_text("geen pdf")
    before = counts(cli_kluis)
    bad = _run("record", "--as", "dpo.een@benvitaal.nl", "--legal-basis", "art. 126nd Sv", "--reference", "OM-2",
               "--date", "2026-11-20", "--document", str(text), "--person", str(pid), "--category", "basic",
               "--defer-until", "2026-11-19")
    assert bad.exit_code == 1 and "not a PDF" in bad.output and "after the order" in bad.output
    assert counts(cli_kluis) == before
    pdf = tmp_path / "echt.pdf"
    pdf.write_bytes(order_pdf())
    made = _run("record", "--as", "dpo.een@benvitaal.nl", "--legal-basis", "art. 126nd Sv", "--reference", "OM-2",
                "--date", "2026-11-20", "--document", str(pdf), "--person", str(pid), "--category", "basic")
    order_id = re.search(r"order ([0-9a-f-]{36}) recorded", made.output)[1]
    own = _run("approve", order_id, "--as", "dpo.een@benvitaal.nl", "--reasons", "ok")
    assert own.exit_code == 1 and "recorder_may_not_decide" in own.output
    refused = _run("refuse", "--as", "support@benvitaal.nl", "--authority", "Belastingdienst",
                   "--answer", "Alleen met een schriftelijk bevel.")
    assert refused.exit_code == 0 and "Belastingdienst" in _run("list").output
    assert _run("refuse", "--as", "nobody@benvitaal.nl", "--authority", "X", "--answer", "nee").exit_code == 1


def test_r_shr_3_cli_a_dpo_deletes_an_order_and_its_document_key_goes(cli_kluis, tmp_path):
    pid, _ = person(cli_kluis, "account")
    pdf = tmp_path / "bevel.pdf"
    pdf.write_bytes(order_pdf())
    made = _run("record", "--as", "support@benvitaal.nl", "--legal-basis", "art. 126nd Sv", "--reference", "OM-2",
                "--date", "2026-11-20", "--document", str(pdf), "--person", str(pid), "--category", "basic")
    order_id = re.search(r"order ([0-9a-f-]{36}) recorded", made.output)[1]
    by_support = _run("delete", order_id, "--as", "support@benvitaal.nl")
    assert by_support.exit_code == 1 and "dpo_required" in by_support.output
    assert order_id in _run("list").output
    deleted = _run("delete", order_id, "--as", "dpo.een@benvitaal.nl")
    assert deleted.exit_code == 0 and "its document's key destroyed" in deleted.output, deleted.output
    assert order_id not in _run("list").output
    assert counts(cli_kluis)["authority_order"] == 0
    assert _run("delete", order_id, "--as", "dpo.een@benvitaal.nl").exit_code == 1  # no such order any more

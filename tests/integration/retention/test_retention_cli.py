"""`kluis retention` for operators and the DPO; holds in the access package (R-RET-1..3, R-DSR-3)."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile

import pytest
from tests.helpers import api_key, headers
from tests.integration.retention.retention_support import ams, employer, erased, person, records_of
from typer.testing import CliRunner

from kluis import wiring
from kluis.access.service import create_key
from kluis.cli import app
from kluis.kit.errors import Invalid
from kluis.retention import service
from kluis.rights.packages.archive import write_access_package

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def _run(*args: str):
    result = runner.invoke(app, ["retention", *args])
    return result


def test_r_ret_1_explain_prints_rule_trigger_and_due_day_per_record(cli_kluis, clock):
    clock.set(ams(2026, 3, 1, 9))
    pid, ids = person(cli_kluis, "web", "account", at=ams(2026, 2, 1, 9))
    result = _run("explain", str(pid))
    assert result.exit_code == 0, result.output
    assert re.search(rf"{ids['web']}\s+web_traffic\s+rule web_traffic\s+collected on 2026-02-01\s+due 2026-08-01",
                     result.output)
    assert re.search(rf"{ids['account']}\s+account\s+rule accounts\s+contract_end: not yet\s+due -", result.output)
    bad = _run("explain", "nobody")
    assert bad.exit_code == 1 and "not a person id" in bad.output


def test_r_ret_3_explain_prints_which_records_a_legal_obligation_keeps(cli_kluis, clock):
    clock.set(ams(2026, 3, 1, 9))
    pid, ids = person(cli_kluis, "claim", "web", employer_id=employer(cli_kluis), at=ams(2026, 2, 1, 9))
    result = _run("explain", str(pid))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line[:8] in (str(ids["claim"])[:8],
                                                                                        str(ids["web"])[:8])}
    assert "legal obligation: kept after an erasure request until due" in lines[str(ids["claim"])]
    assert "legal obligation" not in lines[str(ids["web"])]


def test_r_ret_2_dry_run_then_sweep_print_the_same_counts_per_rule(cli_kluis, clock):
    clock.set(ams(2025, 1, 10, 9))
    for _ in range(2):
        person(cli_kluis, "web", "marketing", at=ams(2022, 1, 5, 9), last_activity=ams(2022, 1, 5, 9))
    clock.set(ams(2025, 1, 6, 0))
    dry = _run("sweep", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would erase 4 record(s)" in dry.output and "2 person(s) left with no data would be" in dry.output
    assert re.search(r"marketing_contacts\s+2\s+due 2025-01-04 \.\. 2025-01-04", dry.output)
    assert re.search(r"web_traffic\s+2\s+due 2022-07-04 \.\. 2022-07-04", dry.output)
    real = _run("sweep", "--batch", "3")
    assert real.exit_code == 0, real.output
    assert real.output.replace("erased 4", "would erase 4").replace("were erased", "would be erased") == dry.output
    sweeps = _run("sweeps")
    assert re.search(r"cli\s+4 record\(s\)\s+2 person\(s\)\s+finished", sweeps.output)


def test_r_ret_2_dry_run_sweep_and_sweeps_print_what_legal_holds_keep_per_rule_and_hold(cli_kluis, clock):
    clock.set(ams(2025, 1, 10, 9))
    held, _ = person(cli_kluis, "web", "marketing", at=ams(2022, 1, 5, 9), last_activity=ams(2022, 1, 5, 9))
    person(cli_kluis, "web", at=ams(2022, 1, 5, 9))
    added = _run("hold", "add", "--person", str(held), "--reason", "litigation", "--reference", "RB-2025-17")
    assert added.exit_code == 0, added.output
    hold_id = added.output.split()[1]
    clock.set(ams(2025, 1, 6, 0))
    for args in (("sweep", "--dry-run"), ("sweep",), ("sweeps",)):
        result = _run(*args)
        assert result.exit_code == 0, result.output
        assert "held back by legal holds: 2 due record(s)" in result.output, args
        assert re.search(r"marketing_contacts\s+1\n", result.output) and re.search(r"web_traffic\s+1\n", result.output)
        assert (f"hold {hold_id} (person: litigation) 2 record(s): marketing_contacts 1, web_traffic 1"
                in result.output), result.output


def test_r_ret_3_hold_add_list_release_from_the_cli(cli_kluis, clock):
    clock.set(ams(2025, 1, 10, 9))
    pid, _ = person(cli_kluis, "web", at=ams(2025, 1, 2, 9))
    added = _run("hold", "add", "--person", str(pid), "--reason", "litigation", "--reference", "RB-2025-3")
    assert added.exit_code == 0, added.output
    hold_id = added.output.split()[1]
    assert _run("hold", "list").output.count("litigation RB-2025-3") == 1
    clock.set(ams(2025, 8, 1, 0))
    assert "erased 0 record(s)" in _run("sweep").output and not erased(cli_kluis, pid)
    assert _run("hold", "release", hold_id).exit_code == 0
    assert "0 hold(s)" in _run("hold", "list").output and "released" in _run("hold", "list", "--all").output
    assert "erased 1 record(s)" in _run("sweep").output and erased(cli_kluis, pid)
    refused = _run("hold", "add", "--category", "finance", "--reason", "tax_audit")
    assert refused.exit_code == 1 and "did you mean 'financial'" in refused.output
    assert _run("hold", "add", "--reason", "tax_audit").exit_code == 1


def test_r_ret_3_holds_through_the_api_and_in_the_access_package(client, kluis, clock):
    clock.set(ams(2026, 1, 10, 9))
    boss = employer(kluis)
    pid, _ = person(kluis, "claim", "marketing", employer_id=boss, email="held@example.nl")
    auth = headers(holds_key(kluis), "support")
    placed = client.post("/api/v1/retention/holds", headers=auth, json={
        "scope": "employer", "employer_id": str(boss), "reason": "tax_audit", "reference": "BD-77",
        "until": "2027-01-01T00:00:00+01:00"})
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    bad = client.post("/api/v1/retention/holds", headers=auth, json={"scope": "person", "reason": "tax_audit"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "target_required"
    assert [h["id"] for h in client.get("/api/v1/retention/holds", headers=auth).json()] == [hold["id"]]
    out = io.BytesIO()
    with kluis.db.transaction() as session:
        assert [h.id for h in service.held(session, clock, pid)] == [uuid.UUID(hold["id"])]
        write_access_package(kluis, session, pid, "en", out)
    package = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    holds = json.loads(package.read("legal_holds.json"))
    assert [(h["scope"], h["reason"], h["reference"]) for h in holds] == [("employer", "tax_audit", "BD-77")]
    assert "legal hold): a tax audit, since 10 January 2026" in package.read("report.html").decode()
    released = client.post(f"/api/v1/retention/holds/{hold['id']}/release", headers=auth)
    assert released.status_code == 200 and released.json()["released_at"]
    assert client.get("/api/v1/retention/holds", headers=auth).json() == []
    assert len(records_of(kluis, pid)) == 2


def holds_key(kluis):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="legal", purposes=["support"], actor="test",
                              powers=["legal_holds"])
    return {"Authorization": f"Bearer {token}"}


def test_r_ret_3_only_a_key_with_the_legal_holds_power_places_lists_or_releases_holds(client, kluis, clock):
    """R-RET-3: a hold stops erasure and the sweep, so releasing one lets data go. An ordinary service key,
    whatever its purposes, may neither place, see nor release a hold; nothing changes when it tries."""
    pid, _ = person(kluis, "marketing", email="houden@example.nl")
    legal = headers(holds_key(kluis), "support")
    ordinary = headers(api_key(kluis, ["support", "accounts", "marketing_email"]), "support")
    body = {"scope": "person", "person_id": str(pid), "reason": "litigation", "reference": "ZAAK-1"}
    refused = client.post("/api/v1/retention/holds", headers=ordinary, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "power_required"
    assert client.get("/api/v1/retention/holds", headers=ordinary).status_code == 403
    placed = client.post("/api/v1/retention/holds", headers=legal, json=body)
    assert placed.status_code == 201
    release = client.post(f"/api/v1/retention/holds/{placed.json()['id']}/release", headers=ordinary)
    assert release.status_code == 403 and release.json()["code"] == "power_required"
    assert [h["id"] for h in client.get("/api/v1/retention/holds", headers=legal).json()] == [placed.json()["id"]]
    with kluis.db.sessions() as session:
        assert [h.id for h in service.held(session, clock, pid)] == [uuid.UUID(placed.json()["id"])]
    with kluis.db.transaction() as session, pytest.raises(Invalid):
        create_key(session, kluis.clock, kluis.policy, service="x", purposes=["support"], actor="test",
                   powers=["everything"])

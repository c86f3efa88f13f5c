"""R-GOV-3 through every door: the console (support reports, only the DPO decides, files and notifies; the
countdown is shown; the AP draft downloads as JSON and PDF), the API (powers breach_report / breach_decide,
keyset pages of affected people, OpenAPI) and the CLI (`kluis breaches ...`). Bad input is refused whole."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from tests.helpers import sealed_log
from tests.integration.breaches.breach_support import PASSWORD, dpo, person
from typer.testing import CliRunner

from kluis import wiring
from kluis.access.service import create_key
from kluis.breaches.models import Breach, BreachFiling
from kluis.cli import app
from kluis.kit.errors import Invalid

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
runner = CliRunner()


def sign_in(client, kluis, clock, role, email=None):
    email = email or f"{role}@benvitaal.nl"
    enrolment = dpo(kluis, email, role=role)
    client.cookies.clear()
    page = client.get("/console/login")
    done = client.post("/console/login", data={"email": email, "password": PASSWORD,
                                               "csrf": CSRF.search(page.text)[1],
                                               "code": pyotp.TOTP(enrolment.totp_secret).at(clock.now())},
                       follow_redirects=False)
    assert done.status_code == 303, done.text


def csrf(client, path="/console/breaches/new"):
    return CSRF.search(client.get(path).text)[1]


def key(kluis, *powers):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="incident-desk", purposes=["security"],
                              actor="test", powers=list(powers))
    return {"Authorization": f"Bearer {token}"}


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_r_gov_3_console_support_reports_over_the_october_change_dpo_decides_and_files(client, kluis, clock):
    clock.set(datetime(2026, 10, 26, 9, 0, tzinfo=UTC))
    person(kluis, "een@example.nl", collected_at=datetime(2026, 9, 1, tzinfo=UTC))
    sign_in(client, kluis, clock, "support")
    form = {"csrf": csrf(client), "aware_local": "2026-10-25T01:30", "happened_from_local": "2026-10-24T22:00",
            "happened_until_local": "2026-10-25T00:45", "nature": ["confidentiality", "availability"],
            "categories": ["financial"], "subject_types": ["employee"], "summary": "Laptop gestolen uit de auto.",
            "consequences": "Declaraties inzichtelijk.", "measures": "Laptop op afstand gewist."}
    future = client.post("/console/breaches", data=form | {"aware_local": "2026-10-27T10:00"})
    assert future.status_code == 422 and "lies in the future" in future.text
    repeated = client.post("/console/breaches", data=form | {"aware_local": "2026-10-25T02:30"})
    assert repeated.status_code == 422 and "happened twice in Amsterdam" in repeated.text
    unknown = client.post("/console/breaches", data=form | {"categories": ["financial", "dna"]})
    assert unknown.status_code == 422 and "unknown category" in unknown.text
    assert _count(kluis, Breach) == 0
    made = client.post("/console/breaches", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    page = client.get(path)
    # 01:30 CEST on 25 Oct + 72 real hours = 00:30 CET on 28 Oct; 38 h 30 min left at 09:00 UTC on the 26th.
    assert "2026-10-28 00:30 CET" in page.text and "38 h 30 min left" in page.text
    assert 'id="affected">1<' in page.text and "Decide on the risk" not in page.text
    denied = client.post(path + "/decide", data={"csrf": csrf(client, path), "risk": "risk", "reason": "x"})
    assert denied.status_code == 403
    sign_in(client, kluis, clock, "dpo")
    no_reason = client.post(path + "/decide", data={"csrf": csrf(client, path), "risk": "high_risk", "reason": " "})
    assert no_reason.status_code == 422 and "needs its reason" in no_reason.text
    decided = client.post(path + "/decide", data={"csrf": csrf(client, path), "risk": "high_risk",
                                                  "reason": "Onversleutelde declaraties."})
    assert decided.status_code == 200 and "Onversleutelde declaraties." in decided.text
    draft = client.get(path + "/ap-draft.json")
    fields = {f["veld"]: f["waarde"] for f in json.loads(draft.text)["velden"]}
    assert fields["aantal_betrokkenen"] == {"minimaal": 1, "maximaal": 1}
    assert fields["tijdstip"]["uiterste_meldtermijn"] == "2026-10-28 00:30 CET (UTC+0100)"
    assert fields["samenvatting"] == "Laptop gestolen uit de auto." and fields["contactgegevens"]["e-mailadres"]
    pdf = client.get(path + "/ap-draft.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    clock.advance(timedelta(days=2))  # past the deadline (and the console session: a second DPO signs in)
    sign_in(client, kluis, clock, "dpo", "dpo.twee@benvitaal.nl")
    late = client.post(path + "/file", data={"csrf": csrf(client, path), "ap_reference": "AP-2026-42"})
    assert late.status_code == 422 and "reasons for the delay" in late.text
    assert _count(kluis, BreachFiling) == 0
    filed = client.post(path + "/file", data={"csrf": csrf(client, path), "ap_reference": "AP-2026-42",
                                              "late_reason": "Omvang pas dinsdag duidelijk."})
    assert filed.status_code == 200 and "AP-2026-42" in filed.text and "Omvang pas dinsdag" in filed.text
    amended = client.post(path + "/amend", data={"csrf": csrf(client, path), "measures": "Wachtwoorden vervangen."})
    assert amended.status_code == 200 and "Wachtwoorden vervangen." in amended.text
    follow_up = client.post(path + "/file", data={"csrf": csrf(client, path), "ap_reference": "AP-2026-42",
                                                  "changes": "Extra maatregel."})
    assert follow_up.status_code == 200 and "follow-up" in follow_up.text and "Extra maatregel." in follow_up.text
    started = client.post(path + "/notify", data={"csrf": csrf(client, path)})
    assert started.status_code == 200 and "running: 0 mailed" in started.text
    listing = client.get("/console/breaches")
    assert "filed" in listing.text and "high risk" in listing.text
    exported = client.get("/console/breaches/register.csv")
    assert list(csv.DictReader(io.StringIO(exported.text)))[0]["ap_references"] == "AP-2026-42;AP-2026-42"
    assert sealed_log(kluis).ok


def test_r_gov_3_api_powers_pages_and_openapi(client, kluis, clock):
    people = sorted(person(kluis, f"p{i}@example.nl") for i in range(5))
    body = {"aware_at": (clock.now() - timedelta(hours=1)).isoformat(),
            "happened_from": (clock.now() - timedelta(days=1)).isoformat(), "nature": ["integrity"],
            "categories": ["financial"], "subject_types": ["employee"], "summary": "Bedragen gewijzigd."}
    assert client.post("/api/v1/breaches", json=body, headers=key(kluis)).status_code == 403
    reporter, decider = key(kluis, "breach_report"), key(kluis, "breach_decide", "breach_report")
    future = client.post("/api/v1/breaches", json=body | {"aware_at": (clock.now() + timedelta(hours=1)).isoformat()},
                         headers=reporter)
    assert future.status_code == 422 and future.json()["errors"][0]["code"] == "in_future"
    made = client.post("/api/v1/breaches", json=body, headers=reporter)
    assert made.status_code == 201, made.text
    breach = made.json()
    assert breach["affected"] == 5 and breach["countdown"] == "71 h 00 min left"
    path = f"/api/v1/breaches/{breach['id']}"
    assert client.post(path + "/decision", json={"risk": "risk", "reason": "x"}, headers=reporter).status_code == 403
    assert client.post(path + "/decision", json={"risk": "risk", "reason": ""}, headers=decider).status_code == 422
    decided = client.post(path + "/decision", json={"risk": "risk", "reason": "integriteit aangetast"},
                          headers=decider)
    assert decided.status_code == 200 and decided.json()["risk_reason"] == "integriteit aangetast"
    first = client.get(path + "/affected?limit=3", headers=decider).json()
    rest = client.get(path + f"/affected?limit=3&after={first['next_after']}", headers=decider).json()
    assert first["person_ids"] + rest["person_ids"] == [str(p) for p in people] and rest["next_after"] is None
    assert client.get(path + "/ap-draft?format=pdf", headers=decider).content.startswith(b"%PDF")
    filed = client.post(path + "/filings", json={"ap_reference": "AP-9"}, headers=decider)
    assert filed.status_code == 201 and filed.json()["kind"] == "initial"
    follow_up = client.post(path + "/filings", json={"ap_reference": "AP-9", "changes": "meer mensen"},
                            headers=decider)
    assert follow_up.json()["kind"] == "follow_up"
    assert client.post(path + "/notification", headers=decider).status_code == 409  # not high risk
    amended = client.patch(path, json={"consequences": "Bedragen kunnen onjuist zijn uitbetaald."}, headers=reporter)
    assert amended.status_code == 200 and amended.json()["consequences"].startswith("Bedragen kunnen")
    assert client.get("/api/v1/breaches/register.csv", headers=decider).text.count("\n") == 2
    listed = client.get("/api/v1/breaches", headers=reporter).json()
    assert [b["id"] for b in listed] == [breach["id"]]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/breaches", "/api/v1/breaches/{breach_id}/decision", "/api/v1/breaches/{breach_id}/filings",
            "/api/v1/breaches/{breach_id}/affected", "/api/v1/breaches/{breach_id}/ap-draft"} <= set(paths)


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def test_r_gov_3_cli_reports_streams_decides_and_exports(cli_kluis, clock, tmp_path):
    kluis = cli_kluis
    people = sorted(person(kluis, f"p{i}@example.nl") for i in range(3))
    refused = runner.invoke(app, ["breach", "report", "--aware-at", "2026-11-26T10:00+01:00", "--from",
                                  "2026-11-24T10:00+01:00", "--summary", "x", "--nature", "confidentiality",
                                  "--category", "financial", "--subject", "employee"])
    assert refused.exit_code == 1 and "future" in refused.output
    made = runner.invoke(app, ["breach", "report", "--aware-at", "2026-11-25T10:00+01:00", "--from",
                               "2026-11-24T10:00+01:00", "--summary", "Mail aan verkeerde lijst.", "--nature",
                               "confidentiality", "--category", "financial", "--subject", "employee"])
    assert made.exit_code == 0, made.output
    breach_id = made.output.split()[0]
    assert "2026-11-28 10:00 CET" in made.output
    streamed = runner.invoke(app, ["breach", "affected", breach_id])
    assert sorted(streamed.output.split()) == [str(p) for p in people]
    assert runner.invoke(app, ["breach", "decide", breach_id, "--risk", "risk"]).exit_code == 1
    assert runner.invoke(app, ["breach", "decide", breach_id, "--risk", "risk", "--reason", "leesbaar"]).exit_code == 0
    assert runner.invoke(app, ["breach", "draft", breach_id, "-o", str(tmp_path / "d.pdf")]).exit_code == 0
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert runner.invoke(app, ["breach", "file", breach_id, "--ap-reference", "AP-1"]).exit_code == 0
    assert runner.invoke(app, ["breach", "export", "-o", str(tmp_path / "r.csv")]).exit_code == 0
    assert "AP-1" in (tmp_path / "r.csv").read_text()
    assert runner.invoke(app, ["breach", "amend", breach_id, "--measures", "Lijst opgeschoond."]).exit_code == 0
    shown = runner.invoke(app, ["breach", "show", breach_id])
    assert "summary: Mail aan verkeerde lijst." in shown.output and "filing initial" in shown.output
    assert "measures: Lijst opgeschoond." in shown.output
    listed = runner.invoke(app, ["breach", "list"])
    assert breach_id in listed.output and "filed" in listed.output


def test_r_gov_3_console_times_are_amsterdam_and_the_repeated_hour_needs_its_offset():
    from kluis.breaches.console import instant

    # 02:30 on 25 Oct 2026 happens twice in Amsterdam: first in CEST, then, an hour later, in CET. Taking either
    # silently would put the 72-hour deadline an hour off; the form asks for the offset instead.
    with pytest.raises(Invalid) as repeated:
        instant("2026-10-25T02:30", "amsterdam", "aware_at")
    assert [(p.path, p.code) for p in repeated.value.problems] == [("aware_at", "time_ambiguous")]
    assert "+02:00" in repeated.value.problems[0].message and "+01:00" in repeated.value.problems[0].message
    assert instant("2026-10-25T02:30", "+02:00", "aware_at").astimezone(UTC) == datetime(2026, 10, 25, 0, 30,
                                                                                          tzinfo=UTC)
    assert instant("2026-10-25T02:30", "+01:00", "aware_at").astimezone(UTC) == datetime(2026, 10, 25, 1, 30,
                                                                                          tzinfo=UTC)
    with pytest.raises(Invalid) as skipped:  # 28 Mar 2027: the clocks jump from 02:00 to 03:00
        instant("2027-03-28T02:30", "amsterdam", "aware_at")
    assert [p.code for p in skipped.value.problems] == ["time_nonexistent"]
    assert instant("2026-10-25T01:30", "amsterdam", "aware_at").astimezone(UTC) == datetime(2026, 10, 24, 23, 30,
                                                                                             tzinfo=UTC)
    assert instant(" ", "amsterdam", "aware_at") is None

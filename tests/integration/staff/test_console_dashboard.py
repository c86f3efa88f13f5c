"""The DPO dashboard (issue 19 §2; R-DSR-2, R-CONS-3, R-GOV-2): charts drawn on the server as
SVG, each with a table of the same figures; the figures equal the data created here."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.breaches.breach_support import report
from tests.integration.staff.console_data import request

from kluis.breaches.service import Breaches
from kluis.complaints.service import Complaints
from kluis.kit.clock import SettableClock
from kluis.kit.ids import new_id
from kluis.retention.models import SweepRun
from kluis.vault.schemas import IdentifierIn, PersonIn
from kluis.wiring import Kluis

NOTICE = "Yes, send me benVitaal's newsletter."
WEEKS = ["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16",
         "2026-11-23"]  # the clock stands on Wednesday 25 November 2026


def _table(html: str, chart_id: str) -> dict[str, list[int]]:
    found = re.search(rf'<table id="{chart_id}-table">(.*?)</table>', html, re.S)
    assert found, f"no table for {chart_id}"
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', found.group(1), re.S)
    return {label: [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)] for label, cells in rows}


def _consent(kluis: Kluis, clock: SettableClock, at: datetime, email: str, withdraw_by: str | None) -> None:
    saved = clock.now()
    clock.set(at)
    with kluis.db.transaction() as session:
        person = kluis.vault(session, "test").create_person(PersonIn(
            subject_types=["lead"], identifiers=[IdentifierIn(kind="email", value=email)]))
        consents = kluis.consents(session, "test")
        consents.give(person.id, "marketing_email", method="form", notice_text=NOTICE, lang="en")
        if withdraw_by:
            consents.withdraw(person.id, "marketing_email", method=withdraw_by)
    clock.set(saved)


@pytest.fixture
def day_to_run(kluis: Kluis, clock: SettableClock) -> None:
    request(kluis, "erasure", 40, "REF-a")  # overdue
    request(kluis, "access", 35, "REF-b")  # overdue
    request(kluis, "access", 26, "REF-c", state="verified")  # 2 to 5 days left
    request(kluis, "objection", 12, "REF-d", state="in_progress")  # 16 to 19 days left
    request(kluis, "access", 3, "REF-e")  # 25 to 28 days left
    request(kluis, "erasure", 20, "REF-f", state="done")  # closed: in no figure
    now = clock.now()
    _consent(kluis, clock, now - timedelta(days=1), "a@example.nl", None)
    _consent(kluis, clock, now - timedelta(days=1), "b@example.nl", "unsubscribe_link")
    _consent(kluis, clock, now - timedelta(days=15), "c@example.nl", "subscription_page")
    _consent(kluis, clock, now - timedelta(days=15), "d@example.nl", "unsubscribe_link")
    _consent(kluis, clock, now - timedelta(days=15), "e@example.nl", None)
    _consent(kluis, clock, now - timedelta(days=100), "f@example.nl", "unsubscribe_link")  # before the window
    with kluis.db.transaction() as session:
        for days, per_rule in ((2, {"lead-inactive": {"records": 4}, "invoice-7y": {"records": 1}}),
                               (3, {"lead-inactive": {"records": 2}}), (8, {"lead-inactive": {"records": 5}})):
            started = now - timedelta(days=days)
            session.add(SweepRun(id=new_id(), actor="worker", started_at=started, finished_at=started,
                                 records=0, people=0, per_rule=per_rule))
    report(kluis)  # awaiting the risk decision
    decided = report(kluis)
    with kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:test").decide(decided.id, "risk", "Financial data of many people.")
        complaints = Complaints(session, kluis, "test")
        complaints.register_by_staff("Ik kreeg geen antwoord.", now - timedelta(hours=1), "Telefoon 12:00")


def test_issue_19_dashboard_figures_equal_the_data(
        client: TestClient, day_to_run: None, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("dpo"))
    page = client.get("/console")
    assert page.status_code == 200
    html = page.text
    assert _table(html, "requests-state") == {"received": [3], "verified": [1], "in_progress": [1],
                                              "waiting_on_person": [0]}
    assert _table(html, "requests-days") == {"overdue": [2], "0–7 days": [1], "8–14 days": [0],
                                             "15–21 days": [1], "22 days or more": [1]}
    assert "Open requests past their deadline: 2." in html
    consents = _table(html, "consents-weeks")
    assert list(consents) == WEEKS
    assert consents["2026-11-23"] == [2, 1] and consents["2026-11-09"] == [3, 2]
    assert sum(given for given, _ in consents.values()) == 5
    assert _table(html, "opt-out-routes") == {"subscription_page": [1], "unsubscribe_link": [2]}
    erased = _table(html, "erasures-rules")
    assert erased["2026-11-23"] == [1, 4] and erased["2026-11-16"] == [0, 7]  # invoice-7y, lead-inactive
    assert '<th scope="col">invoice-7y</th><th scope="col">lead-inactive</th>' in html
    assert _table(html, "open-registers") == {
        "breaches: risk to decide": [1], "breaches: to file with the AP": [1], "breaches: people to tell": [0],
        "complaints: open": [1], "complaints: overdue": [0]}


def test_issue_19_dashboard_charts_are_svg_with_a_text_alternative(
        client: TestClient, day_to_run: None, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("auditor"))  # counts only: every role may see them
    html = client.get("/console", headers={"accept-language": "nl"}).text
    charts = re.findall(r'<svg [^>]*role="img" aria-labelledby="([\w-]+)-title \1-desc">', html)
    assert charts == ["requests-state", "requests-days", "consents-weeks", "opt-out-routes", "erasures-rules",
                      "open-registers"]
    assert '<title id="requests-days-title">Open verzoeken naar dagen tot de termijn</title>' in html
    assert '<desc id="requests-days-desc">te laat: Open verzoeken 2; 0–7 dagen: Open verzoeken 1;' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Open verzoeken over hun termijn: 2." in html
    assert 'href="/console/requests?overdue=yes"' not in html  # the auditor may not open the queue


def test_issue_19_dashboard_without_data_says_so(client: TestClient, add_member: Callable,
                                                 sign_in: Callable) -> None:
    sign_in(add_member("support"))
    html = client.get("/console").text
    assert "No open request is past its deadline." in html and "Nothing to show for these weeks." in html
    assert _table(html, "requests-days")["overdue"] == [0]

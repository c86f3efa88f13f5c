"""The request queue in the console (R-DSR-1, R-DSR-2, R-GATE-2; issue 19 §2): by deadline, filtered by state,
type and being overdue, a page at a time; a filter it does not know is a clear error."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from tests.integration.staff.console_data import request

from kluis.rights import queue
from kluis.rights.service import Rights
from kluis.wiring import Kluis

ROW = re.compile(r"<br><small>(REF-[^<]+)</small>")


def _listed(client: TestClient, **params: str) -> list[str]:
    page = client.get("/console/requests", params=params)
    assert page.status_code == 200, page.text
    return ROW.findall(page.text)


@pytest.fixture
def queue_data(kluis: Kluis) -> None:
    request(kluis, "erasure", 40, "REF-late-erasure")  # past its month: overdue
    request(kluis, "access", 35, "REF-late-access")
    request(kluis, "access", 3, "REF-new-access")
    request(kluis, "objection", 10, "REF-objection", state="in_progress")
    request(kluis, "erasure", 20, "REF-done-erasure", state="done")


def test_r_dsr_2_issue_19_queue_sorted_by_deadline_and_filtered(
        client: TestClient, queue_data: None, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("support"))
    assert _listed(client) == ["REF-late-erasure", "REF-late-access", "REF-objection", "REF-new-access"]
    assert _listed(client, state="all") == ["REF-late-erasure", "REF-late-access", "REF-done-erasure",
                                            "REF-objection", "REF-new-access"]
    assert _listed(client, state="done") == ["REF-done-erasure"]
    assert _listed(client, state="in_progress") == ["REF-objection"]
    assert _listed(client, type="access") == ["REF-late-access", "REF-new-access"]
    assert _listed(client, overdue="yes") == ["REF-late-erasure", "REF-late-access"]
    assert _listed(client, overdue="no") == ["REF-objection", "REF-new-access"]
    assert _listed(client, overdue="yes", type="erasure") == ["REF-late-erasure"]
    assert _listed(client, state="all", type="erasure", overdue="no") == ["REF-done-erasure"]
    page = client.get("/console/requests", params={"type": "access"})
    assert '<option value="access" selected>' in page.text  # the filter shown as chosen


def test_r_dsr_2_issue_19_queue_pages_by_keyset(client: TestClient, kluis: Kluis, queue_data: None) -> None:
    with kluis.db.sessions() as session:
        rights = Rights(session, kluis, "test")
        first, after = rights.queue(queue.QueueQuery(state="all"), limit=2)
        second, after2 = rights.queue(queue.QueueQuery(state="all", after=after), limit=2)
        third, end = rights.queue(queue.QueueQuery(state="all", after=after2), limit=2)
    refs = [x.request.staff_reference for x in first + second + third]
    assert refs == ["REF-late-erasure", "REF-late-access", "REF-done-erasure", "REF-objection", "REF-new-access"]
    assert end is None


def test_r_dsr_2_issue_19_queue_next_page_link_keeps_the_filters(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    for n in range(queue.PAGE + 1):
        request(kluis, "access", 1, f"REF-{n:03d}")
    sign_in(add_member("dpo"))
    page = client.get("/console/requests", params={"type": "access"})
    assert len(ROW.findall(page.text)) == queue.PAGE
    link = re.search(r'href="/console/requests\?([^"]+)" rel="next"', page.text)
    assert link and "type=access" in link.group(1)
    rest = client.get("/console/requests?" + link.group(1).replace("&amp;", "&"))
    assert len(ROW.findall(rest.text)) == 1


@pytest.mark.parametrize(("params", "named"), [
    ({"state": "lost"}, "a request state, open or all"),
    ({"type": "complaint"}, "a request type"),
    ({"overdue": "maybe"}, "yes or no"),
    ({"after": "not-an-id"}, "the id of a listed request"),
])
def test_r_dsr_2_issue_19_bad_queue_filters_are_a_clear_error_not_a_500(
        client: TestClient, add_member: Callable, sign_in: Callable, params: dict[str, str], named: str) -> None:
    sign_in(add_member("support"))
    page = client.get("/console/requests", params=params)
    assert page.status_code == 422 and "The queue cannot be filtered that way." in page.text and named in page.text
    dutch = client.get("/console/requests", params=params, headers={"accept-language": "nl"})
    assert dutch.status_code == 422 and "De wachtrij kan niet zo gefilterd worden." in dutch.text


def test_r_gate_2_issue_19_queue_needs_the_power_to_handle_requests(
        client: TestClient, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("auditor"))
    assert client.get("/console/requests", params={"overdue": "yes"}).status_code == 403

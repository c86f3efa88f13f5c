"""The console's menu (issue 19 §2, R-GATE-2): each role sees every page it may open and no other."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from kluis.staff.navigation import ENTRIES

MENU = re.compile(r'<nav aria-label="[^"]*">\s*<ul>(.*?)</ul>', re.S)
LINK = re.compile(r'<a href="([^"]+)"')

EVERY = {entry.path for entry in ENTRIES}
EXPECTED = {
    "dpo": EVERY,
    "support": {"/console", "/console/requests", "/console/erasure", "/console/complaints", "/console/breaches",
                "/console/orders", "/console/employers", "/console/notices"},
    "marketing": {"/console", "/console/complaints"},
    "auditor": {"/console", "/console/complaints", "/console/audit", "/console/policy/records",
                "/console/policy/versions", "/console/processors"},
}


def _menu(html: str) -> set[str]:
    found = MENU.search(html)
    assert found, "the page has no console menu"
    return set(LINK.findall(found.group(1)))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_r_gate_2_issue_19_menu_lists_exactly_the_pages_the_role_may_open(
        client: TestClient, add_member: Callable, sign_in: Callable, role: str) -> None:
    sign_in(add_member(role))
    shown = _menu(client.get("/console").text)
    assert shown == EXPECTED[role]
    for path in sorted(shown):
        page = client.get(path)
        assert page.status_code == 200, path
        assert _menu(page.text) == shown  # the same menu on every page, with the page marked current
        if path != "/console":
            assert f'<a href="{path}" aria-current="page">' in page.text, path
    for path in sorted(EVERY - shown):
        assert client.get(path).status_code == 403, path


def test_issue_19_menu_requests_and_erasure_jobs_for_those_who_handle_requests(
        client: TestClient, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("support"))
    page = client.get("/console", headers={"accept-language": "nl"})
    assert ">Verzoeken</a>" in page.text and ">Wisopdrachten</a>" in page.text
    assert 'role="search"' in page.text and 'for="console-search"' in page.text


def test_issue_19_no_search_box_for_a_role_that_may_not_read_people(
        client: TestClient, add_member: Callable, sign_in: Callable) -> None:
    sign_in(add_member("auditor"))
    assert 'role="search"' not in client.get("/console").text

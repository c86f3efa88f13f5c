"""How many console pages a server process works on at once (issue 18 §6): a page holds a pooled database
connection while it reads, so more pages at once than the pool keeps made the pool open connections page after
page and end a busy run bigger. The rest wait their turn, holding nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.integration.rights.rights_support import new_person

from kluis.db import POOL_SIZE
from kluis.staff import console as staff_console
from kluis.web import console
from kluis.wiring import Kluis


def test_issue_18_6_console_pages_at_once_stay_within_the_pool(
    client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id, _ = new_person(kluis)
    sign_in(add_member("support"))
    clients = console.PAGE_THREADS + 1  # one more than may be at work at once
    inside, most, lock, crowded = 0, 0, threading.Lock(), threading.Event()
    real = staff_console.kluis_of

    def arriving(request: Any) -> Kluis:
        """The first thing the page does: count the pages at work, and hold each until more than the limit are
        (which never happens with the limit), or a moment has passed."""
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
            if inside > console.PAGE_THREADS:
                crowded.set()
        crowded.wait(0.5)  # the test's ~2 s: only a wait shows that a page beyond the limit does not get in
        with lock:
            inside -= 1
        return real(request)

    monkeypatch.setattr(staff_console, "kluis_of", arriving)
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda _: client.get(f"/console/people/{person_id}").status_code, range(clients)))
    assert answers == [200] * clients
    assert 1 < most <= console.PAGE_THREADS < POOL_SIZE

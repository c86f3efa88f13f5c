"""R-DSR-1: the time the privacy centre's request form takes to answer tells nothing about whether the address is
known. The application answers 200 submits for a known address and 200 for an unknown one, interleaved in a
random order, on SQLite; each submit is timed from its start to the last byte of its answer, as the server hands
it to the client (the work done after the answer, the lookup and the code's mail, is not in that time, as it is
not in what the client sees). The two distributions are compared by their shift: the median of the differences of
every known sample with every unknown one (Hodges-Lehmann), steadier than the difference of two medians on a busy
machine. It must stay within 5% of the median answer, or 2 ms, whichever is more. With the lookup, its audit
event and the code's mail before the answer, a known address was shifted by 12.3 ms on a median of 107 ms (11.5%)
on SQLite here; with the answer first, by 0.1 ms."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import statistics
import time
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.integration.rights.rights_support import new_person

from kluis.app import create_app
from kluis.mail.models import Outbox
from kluis.rights.models import DataSubjectRequest
from kluis.rights.views import FORMS

SAMPLES = 200
KNOWN, UNKNOWN = "bekend@example.nl", "onbekend@example.nl"
PATH = "/privacy-centre/request"


@pytest.fixture
def settings(settings):
    """Room for 400 submits from one client and 200 per address (the limits are tested elsewhere)."""
    return settings.model_copy(update={"intake_per_client": 1000, "intake_per_address": 1000})


async def _submit(app: Any, body: bytes, cookie: str) -> tuple[int, float]:
    """One POST through the whole application: its status, and the seconds until the answer's last byte was sent.
    The call returns only once the work after the answer is done too, so it cannot overlap the next sample."""
    started, answered, status = time.perf_counter(), 0.0, 0
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected; nothing reads past the body
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal answered, status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            answered = time.perf_counter()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": PATH, "raw_path": PATH.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"kluis.test"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode()), (b"cookie", cookie.encode())],
             "client": ("192.0.2.1", 50000), "server": ("kluis.test", 80)}
    await app(scope, receive, send)
    return status, answered - started


def _count(kluis, model) -> int:
    with kluis.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_r_dsr_1_a_known_and_an_unknown_address_take_as_long_to_answer(kluis):
    new_person(kluis, email=KNOWN)
    app = create_app(kluis)
    nonce = "n" * 32  # the form's cookie, as the request page would have set it, and its token
    cookie, token = f"{FORMS.cookie}={nonce}", FORMS.token(kluis.keys.secret, nonce)
    order = [KNOWN, UNKNOWN] * (SAMPLES + 10)
    random.Random(18).shuffle(order)

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
        for n, email in enumerate(order):
            body = urllib.parse.urlencode({"type": "access", "email": email, "lang": "nl", "csrf": token}).encode()
            status, seconds = await _submit(app, body, cookie)
            assert status == 303
            if n >= 20:  # the first few warm the statement caches of both paths
                times[email].append(seconds * 1000)
        return times

    # A loop of its own in a thread of its own: an earlier test in the same process may leave this thread's
    # event loop running (asyncio.run refuses to start inside it).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        times = pool.submit(asyncio.run, run()).result()
    assert _count(kluis, DataSubjectRequest) == len(order)
    assert _count(kluis, Outbox) == len(order) // 2  # only the known address got its code, after each answer
    known, unknown = statistics.median(times[KNOWN]), statistics.median(times[UNKNOWN])
    shift = statistics.median([k - u for k in times[KNOWN] for u in times[UNKNOWN]])
    # The floor: another test process shares the cores (pytest-xdist) and moves either side by a millisecond or
    # two; the defect this guards against shifted a known address by 12.3 ms.
    assert abs(shift) <= max(2.0, 0.05 * unknown), (
        f"a known address answers {shift:.2f} ms later (medians: known {known:.2f} ms, unknown {unknown:.2f} ms)")

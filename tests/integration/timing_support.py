"""R-DSR-1, shared by the answer-timing tests of the public forms that take an address (the privacy centre's request
form, Mijn privacy's sign-in): whether the time a form takes to answer tells anything about whether the address is
known. The application answers ``SAMPLES`` submits for a known address and as many for an unknown one, interleaved
in a random order; each submit is timed from its start to the last byte of its answer, as the server hands it to the
client (the work done after the answer, the lookup and the code's mail, is not in that time, as it is not in what
the client sees). The two distributions are compared by their shift: the median of the differences of every known
sample with every unknown one (Hodges-Lehmann), steadier than the difference of two medians on a busy machine. It
must stay within 5% of the median answer, or 2 ms, whichever is more."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import statistics
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

SAMPLES = 200
WARM_UP = 20  # the first few warm the statement caches of both paths


async def _submit(app: Any, path: str, body: bytes, cookie: str) -> tuple[int, float]:
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
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"kluis.test"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode()), (b"cookie", cookie.encode())],
             "client": ("192.0.2.1", 50000), "server": ("kluis.test", 80)}
    await app(scope, receive, send)
    return status, answered - started


def answer_times(app: Any, path: str, form: Callable[[str], dict[str, str]], cookie: str, known: str,
                 unknown: str, seed: int) -> dict[str, list[float]]:
    """Milliseconds per answer for each address: ``SAMPLES`` each after the warm-up, in an order shuffled by
    ``seed``; ``form(address)`` is the posted form. Every answer must be a 303 (the form accepted)."""
    order = [known, unknown] * (SAMPLES + WARM_UP // 2)
    random.Random(seed).shuffle(order)

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {known: [], unknown: []}
        for n, email in enumerate(order):
            status, seconds = await _submit(app, path, urllib.parse.urlencode(form(email)).encode(), cookie)
            assert status == 303
            if n >= WARM_UP:
                times[email].append(seconds * 1000)
        return times

    # A loop of its own in a thread of its own: an earlier test in the same process may leave this thread's
    # event loop running (asyncio.run refuses to start inside it).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def submits(times: dict[str, list[float]]) -> int:
    """How many submits ``answer_times`` made, the warm-up included."""
    return sum(len(t) for t in times.values()) + WARM_UP


def assert_same_time(known: list[float], unknown: list[float]) -> None:
    """The shift of the known address's answers against the unknown one's is within 5% of the median answer, or
    2 ms. The floor: another test process shares the cores (pytest-xdist) and moves either side by a millisecond
    or two; the defect this guards against shifted a known address by 12.3 ms."""
    medians = statistics.median(known), statistics.median(unknown)
    shift = statistics.median([k - u for k in known for u in unknown])
    assert abs(shift) <= max(2.0, 0.05 * medians[1]), (
        f"a known address answers {shift:.2f} ms later (medians: known {medians[0]:.2f} ms, "
        f"unknown {medians[1]:.2f} ms)")

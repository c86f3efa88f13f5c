"""R-DSR-1, shared by the answer-timing tests of the public forms that take an address (the privacy centre's request
form, Mijn privacy's sign-in): whether the time a form takes to answer, or the work it does before answering, tells
anything about whether the address is known.

Two checks. ``statements_before_answer``: the database statements a submit runs before its answer's last byte,
with the rows each touched, must be the same list for a known and an unknown address (what differs, the lookup and
the code's mail, runs after the answer). That check does not depend on the machine's load.

``answer_times`` and ``assert_same_time``: the time itself. Each submit is timed from its start to the last byte of
its answer, as the server hands it to the client (the work after the answer is not in it, as it is not in what the
client sees). The submits come in pairs, one for each address, in a random order within each pair; what is compared
is the difference within each pair. Another process's burst of load then slows both of a pair alike, and a change
of load over the run drops out. The difference's shift is estimated by the median of the pairwise means of the
differences (Hodges-Lehmann), with its 99.9% confidence interval from the signed-rank test (Wilcoxon). The random
order within each pair makes the differences symmetric about zero when both addresses take as long, so the interval
is exact in that case whatever the load does. The test fails when the shift is both real (the interval leaves out
zero) and material (more than 5% of the median answer, or 2 ms): on a busy machine the estimate alone moves by a few
milliseconds (issue 18 §4: a run at load 5 on PostgreSQL gave -3.3 ms against an allowed 3.3 ms), the interval
moves with it. And it must be able to fail: while the interval is wider than ``BLIND_MS`` either way another round of
pairs is taken, up to ``ROUNDS``; a run still that noisy fails as unable to judge rather than passing blind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import random
import statistics
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

PAIRS = 200  # a round: pairs of submits, one for each address
WARM_UP = 10  # pairs before the first round, not counted: they warm the statement caches of both paths
ROUNDS = 3  # rounds at most, while the interval is wider than BLIND_MS
BLIND_MS = 8.0  # the widest half-interval judged: a shift of about this size or more is seen
Z = 3.2905  # the normal quantile of a two-sided 99.9% interval


async def _submit(app: Any, path: str, body: bytes, cookie: str, answered_hook: Callable[[], None] | None = None
                  ) -> tuple[int, float]:
    """One POST through the whole application: its status, and the seconds until the answer's last byte was sent
    (``answered_hook`` is called then). The call returns only once the work after the answer is done too, so it
    cannot overlap the next sample."""
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
            if answered_hook is not None:
                answered_hook()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"kluis.test"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode()), (b"cookie", cookie.encode())],
             "client": ("192.0.2.1", 50000), "server": ("kluis.test", 80)}
    await app(scope, receive, send)
    return status, answered - started


def _in_a_loop_of_its_own(work: Any) -> Any:
    # A loop of its own in a thread of its own: an earlier test in the same process may leave this thread's
    # event loop running (asyncio.run refuses to start inside it).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@dataclass
class Timings:
    """Milliseconds to the answer, pair by pair: ``known[i]`` and ``unknown[i]`` were submitted one right after the
    other (in a random order); ``submits`` counts every submit, the warm-up's too."""

    known: list[float]
    unknown: list[float]
    submits: int


def answer_times(app: Any, path: str, form: Callable[[str], dict[str, str]], cookie: str, known: str,
                 unknown: str, seed: int, pairs: int = PAIRS, warm_up: int = WARM_UP) -> Timings:
    """``pairs`` pairs after ``warm_up`` pairs, each pair's order drawn from ``seed``; ``form(address)`` is the
    posted form. Every answer must be a 303 (the form accepted)."""
    chance = random.Random(seed)
    order = [chance.sample([known, unknown], 2) for _ in range(warm_up + pairs)]

    async def run() -> Timings:
        timings = Timings([], [], 0)
        for n, pair in enumerate(order):
            taken: dict[str, float] = {}
            for email in pair:
                status, seconds = await _submit(app, path, urllib.parse.urlencode(form(email)).encode(), cookie)
                assert status == 303
                taken[email] = seconds * 1000
            timings.submits += 2
            if n >= warm_up:
                timings.known.append(taken[known])
                timings.unknown.append(taken[unknown])
        return timings

    return _in_a_loop_of_its_own(run())


def shift_interval(differences: list[float], z: float = Z) -> tuple[float, float, float]:
    """(estimate, low, high) of the shift of paired differences: the Hodges-Lehmann estimate (the median of the
    means of every two differences, each with itself too) and the signed-rank confidence interval, whose ends are
    the k-th smallest and largest of those means (k by the normal approximation, good from about 20 pairs)."""
    n = len(differences)
    means = sorted((a + b) / 2 for i, a in enumerate(differences) for b in differences[i:])
    k = max(0, math.floor(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    return statistics.median(means), means[k], means[len(means) - 1 - k]


@dataclass(frozen=True)
class Verdict:
    shift: float
    low: float
    high: float
    allowed: float
    medians: tuple[float, float]
    pairs: int

    @property
    def blind(self) -> bool:
        """Too noisy to see a shift of ``BLIND_MS``: the interval reaches further than that on either side."""
        return (self.high - self.low) / 2 > BLIND_MS

    @property
    def differs(self) -> bool:
        """A shift that is real (the interval leaves out zero) and material (beyond what is allowed)."""
        return (self.low > 0 or self.high < 0) and abs(self.shift) > self.allowed

    def __str__(self) -> str:
        return (f"a known address answers {self.shift:+.2f} ms later (99.9% interval {self.low:+.2f} to "
                f"{self.high:+.2f} ms over {self.pairs} pairs; allowed {self.allowed:.2f} ms; medians: known "
                f"{self.medians[0]:.2f} ms, unknown {self.medians[1]:.2f} ms)")


def judge(timings: Timings) -> Verdict:
    differences = [k - u for k, u in zip(timings.known, timings.unknown, strict=True)]
    shift, low, high = shift_interval(differences)
    medians = statistics.median(timings.known), statistics.median(timings.unknown)
    return Verdict(shift, low, high, max(2.0, 0.05 * medians[1]), medians, len(differences))


def same_time(measure: Callable[[int], Timings], rounds: int = ROUNDS) -> Timings:
    """Rounds of ``measure(round)`` pooled until the interval is narrow enough to judge (at most ``rounds``); then
    assert that a known address does not answer measurably later or sooner than an unknown one (the module's
    text). Returns everything measured."""
    pooled = Timings([], [], 0)
    for n in range(rounds):
        taken = measure(n)
        pooled = Timings(pooled.known + taken.known, pooled.unknown + taken.unknown, pooled.submits + taken.submits)
        verdict = judge(pooled)
        if not verdict.blind or verdict.differs:
            break
    assert not verdict.differs, str(verdict)
    assert not verdict.blind, f"too noisy to judge: {verdict}"
    return pooled


def statements_before_answer(app: Any, engines: Iterable[Engine], path: str, body: bytes, cookie: str
                             ) -> list[tuple[str, int]]:
    """The statements one submit ran on ``engines`` before its answer's last byte was sent, in order, each with the
    rows it touched (``cursor.rowcount``; -1 where the driver does not say)."""
    ran: list[tuple[str, int]] = []
    before: list[tuple[str, int]] = []

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        ran.append((statement, cursor.rowcount))

    engines = list(dict.fromkeys(engines))
    for engine in engines:
        event.listen(engine, "after_cursor_execute", executed)
    try:
        status, _ = _in_a_loop_of_its_own(_submit(app, path, body, cookie, lambda: before.extend(ran)))
    finally:
        for engine in engines:
            event.remove(engine, "after_cursor_execute", executed)
    assert status == 303
    return before

"""How many requests of one kind a server process works on at once.

FastAPI runs a plain (not ``async``) handler on one of 40 worker threads per process. For work that holds a
pooled database connection while it runs (console pages), or that is bound by the CPU under the interpreter's
lock (a batch of records: sealing, checks, rows), 40 at once only make each slower: the pool opens connections
beyond what it keeps, and threads take the lock from each other in turn instead of finishing. ``Threads(n)``
lets ``n`` such requests work at once; the others wait their turn in the order they came, holding no thread and
no connection. One limit per event loop (each test client runs a loop of its own).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread


class Threads:
    """At most ``limit`` of the handlers it ``runs`` at work at once in a process, the rest waiting in order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()

    def limiter(self) -> CapacityLimiter:
        """This event loop's limit (created on first use)."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = CapacityLimiter(self.limit)
        return limiter

    def in_use(self) -> tuple[int, int]:
        """How many of its handlers are at work and how many wait, over every event loop of the process."""
        stats = [limiter.statistics() for limiter in list(self._limiters.values())]
        return sum(s.borrowed_tokens for s in stats), sum(s.tasks_waiting for s in stats)

    def runs(self, endpoint: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
        """``endpoint`` run on a worker thread as FastAPI would, but within this limit. FastAPI reads the
        parameters from the wrapped handler."""

        @functools.wraps(endpoint)
        async def run(*args: Any, **kwargs: Any) -> Any:
            return await to_thread.run_sync(functools.partial(endpoint, *args, **kwargs), limiter=self.limiter())

        return run

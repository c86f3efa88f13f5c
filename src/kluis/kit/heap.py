"""A long-lived process's start-up heap, kept out of the cyclic garbage collector's way (``gc.freeze``).

A server process or a worker builds, once, a large graph of objects that lives as long as it does: the modules, the
policy and its vocabulary, SQLAlchemy's tables and cached statements, pydantic's and FastAPI's schemas. Python's
cyclic collector walks every object it tracks at each full collection, and work that allocates many objects at
once (a request of 100 records, a batch of 10,000) sets off several: writing records spent about a third of its
CPU walking that graph again and again (bench/ingest.py: 128 -> 84 microseconds a record, items built and
written, once the start-up heap was frozen).

``settle`` collects what start-up left behind and moves everything still alive to the permanent generation, which
collections skip. Objects there that later become garbage are still freed when nothing refers to them; only a cycle
among them stays until the process ends (a policy replaced while serving leaves at most its old graph). So it is
called by the entry points of long-lived processes once they are built (`kluis serve` and its server processes,
`kluis worker`), never by library code or tests, which build and drop many Kluis objects in one process.

Where a process is not settled, or a batch's own objects are many (10,000 decisions), ``cycle_collector_paused``
holds the collector off for the batch (ADR 0006).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def settle() -> int:
    """Collect start-up's garbage, then freeze what is alive; how many objects the collector now skips."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


_pause_lock = threading.Lock()
_pauses = 0
_collector_was_enabled = False


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while a batch is decided (restored as it was afterwards).

    A batch of 10,000 builds tens of thousands of small, acyclic objects (rows, facts, decisions) that
    outlive the young generation, which makes the collector walk the whole heap again and again during the
    batch: about a third of a batch's time in measurements. Reference counting still frees everything;
    the collector runs as usual after the batch. Batches in several threads at once share one pause: the
    collector comes back when the last of them ends, never left off by their interleaving."""
    global _pauses, _collector_was_enabled
    with _pause_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()

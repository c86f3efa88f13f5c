"""A long-lived process freezes its start-up heap (``kluis.kit.heap.settle``): what is alive then is out of the
cyclic collector's walk, start-up's garbage is collected first, and what the process allocates later is collected
as before (Interfaces: the speed of the API and of record writes, R-VLT-1)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from kluis.kit import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process goes on building and dropping objects


def _tracked(obj: object) -> bool:
    """Whether a collection would walk ``obj`` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_r_vlt_1_settle_freezes_what_is_alive_and_collects_start_up_garbage_first(unfrozen):
    kept = Node()
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 0
    assert not _tracked(kept), "an object alive at start-up is still walked by every collection"
    assert gone() is None, "start-up's garbage was frozen instead of collected"


def test_r_vlt_1_what_a_settled_process_allocates_later_is_still_collected(unfrozen):
    heap.settle()
    later = Node()
    assert _tracked(later)
    gone = weakref.ref(later)
    del later
    assert gc.collect() >= 1
    assert gone() is None

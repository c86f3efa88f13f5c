"""The many-questions path: a batch of decisions from facts read at once, with the cycle collector held off
(ADR 0006); the decisions endpoint and both hot paths share it."""

from __future__ import annotations

import gc
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from kluis.gate import rules
from kluis.policy.schemas import Policy

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


def decide_all(policy: Policy, questions: Sequence[tuple[uuid.UUID, str]], facts: dict[uuid.UUID, rules.Facts],
               now: datetime) -> list[rules.Decision]:
    """The decision for each question, in order, from facts read for these people (a person missing from
    ``facts`` is unknown)."""
    decide, unknown = rules.decide, rules.UNKNOWN_PERSON
    return [decide(policy, purpose, facts.get(pid, unknown), now) for pid, purpose in questions]

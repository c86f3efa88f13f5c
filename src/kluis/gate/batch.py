"""The many-questions path: a batch of decisions from facts read at once, with the cycle collector held off
(ADR 0006, `kluis.kit.heap.cycle_collector_paused`); the decisions endpoint and both hot paths share it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from kluis.gate import rules
from kluis.policy.schemas import Policy


def decide_all(policy: Policy, questions: Sequence[tuple[uuid.UUID, str]], facts: dict[uuid.UUID, rules.Facts],
               now: datetime) -> list[rules.Decision]:
    """The decision for each question, in order, from facts read for these people (a person missing from
    ``facts`` is unknown)."""
    decide, unknown = rules.decide, rules.UNKNOWN_PERSON
    return [decide(policy, purpose, facts.get(pid, unknown), now) for pid, purpose in questions]

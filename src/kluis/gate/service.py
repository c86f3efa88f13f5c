"""The gate as other domains call it: may person P be processed for purpose X (one question or many), and the
facts it decides from, recorded (objections, restrictions, relations) and checked for writes (refusals)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from kluis.gate import rules
from kluis.gate.batch import decide_all
from kluis.gate.facts import FACTS_ONE_PG, facts_from_rows, uuid_array
from kluis.gate.objections import Objections
from kluis.gate.refusals import Question, Refusals
from kluis.gate.relations import Relations
from kluis.gate.restrictions import RESTRICTION_REASONS, Restrictions
from kluis.kit.heap import cycle_collector_paused

# Other domains name only this module of the gate (and its models, rules and events): what they need of its parts is
# here — what a write asks (Question), the reasons a restriction may have, and the one-person facts statement the
# records hot path joins its read to. pyproject.toml's "gate-internals" contract keeps it so.
__all__ = ["FACTS_ONE_PG", "RESTRICTION_REASONS", "Gate", "Question", "facts_from_rows", "uuid_array"]


@dataclass
class Gate(Refusals, Objections, Restrictions, Relations):
    """One object per unit of work (``kluis.gate(session, actor)``): the session, policy, clock and actor it
    works with are in ``facts.CurrentFacts``; each part of the gate is a module of its own."""

    def decide(self, person_id: uuid.UUID, purpose: str) -> rules.Decision:
        return rules.decide(self.policy, purpose, self.facts([person_id])[person_id], self.clock.now())

    def decide_many(self, questions: Sequence[tuple[uuid.UUID, str]]) -> list[rules.Decision]:
        with cycle_collector_paused():
            return decide_all(self.policy, questions, self.facts({pid for pid, _ in questions}), self.clock.now())

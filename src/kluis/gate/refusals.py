"""Writes and lookups are processing too (R-GATE-1, R-GATE-2): which of the questions a write asks the gate
refuses, and the one audit event that puts a refusal on record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kluis.audit import service as audit
from kluis.gate import rules
from kluis.gate.facts import CurrentFacts
from kluis.kit.errors import NotAllowed, Problem
from kluis.kit.heap import cycle_collector_paused

# What a write asks the gate: (the item's path in the request, the person (None: yet to be registered), purpose).
Question = tuple[str, uuid.UUID | None, str]
# Someone of whom nothing is recorded yet: what a person about to be registered is to the gate.
NOBODY_YET = rules.Facts()
# Answers that mean the write finds nobody (404/422 from the write itself), not that the gate refuses it.
NOT_REFUSALS = frozenset(("person_unknown", "person_erased"))


@dataclass(frozen=True, slots=True)
class Refusal:
    path: str
    person_id: uuid.UUID | None
    purpose: str
    decision: rules.Decision


class Refusals(CurrentFacts):
    def refusals(self, questions: Sequence[Question], write: str | None = None) -> list[Refusal]:
        """Of the questions a write (or a lookup) asks, the ones the gate refuses, decided like reads, for all
        people at once (one facts query per 10,000 people). A question without a person is about one yet to be
        registered: decided on the facts of somebody of whom nothing is known yet. A purpose whose policy names
        ``write`` among its basis writes (``register``, ``relation``, ``consent``, ``objection``) is not asked:
        that write creates (or ends) the basis. An unknown or erased person is no refusal: the write itself
        answers that it finds no such person."""
        exempt = {purpose for _, _, purpose in questions if write is not None and purpose in self.policy.purpose_ids
                  and write in self.policy.purpose(purpose).basis_writes}
        asked = list(dict.fromkeys((pid, purpose) for _, pid, purpose in questions if purpose not in exempt))
        if not asked:
            return []
        known = [(pid, purpose) for pid, purpose in asked if pid is not None]
        with cycle_collector_paused():
            facts = self.facts({pid for pid, _ in known}) if known else {}
            now = self.clock.now()
            decided = {(pid, purpose): rules.decide(self.policy, purpose, facts[pid] if pid is not None
                                                    else NOBODY_YET, now) for pid, purpose in asked}
        return [Refusal(path, pid, purpose, decision) for path, pid, purpose in questions
                if (decision := decided.get((pid, purpose))) is not None and not decision.allowed
                and decision.reason not in NOT_REFUSALS]

    def refuse(self, operation: str, purpose: str, refused: Sequence[Refusal]) -> NotAllowed:
        """Audit a refused write (``record_refusal``) and say why: the caller commits the event and raises the
        error, so the refusal is on record and nothing else is written."""
        reasons = self.record_refusal(operation, purpose, refused)
        return NotAllowed(f"processing for {purpose!r} is refused: {', '.join(reasons)}", code="processing_refused",
                          problems=[Problem(r.path, r.decision.reason, f"the gate refuses {r.purpose!r}")
                                    for r in refused])

    def record_refused(self, operation: str, path: str, person_id: uuid.UUID | None, purpose: str,
                       decision: rules.Decision, details: dict[str, Any] | None = None) -> None:
        """``record_refusal`` of one refused ``decide`` (a read or a lookup): ``path``, where in the request the
        person was named."""
        self.record_refusal(operation, purpose, [Refusal(path, person_id, purpose, decision)], details)

    def record_refusal(self, operation: str, purpose: str, refused: Sequence[Refusal],
                       details: dict[str, Any] | None = None) -> list[str]:
        """One audit event ``processing.refused`` for what the gate refused: the people's ids, the purposes and
        the reasons, never data. The reasons, sorted."""
        people = list(dict.fromkeys(r.person_id for r in refused if r.person_id is not None))
        reasons = sorted({r.decision.reason for r in refused})
        audit.append(self.session, self.clock, actor=self.actor, action="processing.refused", object_type="person",
                     object_ids=people, details={"operation": operation, "purpose": purpose, "reasons": reasons,
                                                 "purposes": sorted({r.purpose for r in refused}),
                                                 "count": len(refused), **(details or {})})
        return reasons

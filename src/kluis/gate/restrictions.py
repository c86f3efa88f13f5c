"""Restrictions of processing (Art. 18): recorded, and lifted only after the person is told."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from kluis.gate.events import RestrictionLifted
from kluis.gate.facts import CurrentFacts
from kluis.gate.models import Restriction
from kluis.gate.objections import on_behalf_problems
from kluis.kit import events
from kluis.kit.errors import Invalid, NotAllowed, Problem
from kluis.kit.ids import new_id

# kept_by_law: what an erasure left because a legal obligation keeps it (R-RET-3), set by the erasure job.
RESTRICTION_REASONS = ("accuracy_contested", "unlawful_processing", "legal_claims", "objection_pending", "kept_by_law",
                       "other")


class Restrictions(CurrentFacts):
    def restrict(self, person_id: uuid.UUID, reason: str, on_behalf_of: str, reference: str | None = None
                 ) -> Restriction:
        self.person(person_id)
        problems = [] if reason in RESTRICTION_REASONS else [
            Problem("reason", "reason_invalid", f"one of: {', '.join(RESTRICTION_REASONS)}")]
        problems += on_behalf_problems(on_behalf_of, reference)
        if problems:
            raise Invalid("the restriction was not recorded", code="restriction_invalid", problems=problems)
        row = Restriction(id=new_id(), person_id=person_id, reason=reason, recorded_by=self.actor,
                          on_behalf_of=on_behalf_of, reference=reference, at=self.clock.now())
        self.session.add(row)
        self.session.flush()
        self._changed(person_id, "gate.restriction_recorded", "restriction", row.id, {"reason": reason})
        return row

    def lift_restriction(self, person_id: uuid.UUID, restriction_id: uuid.UUID, tell_person: bool = True,
                         by_service: bool = False) -> Restriction:
        """Art. 18(3): the person is told before the restriction is lifted; the notice is queued first, in the
        same transaction, so nothing is lifted without it. A request's own path sends its own notice
        (``tell_person=False``). A service (``by_service``) may lift only what benVitaal restricted on its own
        account: a restriction the person asked for is lifted by staff handling their request."""
        row = self._of_person(Restriction, person_id, restriction_id, "restriction")
        if by_service and row.on_behalf_of == "person":
            raise NotAllowed("a restriction the person asked for is lifted only by staff handling their request, "
                             "after telling them (Art. 18(3)); a service key cannot lift it",
                             code="restriction_lift_not_allowed")
        if row.lifted_at is None:
            events.publish(self.session, RestrictionLifted(person_id, restriction_id, tell_person, self.clock,
                                                           self.actor))
            row.lifted_at = self.clock.now()
            self._changed(person_id, "gate.restriction_lifted", "restriction", row.id, {"reason": row.reason})
        return row

    def restrictions_of(self, person_id: uuid.UUID) -> list[Restriction]:
        return list(self.session.scalars(select(Restriction).where(Restriction.person_id == person_id)
                                         .order_by(Restriction.at)))

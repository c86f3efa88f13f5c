"""Relations (employment, account, order, application) that make contract purposes necessary."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from kluis.gate import rules
from kluis.gate.facts import CurrentFacts
from kluis.gate.models import Relation
from kluis.kit.clock import as_utc
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.vault.models import Employer


class Relations(CurrentFacts):
    def add_relation(self, person_id: uuid.UUID, kind: str, starts_at: datetime | None = None,
                     ends_at: datetime | None = None, employer_id: uuid.UUID | None = None) -> Relation:
        person = self.person(person_id)
        now = self.clock.now()
        starts = starts_at or now
        problems = []
        if kind not in rules.RELATION_KINDS:
            problems.append(Problem("kind", "kind_invalid", f"one of: {', '.join(rules.RELATION_KINDS)}"))
        for name, at in (("starts_at", starts_at), ("ends_at", ends_at)):
            if at is not None and at.tzinfo is None:
                problems.append(Problem(name, "timezone_required", "give a time zone"))
        if ends_at is not None and ends_at.tzinfo and starts.tzinfo and ends_at <= starts:
            problems.append(Problem("ends_at", "before_start", "a relation ends after it starts"))
        if kind == "employment":
            employer_id = employer_id or person.employer_id
            if employer_id is None or self.session.get(Employer, employer_id) is None:
                problems.append(Problem("employer_id", "employer_required", "employment needs an existing employer"))
        if problems:
            raise Invalid("the relation was not recorded", code="relation_invalid", problems=problems)
        row = Relation(id=new_id(), person_id=person_id, kind=kind, employer_id=employer_id,
                       starts_at=as_utc(starts), ends_at=as_utc(ends_at) if ends_at else None, recorded_by=self.actor)
        self.session.add(row)
        self.session.flush()
        self._changed(person_id, "gate.relation_added", "relation", row.id, {"kind": kind})
        return row

    def end_relation(self, person_id: uuid.UUID, relation_id: uuid.UUID, ends_at: datetime | None = None) -> Relation:
        row = self.session.get(Relation, (person_id, relation_id))
        if row is None:
            raise NotFound("no such relation for this person", code="relation_not_found")
        end = as_utc(ends_at) if ends_at and ends_at.tzinfo else self.clock.now()
        if end <= row.starts_at:
            raise Invalid("a relation ends after it starts", code="relation_invalid",
                          problems=[Problem("ends_at", "before_start", "a relation ends after it starts")])
        row.ends_at = end
        self._changed(person_id, "gate.relation_ended", "relation", row.id, {"kind": row.kind})
        return row

    def relations_of(self, person_id: uuid.UUID) -> list[Relation]:
        return list(self.session.scalars(select(Relation).where(Relation.person_id == person_id)
                                         .order_by(Relation.starts_at)))

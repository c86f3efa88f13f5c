"""Objections (Art. 21): recorded, assessed by the DPO where the law asks for it, withdrawn by the person."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from kluis.gate import rules
from kluis.gate.events import INTEREST_PROFILE_DELETED, ObjectionRecorded
from kluis.gate.facts import CurrentFacts
from kluis.gate.models import OVERRIDDEN, PENDING, UPHELD, Objection
from kluis.kit import events
from kluis.kit.clock import as_utc
from kluis.kit.errors import Conflict, Invalid, Problem
from kluis.kit.ids import new_id

ON_BEHALF = ("person", "staff")
MAX_GROUNDS = 2000


class Objections(CurrentFacts):
    def object(self, person_id: uuid.UUID, scope: str, on_behalf_of: str, reference: str | None = None, *,
               received_at: datetime | None = None, assess: bool = False) -> Objection:
        """Record an objection, in force from ``received_at`` (when it reached benVitaal; default now). With
        ``assess`` (a request), an objection on legitimate interest that is not absolute waits for the DPO's
        assessment, and the gate refuses the purposes it covers meanwhile ("objection_pending")."""
        self.person(person_id)
        scopes = {rules.ALL_LEGITIMATE_INTEREST, rules.MARKETING, *(
            p.id for p in self.policy.purposes if str(p.basis) == "legitimate_interest")}
        problems = []
        if scope not in scopes:
            problems.append(Problem("scope", "scope_invalid", "object to a purpose on legitimate interest, to "
                                    f"'{rules.ALL_LEGITIMATE_INTEREST}' or to '{rules.MARKETING}' "
                                    f"(one of: {', '.join(sorted(scopes))})"))
        problems += on_behalf_problems(on_behalf_of, reference)
        if problems:
            raise Invalid("the objection was not recorded", code="objection_invalid", problems=problems)
        current = self.session.scalars(select(Objection).where(
            Objection.person_id == person_id, Objection.scope == scope, Objection.lifted_at.is_(None))).first()
        if current is not None:
            return current
        assessment = PENDING if assess and not rules.is_absolute(self.policy, scope) else None
        row = Objection(id=new_id(), person_id=person_id, scope=scope, recorded_by=self.actor,
                        on_behalf_of=on_behalf_of, reference=reference, at=as_utc(received_at or self.clock.now()),
                        assessment=assessment)
        self.session.add(row)
        self.session.flush()
        covered = frozenset(p.id for p in self.policy.purposes
                            if rules.objection_covers(scope, p.id, p.group, str(p.basis)))
        reported = events.publish(self.session, ObjectionRecorded(person_id, row.id, scope, covered))
        self._changed(person_id, "gate.objection_recorded", "objection", row.id,
                      {"scope": scope, "by": on_behalf_of, "assessment": assessment or "none",
                       INTEREST_PROFILE_DELETED: bool(reported.get(INTEREST_PROFILE_DELETED))})
        return row

    def objection(self, person_id: uuid.UUID, objection_id: uuid.UUID) -> Objection:
        return self._of_person(Objection, person_id, objection_id, "objection")

    def assess_objection(self, person_id: uuid.UUID, objection_id: uuid.UUID, upheld: bool, grounds: str
                         ) -> Objection:
        """The DPO's assessment of a pending objection (Art. 21(1)): upheld, it stays in force; otherwise the DPO
        records the compelling legitimate grounds that override the person's interests, which lifts it. The
        grounds are kept on the objection (the person is told them), not in the audit log."""
        row = self._of_person(Objection, person_id, objection_id, "objection")
        if row.assessment != PENDING or row.lifted_at is not None:
            raise Conflict("this objection is not waiting for an assessment", code="objection_not_pending")
        if not grounds.strip():
            raise Invalid("give the reasons of the assessment: the person is told them",
                          code="grounds_required", problems=[Problem("grounds", "required", "the reasons")])
        now = self.clock.now()
        row.assessment = UPHELD if upheld else OVERRIDDEN
        row.grounds, row.assessed_at, row.assessed_by = grounds.strip()[:MAX_GROUNDS], now, self.actor
        if not upheld:
            row.lifted_at, row.lifted_by = now, "dpo"
        self._changed(person_id, "gate.objection_assessed", "objection", row.id,
                      {"scope": row.scope, "assessment": row.assessment})
        if not upheld and row.scope == rules.ALL_LEGITIMATE_INTEREST:
            # No grounds override an objection to direct marketing (Art. 21(3)): that part of it stays.
            self.object(person_id, rules.MARKETING, row.on_behalf_of, row.reference, received_at=row.at)
        return row

    def withdraw_objection(self, person_id: uuid.UUID, objection_id: uuid.UUID, by: str,
                           reference: str | None = None) -> Objection:
        """Only the person withdraws an objection: themselves (account page), or staff on their recorded word
        (``reference``: their e-mail or letter). A service never lifts one; see the API's DELETE."""
        problems = on_behalf_problems(by, reference)
        if by == "staff" and not (reference or "").strip():
            problems.append(Problem("reference", "required", "where the person's own withdrawal is recorded "
                                    "(their e-mail or letter)"))
        if problems:
            raise Invalid("the objection was not withdrawn", code="withdrawal_invalid", problems=problems)
        row = self._of_person(Objection, person_id, objection_id, "objection")
        if row.lifted_at is None:
            row.lifted_at, row.lifted_by, row.lift_reference = self.clock.now(), by, reference
            self._changed(person_id, "gate.objection_withdrawn", "objection", row.id,
                          {"scope": row.scope, "by": by})
        return row

    def objections_of(self, person_id: uuid.UUID) -> list[Objection]:
        return list(self.session.scalars(select(Objection).where(Objection.person_id == person_id)
                                         .order_by(Objection.at)))


def on_behalf_problems(on_behalf_of: str, reference: str | None) -> list[Problem]:
    """What is wrong with who an objection or a restriction is recorded for, and its reference."""
    problems = []
    if on_behalf_of not in ON_BEHALF:
        problems.append(Problem("on_behalf_of", "invalid", "'person' (the person asked) or 'staff'"))
    if reference is not None and len(reference) > 80:
        problems.append(Problem("reference", "too_long", "at most 80 characters"))
    return problems

"""Recording objections, restrictions and relations, and answering may-I-process questions."""

from __future__ import annotations

import gc
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import changes_decisions
from kluis.gate import rules
from kluis.gate.events import INTEREST_PROFILE_DELETED, ObjectionRecorded, RestrictionLifted
from kluis.gate.models import GateState, Objection, Relation, Restriction
from kluis.kit import events
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Conflict, Invalid, NotAllowed, NotFound, Problem
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy
from kluis.vault.models import Employer, Person
from kluis.vault.service import live_person

ON_BEHALF = ("person", "staff")
_FACTS = ("SELECT p.id, p.shredded_at IS NOT NULL, g.restricted, CAST(g.objections AS TEXT), "
          "CAST(g.consents AS TEXT), CAST(g.relations AS TEXT) FROM person p "
          "LEFT JOIN gate_state g ON g.person_id = p.id WHERE ")
FACTS_PG = _FACTS + "p.id = ANY(%s::uuid[])"  # one array parameter: the same statement text for every batch
# One person's: PostgreSQL plans a prepared statement with an array parameter again for every execution (its generic
# plan for "any number of people" looks costlier than each custom one), about 0.4 ms of server CPU; with "=" it
# keeps one generic plan.
FACTS_ONE_PG = _FACTS + "p.id = %s"
FACTS_SQL = _FACTS + "p.id IN ({ids})"
Lifted = TypeVar("Lifted", Objection, Restriction)
# kept_by_law: what an erasure left because a legal obligation keeps it (R-RET-3), set by the erasure job.
# An objection's assessment by the DPO (Art. 21(1)); none for one that holds as recorded.
PENDING, UPHELD, OVERRIDDEN = "pending", "upheld", "overridden"
MAX_GROUNDS = 2000
RESTRICTION_REASONS = ("accuracy_contested", "unlawful_processing", "legal_claims", "objection_pending", "kept_by_law",
                       "other")


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


@dataclass
class Gate:
    session: Session
    policy: Policy
    clock: Clock
    actor: str

    # --- decisions ----------------------------------------------------------------------------

    def decide(self, person_id: uuid.UUID, purpose: str) -> rules.Decision:
        return rules.decide(self.policy, purpose, self.facts([person_id])[person_id], self.clock.now())

    def decide_many(self, questions: Sequence[tuple[uuid.UUID, str]]) -> list[rules.Decision]:
        with cycle_collector_paused():
            return decide_all(self.policy, questions, self.facts({pid for pid, _ in questions}), self.clock.now())

    # --- writes and lookups are processing too ---------------------------------------------------

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

    def facts(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, rules.Facts]:
        """The person row and its current-facts row, for many people in few queries (on PostgreSQL one
        array parameter per 10,000 people, so the statement is parsed once; elsewhere IN lists).

        Read as plain text through the driver: the JSON columns are decoded by ``rules.Facts`` only when a
        decision needs them (ORM rows and eager JSON decoding cost most of a decision's time)."""
        wanted = list(set(person_ids))
        found: dict[uuid.UUID, rules.Facts] = dict.fromkeys(wanted, rules.UNKNOWN_PERSON)
        conn = self.session.connection()
        if conn.dialect.name == "postgresql":
            with closing(conn.connection.cursor()) as cursor:  # the driver's own, in the session's transaction
                for start in range(0, len(wanted), 10_000):
                    cursor.execute(FACTS_PG, (uuid_array(wanted[start:start + 10_000]),))
                    found.update(facts_from_rows(cursor.fetchall()))
        else:
            by_hex = {pid.hex: pid for pid in wanted}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                sql = FACTS_SQL.format(ids=", ".join("?" * len(chunk)))
                found.update(facts_from_rows(
                    (by_hex[pid], *rest) for pid, *rest in conn.exec_driver_sql(sql, tuple(p.hex for p in chunk))))
        return found

    # --- objection (Art. 21) ------------------------------------------------------------------

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
        problems += _check_common(on_behalf_of, reference)
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
        problems = _check_common(by, reference)
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

    # --- restriction (Art. 18) ----------------------------------------------------------------

    def restrict(self, person_id: uuid.UUID, reason: str, on_behalf_of: str, reference: str | None = None
                 ) -> Restriction:
        self.person(person_id)
        problems = [] if reason in RESTRICTION_REASONS else [
            Problem("reason", "reason_invalid", f"one of: {', '.join(RESTRICTION_REASONS)}")]
        problems += _check_common(on_behalf_of, reference)
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

    def _of_person(self, model: type[Lifted], person_id: uuid.UUID, row_id: uuid.UUID, name: str) -> Lifted:
        row = self.session.get(model, (person_id, row_id))
        if row is None:
            raise NotFound(f"no such {name} for this person", code=f"{name}_not_found")
        return row

    # --- relations ----------------------------------------------------------------------------

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

    # --- current facts ------------------------------------------------------------------------

    def refresh(self, person_id: uuid.UUID, consents: dict[str, Any] | None = None) -> GateState:
        """Rewrite the person's current facts from the records of what happened (the proof). ``consents``: their
        current consents, from the consent domain when one changed; otherwise those already in their facts.
        The unit of work then commits only once a read replica has applied it (R-GATE-1: an objection refuses at
        once wherever decisions are read)."""
        changes_decisions(self.session)
        self.session.flush()
        objections = sorted({rules.PENDING + scope if assessment == PENDING else scope
                             for scope, assessment in self.session.execute(select(
                                 Objection.scope, Objection.assessment).where(
                                 Objection.person_id == person_id, Objection.lifted_at.is_(None)))})
        restricted = self.session.scalars(select(Restriction.id).where(
            Restriction.person_id == person_id, Restriction.lifted_at.is_(None))).first() is not None
        relations = [{"kind": r.kind, "employer_id": str(r.employer_id) if r.employer_id else None,
                      "starts_at": r.starts_at.isoformat(), "ends_at": r.ends_at.isoformat() if r.ends_at else None}
                     for r in self.session.scalars(select(Relation).where(Relation.person_id == person_id)
                                                   .order_by(Relation.starts_at))]
        state = self.session.get(GateState, person_id)
        if state is None:
            state = GateState(person_id=person_id, consents={})
            self.session.add(state)
        if consents is not None:
            state.consents = consents
        state.restricted, state.objections = restricted, objections
        state.relations, state.updated_at = relations, self.clock.now()
        self.session.flush()
        return state

    def objections_of(self, person_id: uuid.UUID) -> list[Objection]:
        return list(self.session.scalars(select(Objection).where(Objection.person_id == person_id)
                                         .order_by(Objection.at)))

    def restrictions_of(self, person_id: uuid.UUID) -> list[Restriction]:
        return list(self.session.scalars(select(Restriction).where(Restriction.person_id == person_id)
                                         .order_by(Restriction.at)))

    def relations_of(self, person_id: uuid.UUID) -> list[Relation]:
        return list(self.session.scalars(select(Relation).where(Relation.person_id == person_id)
                                         .order_by(Relation.starts_at)))

    def _changed(self, person_id: uuid.UUID, action: str, object_type: str, object_id: uuid.UUID,
                 details: dict[str, Any]) -> None:
        self.refresh(person_id)
        audit.append(self.session, self.clock, actor=self.actor, action=action, object_type=object_type,
                     object_ids=[object_id, person_id], details=details)

    def person(self, person_id: uuid.UUID) -> Person:
        return live_person(self.session, person_id)


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


def uuid_array(ids: Iterable[uuid.UUID]) -> str:
    """A PostgreSQL uuid[] literal: cheaper to send than a list the driver adapts item by item."""
    return "{" + ",".join(map(str, ids)) + "}"


def facts_from_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[uuid.UUID, rules.Facts]]:
    """(person id, facts) from rows of FACTS_PG / FACTS_SQL; a person without a gate_state row has none."""
    Facts = rules.Facts  # noqa: N806 - a local name: this runs once per person asked about
    for pid, erased, restricted, objections, consents, relations in rows:
        yield pid, (Facts(True, bool(erased), bool(restricted), objections, consents, relations)
                    if objections is not None else Facts(True, bool(erased)))


def _check_common(on_behalf_of: str, reference: str | None) -> list[Problem]:
    problems = []
    if on_behalf_of not in ON_BEHALF:
        problems.append(Problem("on_behalf_of", "invalid", "'person' (the person asked) or 'staff'"))
    if reference is not None and len(reference) > 80:
        problems.append(Problem("reference", "too_long", "at most 80 characters"))
    return problems

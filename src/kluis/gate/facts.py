"""A person's current facts: read for many people in few statements, and rewritten from the proof (the
objections, restrictions and relations recorded) on every change, with its audit event (R-GATE-1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import changes_decisions
from kluis.gate import rules
from kluis.gate.models import PENDING, GateState, Objection, Relation, Restriction
from kluis.kit.clock import Clock
from kluis.kit.errors import NotFound
from kluis.policy.schemas import Policy
from kluis.vault.models import Person
from kluis.vault.service import live_person

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


@dataclass
class CurrentFacts:
    """What every part of the gate works with: the session, the policy, the clock and who acts; the facts
    read and rewritten here."""

    session: Session
    policy: Policy
    clock: Clock
    actor: str

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
                    cursor.execute(*facts_statement_pg(wanted[start:start + 10_000]))
                    found.update(facts_from_rows(cursor.fetchall()))
        else:
            by_hex = {pid.hex: pid for pid in wanted}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                sql = FACTS_SQL.format(ids=", ".join("?" * len(chunk)))
                found.update(facts_from_rows(
                    (by_hex[pid], *rest) for pid, *rest in conn.exec_driver_sql(sql, tuple(p.hex for p in chunk))))
        return found

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

    def person(self, person_id: uuid.UUID) -> Person:
        return live_person(self.session, person_id)

    def _changed(self, person_id: uuid.UUID, action: str, object_type: str, object_id: uuid.UUID,
                 details: dict[str, Any]) -> None:
        self.refresh(person_id)
        audit.append(self.session, self.clock, actor=self.actor, action=action, object_type=object_type,
                     object_ids=[object_id, person_id], details=details)

    def _of_person(self, model: type[Lifted], person_id: uuid.UUID, row_id: uuid.UUID, name: str) -> Lifted:
        row = self.session.get(model, (person_id, row_id))
        if row is None:
            raise NotFound(f"no such {name} for this person", code=f"{name}_not_found")
        return row


def facts_statement_pg(person_ids: Sequence[uuid.UUID]) -> tuple[str, tuple[Any]]:
    """The PostgreSQL statement and its parameter reading these people's facts: one person by ``=`` (one plan kept,
    see FACTS_ONE_PG), more in one array (one statement text for every batch)."""
    if len(person_ids) == 1:
        return FACTS_ONE_PG, (person_ids[0],)
    return FACTS_PG, (uuid_array(person_ids),)


def uuid_array(ids: Iterable[uuid.UUID]) -> str:
    """A PostgreSQL uuid[] literal: cheaper to send than a list the driver adapts item by item."""
    return "{" + ",".join(map(str, ids)) + "}"


def facts_from_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[uuid.UUID, rules.Facts]]:
    """(person id, facts) from rows of FACTS_PG / FACTS_SQL; a person without a gate_state row has none."""
    Facts = rules.Facts  # noqa: N806 - a local name: this runs once per person asked about
    for pid, erased, restricted, objections, consents, relations in rows:
        yield pid, (Facts(True, bool(erased), bool(restricted), objections, consents, relations)
                    if objections is not None else Facts(True, bool(erased)))

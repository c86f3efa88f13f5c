"""Legal holds (R-RET-3): by person, by category or by employer; while active they stop both the sweep
and erasure on request for everything they cover.

A hold covers a record when it names the record's person, its category, or an employer that is the
person's employer or the controller the record is kept for. It is active from its creation until it is
released or its ``until`` passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from kluis.audit import service as audit
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Invalid, NotFound, Problem
from kluis.kit.i18n import N_
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy, did_you_mean
from kluis.retention.models import Hold
from kluis.vault.models import Employer, Person, Record

SCOPES = ("person", "category", "employer")
REASONS = ("litigation", "tax_audit", "authority_order", "investigation", "other")
# Whole sentences per scope, so that the console can say them in Dutch (docs/i18n.md).
NAMES_TARGET = {"person": N_("a hold by person names the person"),
                "category": N_("a hold by category names the category"),
                "employer": N_("a hold by employer names the employer")}
NAMES_ONLY = {"person": N_("a hold by person names only the person"),
              "category": N_("a hold by category names only the category"),
              "employer": N_("a hold by employer names only the employer")}


def _active(now: datetime) -> ColumnElement[bool]:
    return and_(Hold.released_at.is_(None), or_(Hold.until.is_(None), Hold.until > now))


@dataclass(frozen=True)
class HoldScope:
    """One active hold as the sweep needs it: what it covers and why (its reason a category, never a name)."""

    id: uuid.UUID
    scope: str
    reason: str
    person_id: uuid.UUID | None
    category: str | None
    employer_id: uuid.UUID | None

    def covers(self, record: FromClause) -> ColumnElement[bool]:
        c = record.c
        if self.scope == "person":
            return c.person_id == self.person_id
        if self.scope == "category":
            return c.category == self.category
        return or_(and_(c.controller_employer_id.is_not(None), c.controller_employer_id == self.employer_id),
                   c.person_id.in_(select(Person.id).where(Person.employer_id == self.employer_id)))


@dataclass(frozen=True)
class ActiveHolds:
    """What the active holds cover, read once per sweep batch (holds are few; records are many)."""

    people: frozenset[uuid.UUID]
    categories: frozenset[str]
    employers: frozenset[uuid.UUID]
    each: tuple[HoldScope, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.people or self.categories or self.employers)

    def covers(self, record: FromClause) -> ColumnElement[bool]:
        """True for rows of ``record`` (the table or an alias) that a hold covers; never NULL."""
        c = record.c
        parts: list[ColumnElement[bool]] = []
        if self.people:
            parts.append(c.person_id.in_(list(self.people)))
        if self.categories:
            parts.append(c.category.in_(list(self.categories)))
        if self.employers:
            employers = list(self.employers)
            parts.append(and_(c.controller_employer_id.is_not(None), c.controller_employer_id.in_(employers)))
            parts.append(c.person_id.in_(select(Person.id).where(Person.employer_id.in_(employers))))
        return or_(*parts) if parts else false()


_holds = Hold.__table__
# Built once: every erasure and access package reads it, and building it costs more than running it.
_IN_FORCE = and_(_holds.c.released_at.is_(None), or_(_holds.c.until.is_(None), _holds.c.until > bindparam("now")))
_ACTIVE = (select(_holds.c.id, _holds.c.scope, _holds.c.reason, _holds.c.person_id, _holds.c.category,
                  _holds.c.employer_id).where(_IN_FORCE).order_by(_holds.c.created_at, _holds.c.id))
# Whether any hold is in force at the bound ``now``: a column another statement can carry, so a caller that reads a
# row anyway learns in the same round trip that there is nothing to look for (the usual case).
ANY_ACTIVE = exists().where(_IN_FORCE)


def covered_now(record: FromClause, now: datetime) -> ColumnElement[bool]:
    """True for rows of ``record`` that a hold in force at ``now`` covers, read from ``legal_hold`` by the
    statement that carries it: a statement that deletes with it spares what a hold placed a moment ago covers,
    where ``ActiveHolds`` says what was in force when it was read. Each part is a subquery that does not
    depend on the row, which PostgreSQL runs once per statement and looks rows up in (with no hold in force,
    an empty list), never once per row."""
    c, h = record.c, _holds.c
    in_force = and_(h.released_at.is_(None), or_(h.until.is_(None), h.until > now))

    def held(scope: str, column: ColumnElement[Any]) -> Select[Any]:
        return select(column).where(in_force, h.scope == scope, column.is_not(None))

    employers = held("employer", h.employer_id)
    return or_(c.person_id.in_(held("person", h.person_id)), c.category.in_(held("category", h.category)),
               and_(c.controller_employer_id.is_not(None), c.controller_employer_id.in_(employers)),
               c.person_id.in_(select(Person.id).where(Person.employer_id.in_(employers))))


def active_holds(session: Session, now: datetime) -> ActiveHolds:
    rows = session.execute(_ACTIVE, {"now": now}).all()
    return ActiveHolds(people=frozenset(r.person_id for r in rows if r.scope == "person"),
                       categories=frozenset(r.category for r in rows if r.scope == "category"),
                       employers=frozenset(r.employer_id for r in rows if r.scope == "employer"),
                       each=tuple(HoldScope(r.id, r.scope, r.reason, r.person_id, r.category, r.employer_id)
                                  for r in rows))


@dataclass
class HeldBack:
    """Due records that active holds kept from a sweep (R-RET-2): per rule, and per hold per rule. A record two
    holds cover counts once in the totals and once for each hold."""

    per_rule: dict[str, int] = field(default_factory=dict)
    per_hold: dict[uuid.UUID, tuple[HoldScope, dict[str, int]]] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(self.per_rule.values())

    def as_dict(self) -> dict[str, Any]:
        """For the audit log and the sweep's row: ids, scopes, reasons and counts only."""
        return {"records": self.records, "rules": dict(sorted(self.per_rule.items())),
                "holds": {str(hold_id): {"scope": hold.scope, "reason": hold.reason, "records": sum(rules.values()),
                                         "rules": dict(sorted(rules.items()))}
                          for hold_id, (hold, rules) in self.per_hold.items()}}


def held_back(session: Session, now: datetime, holds: ActiveHolds) -> HeldBack:
    """What the holds keep of the records due at ``now``: one grouped count, and none at all without a hold."""
    found = HeldBack()
    if not holds:
        return found
    table = Record.__table__
    each = [func.sum(case((hold.covers(table), 1), else_=0)) for hold in holds.each]
    for rule_id, count, *per_hold in session.execute(
            select(table.c.rule_id, func.count(), *each).where(table.c.due_at <= now, holds.covers(table))
            .group_by(table.c.rule_id)):
        found.per_rule[rule_id] = count
        for hold, n in zip(holds.each, per_hold, strict=True):
            if n:
                found.per_hold.setdefault(hold.id, (hold, {}))[1][rule_id] = int(n)
    return found


def held(session: Session, clock: Clock, person_id: uuid.UUID) -> list[Hold]:
    """The active holds that cover any of this person's data (for erasure requests and access packages).
    Usually there are none at all: one small query says so."""
    return held_if_any(session, clock, person_id, bool(active_holds(session, clock.now())))


def held_if_any(session: Session, clock: Clock, person_id: uuid.UUID, any_active: bool) -> list[Hold]:
    """As ``held``, for a caller that has read ``ANY_ACTIVE`` already."""
    return holds_of(session, clock.now(), person_id, active_only=True) if any_active else []


def holds_of(session: Session, now: datetime, person_id: uuid.UUID, active_only: bool) -> list[Hold]:
    employer = session.scalar(select(Person.employer_id).where(Person.id == person_id))
    employers = {employer} | set(session.scalars(select(Record.controller_employer_id).distinct().where(
        Record.person_id == person_id, Record.controller_employer_id.is_not(None))))
    categories = set(session.scalars(select(Record.category).distinct().where(Record.person_id == person_id)))
    return holds_covering(session, now, person_id, employers, categories, active_only)


def holds_covering(session: Session, now: datetime, person_id: uuid.UUID, employers: Iterable[uuid.UUID | None],
                   categories: Iterable[str], active_only: bool) -> list[Hold]:
    """``holds_of`` for a caller that has read the person's employers (theirs and their records' controllers)
    and record categories already: one query."""
    query = select(Hold).where(or_(
        and_(Hold.scope == "person", Hold.person_id == person_id),
        and_(Hold.scope == "employer", Hold.employer_id.in_({e for e in employers if e is not None})),
        and_(Hold.scope == "category", Hold.category.in_(set(categories))))).order_by(Hold.created_at, Hold.id)
    if active_only:
        query = query.where(_active(now))
    return list(session.scalars(query))


def held_record_ids(session: Session, clock: Clock, record_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these records an active hold covers: they must be neither swept nor erased."""
    holds = active_holds(session, clock.now())
    wanted = list(set(record_ids))
    if not holds or not wanted:
        return set()
    found: set[uuid.UUID] = set()
    table = Record.__table__
    for start in range(0, len(wanted), 1000):
        found |= set(session.scalars(select(table.c.id).where(table.c.id.in_(wanted[start:start + 1000]),
                                                               holds.covers(table))))
    return found


def place(session: Session, clock: Clock, policy: Policy, actor: str, *, scope: str, reason: str,
          person_id: uuid.UUID | None = None, category: str | None = None, employer_id: uuid.UUID | None = None,
          reference: str | None = None, until: datetime | None = None) -> Hold:
    """Place a hold on one person, one category or one employer's data, with its reason."""
    now = clock.now()
    problems = _check(session, policy, now, scope, reason, person_id, category, employer_id, reference, until)
    if problems:
        raise Invalid(N_("the legal hold was not placed"), code="hold_invalid", problems=problems)
    hold = Hold(id=new_id(), scope=scope, person_id=person_id, category=category, employer_id=employer_id,
                reason=reason, reference=reference, recorded_by=actor, created_at=now,
                until=as_utc(until) if until else None)
    session.add(hold)
    session.flush()
    target = [t for t in (person_id, employer_id) if t is not None]
    audit.append(session, clock, actor=actor, action="retention.hold_placed", object_type="legal_hold",
                 object_ids=[hold.id, *target],
                 details={"scope": scope, "reason": reason, "category": category,
                          "until": hold.until.isoformat() if hold.until else None})
    return hold


def release(session: Session, clock: Clock, actor: str, hold_id: uuid.UUID) -> Hold:
    """End a hold (idempotent: releasing a released hold changes nothing)."""
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound(N_("no such legal hold"), code="hold_not_found")
    if hold.released_at is None:
        hold.released_at, hold.released_by = clock.now(), actor
        audit.append(session, clock, actor=actor, action="retention.hold_released", object_type="legal_hold",
                     object_ids=[hold.id], details={"scope": hold.scope, "reason": hold.reason})
    return hold


def list_holds(session: Session, clock: Clock, include_ended: bool = False) -> list[Hold]:
    query = select(Hold).order_by(Hold.created_at, Hold.id)
    if not include_ended:
        query = query.where(_active(clock.now()))
    return list(session.scalars(query))


def _check(session: Session, policy: Policy, now: datetime, scope: str, reason: str, person_id: uuid.UUID | None,
           category: str | None, employer_id: uuid.UUID | None, reference: str | None,
           until: datetime | None) -> list[Problem]:
    problems: list[Problem] = []
    if scope not in SCOPES:
        problems.append(Problem("scope", "scope_invalid", N_("one of: %(choices)s", choices=", ".join(SCOPES))))
    if reason not in REASONS:
        problems.append(Problem("reason", "reason_invalid", N_("one of: %(choices)s", choices=", ".join(REASONS))))
    if reference is not None and not 0 < len(reference.strip()) <= 80:
        problems.append(Problem("reference", "reference_invalid", N_("1 to 80 characters (a case number)")))
    targets: Sequence[tuple[str, object]] = (("person", person_id), ("category", category), ("employer", employer_id))
    for name, value in targets:
        path = "category" if name == "category" else f"{name}_id"
        if name == scope and value is None:
            problems.append(Problem(path, "target_required", NAMES_TARGET[name]))
        elif name != scope and value is not None and scope in NAMES_ONLY:
            problems.append(Problem(path, "target_unexpected", NAMES_ONLY[scope]))
    if scope == "person" and person_id is not None:
        person = session.get(Person, person_id)
        if person is None or person.shredded_at is not None:
            problems.append(Problem("person_id", "person_not_found", N_("no such person")))
    if scope == "category" and category is not None and category not in policy.category_ids:
        problems.append(Problem("category", "category_unknown",
                                f"unknown category '{category}'{did_you_mean(category, policy.category_ids)}"))
    if scope == "employer" and employer_id is not None and session.get(Employer, employer_id) is None:
        problems.append(Problem("employer_id", "employer_not_found", N_("no such employer")))
    if until is not None and until.tzinfo is None:
        problems.append(Problem("until", "timezone_required", N_("give a time zone")))
    elif until is not None and until <= now:
        problems.append(Problem("until", "in_past", N_("a hold ends in the future")))
    return problems

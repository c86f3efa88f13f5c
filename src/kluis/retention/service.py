"""Retention use cases: every record gets its rule and due date when written and when its trigger
happens; services report those triggers; ``explain`` shows a person's records with their terms (R-RET-1).

The sweep lives in ``kluis.retention.sweep``, holds in ``kluis.retention.holds``; ``held`` and
``held_record_ids`` are re-exported here for other domains (erasure requests consult them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import String, Uuid, select, update
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.db import UTCDateTime, among, given_parts, rowcount
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_id
from kluis.policy.schemas import Policy, Trigger, did_you_mean
from kluis.retention import keep, rules
from kluis.retention.holds import held, held_record_ids
from kluis.retention.models import Hold, TriggerEvent
from kluis.vault import service as vault_service
from kluis.vault.models import Person, Record

__all__ = ["ActivityResult", "EventResult", "PersonActivity", "RecordRetention", "book", "due_dates", "explain",
           "follow", "held", "held_record_ids", "record_activity", "record_event", "stamp", "stamp_existing"]

# Reports may come from a server whose clock runs a little ahead.
CLOCK_SKEW = timedelta(minutes=5)
_BOOKS: dict[str, rules.RuleBook] = {}


def book(policy: Policy) -> rules.RuleBook:
    """The rule book of this policy, shared by every unit of work that uses the same policy content."""
    found = _BOOKS.get(policy.content_hash)
    if found is None or found.policy is not policy:
        found = _BOOKS[policy.content_hash] = rules.RuleBook(policy)
    return found


class PersonActivity(NamedTuple):
    """What is known of a person when their records are stamped (``rules.inherited_activity``)."""

    activity: datetime | None  # their own last activity; None: none registered
    since: datetime  # when they were first known (``person.created_at``)
    has_records: bool = True  # ``person.keep_until`` is set: records of theirs may have to follow a new activity


def stamp(session: Session, rule_book: rules.RuleBook, rows: Sequence[dict[str, Any]],
          people: Mapping[uuid.UUID, PersonActivity], new: bool = True) -> dict[uuid.UUID, datetime]:
    """Set ``rule_id`` and ``due_at`` on record rows about to be written (or rewritten). Triggers that are
    events (a contract or procedure that ended, a settled claim) are looked up only when a row needs one;
    ``new`` rows cannot have a settlement of their own yet.

    A row kept from the last activity that did not come from the person (R-RET-1) gets the person's own
    last activity as its ``last_activity_at``: the latest of ``people`` and of the rows the person gave here.
    Returns that own last activity per person as these rows show it, for ``keep.extend`` to move forward."""
    own_sources = rule_book.own_sources
    own: dict[uuid.UUID, datetime] = {}
    for row in rows:
        if row["source"] in own_sources:
            pid, at = row["person_id"], row["last_activity_at"]
            before = own.get(pid)
            if before is None or at > before:
                own[pid] = at
    clocks: dict[uuid.UUID, datetime | None] = {}  # the person's own last activity, with this batch's
    pending: list[tuple[dict[str, Any], Any]] = []
    for row in rows:
        rule = rule_book.rule(row["category"], row["purposes"])
        row["rule_id"] = rule.id if rule else None
        row["due_at"] = None
        if rule is None:
            continue
        if rule.trigger is Trigger.LAST_ACTIVITY and row["source"] not in own_sources:
            pid = row["person_id"]
            if pid not in clocks:
                known, given = people[pid].activity, own.get(pid)
                clocks[pid] = given if known is None or (given is not None and given > known) else known
            row["last_activity_at"] = rules.inherited_activity(clocks[pid], people[pid].since, row["collected_at"])
        start = rule_book.known_start(rule, row["collected_at"], row["last_activity_at"])
        if start is not None:
            row["due_at"] = rule_book.due_at(rule, start)
        elif rule.trigger in rules.PERSON_TRIGGERS or not new:
            pending.append((row, rule))
    if pending:
        person_events = _latest_person_events(session, {row["person_id"] for row, _ in pending})
        record_events = {} if new else _latest_record_events(session, [row["id"] for row, _ in pending])
        for row, rule in pending:
            event = (record_events.get(row["id"]) if rule.trigger in rules.RECORD_TRIGGERS
                     else person_events.get((row["person_id"], rule.trigger)))
            if event is not None:
                row["due_at"] = rule_book.due_at(rule, *event)
    return own


def follow(session: Session, rule_book: rules.RuleBook, people: Mapping[uuid.UUID, PersonActivity],
           own: Mapping[uuid.UUID, datetime], now: datetime) -> None:
    """Data the person gave (``own``, from ``stamp``) moved their own last activity forward: their records from
    others kept from the last activity follow it, as they follow a reported activity (R-RET-1). Only people who
    had records before are looked at, so a batch of new people costs nothing. One statement for every person and
    rule of the batch, naming its people so that only their records are read (``given_parts``); the bounds of
    only the people whose records moved are recomputed."""
    moved = {pid: at for pid, at in own.items() if people[pid].has_records
             and ((before := people[pid].activity) is None or at > before)}
    kept = rule_book.rules_with({Trigger.LAST_ACTIVITY})
    if not moved or not kept:
        return
    table = Record.__table__
    given = [(pid, rule.id, at, rule_book.due_at(rule, at)) for pid, at in moved.items() for rule in kept]
    changed: set[uuid.UUID] = set()
    for part, rows in given_parts(session, (("pid", Uuid()), ("rule_id", String()), ("clock", UTCDateTime()),
                                            ("due", UTCDateTime())), given):
        changed.update(session.scalars(
            update(table).where(among(session, table.c.person_id, list(dict.fromkeys(row[0] for row in rows))),
                                table.c.person_id == part.c.pid, table.c.rule_id == part.c.rule_id,
                                table.c.source.not_in(sorted(rule_book.own_sources)),
                                table.c.last_activity_at < part.c.clock)
            .values(last_activity_at=part.c.clock, due_at=part.c.due, updated_at=now)
            .returning(table.c.person_id)))
    keep.refresh(session, changed)


def due_dates(session: Session, policy: Policy, rows: Sequence[dict[str, Any]], people: Sequence[Any],
              now: datetime) -> Callable[[], None]:
    """The vault's ``DueDates``: records written get their rule and due date (``stamp``); once they are in, the
    person's ``keep_until`` covers them and their records from others follow the activity the new ones show."""
    rule_book = book(policy)
    activity = {row.id: PersonActivity(row.last_activity_at, row.created_at, row.keep_until is not None)
                for row in people}
    own = stamp(session, rule_book, rows, activity)

    def written() -> None:
        keep.extend(session, rows, own)
        follow(session, rule_book, activity, own, now)

    return written


@dataclass(frozen=True)
class EventResult:
    event_ids: list[uuid.UUID]
    records: int
    due_at: datetime | None


def record_event(session: Session, clock: Clock, policy: Policy, actor: str, person_id: uuid.UUID, kind: str,
                 at: datetime | None = None, record_ids: Sequence[uuid.UUID] = (),
                 with_consent: bool = False) -> EventResult:
    """A service reports a trigger: ``contract_end`` or ``procedure_end`` for the person, ``settled`` for
    the claims named in ``record_ids``. The records it starts get their due date; the latest date reported
    for a trigger counts. ``with_consent``: the person agreed to the rule's longer term, where it has one."""
    vault_service.live_person(session, person_id)
    now = clock.now()
    problems = _check_at(at, now)
    trigger = rules.EVENT_KINDS.get(kind)
    if trigger is None:
        problems.append(Problem("kind", "kind_invalid", f"one of: {', '.join(rules.EVENT_KINDS)}"))
    elif trigger in rules.RECORD_TRIGGERS:
        problems += _check_claims(session, book(policy), person_id, record_ids, trigger)
    elif record_ids:
        problems.append(Problem("record_ids", "records_unexpected", f"'{kind}' concerns the whole person"))
    if problems:
        raise Invalid("the event was not recorded", code="event_invalid", problems=problems)
    assert trigger is not None
    when = as_utc(at) if at else now
    targets: list[uuid.UUID | None] = list(dict.fromkeys(record_ids)) if record_ids else [None]
    events = [TriggerEvent(id=new_id(), person_id=person_id, record_id=rid, kind=kind, at=when,
                           with_consent=with_consent, recorded_by=actor, recorded_at=now) for rid in targets]
    session.add_all(events)
    session.flush()
    changed, due = _restamp(session, book(policy), person_id, trigger, [r for r in targets if r is not None], now)
    keep.refresh(session, [person_id])  # records kept open until this trigger now have a due date
    audit.append(session, clock, actor=actor, action="retention.event_recorded", object_type="person",
                 object_ids=[person_id, *[r for r in targets if r is not None]],
                 details={"kind": kind, "records": changed, "with_consent": with_consent})
    return EventResult(event_ids=[e.id for e in events], records=changed, due_at=due)


@dataclass(frozen=True)
class ActivityResult:
    counted: bool
    records: int


def record_activity(session: Session, clock: Clock, policy: Policy, actor: str, person_id: uuid.UUID,
                    activity: str, at: datetime | None = None) -> ActivityResult:
    """Something happened with a contact. Only what the person did (``by_person``: a click, form, login,
    purchase, attendance) moves their last activity, and so the due date of data kept from it; a mail
    sent or opened is accepted and changes nothing."""
    person = vault_service.live_person(session, person_id)
    now = clock.now()
    known = {a.id: a for a in policy.activities}
    problems = _check_at(at, now)
    if activity not in known:
        problems.append(Problem("activity", "activity_unknown",
                                f"unknown activity '{activity}'{did_you_mean(activity, known)}"))
    if problems:
        raise Invalid("the activity was not recorded", code="activity_invalid", problems=problems)
    if not known[activity].by_person:
        return ActivityResult(counted=False, records=0)
    when = as_utc(at) if at else now
    rule_book, changed = book(policy), 0
    counting = [rule for rule in rule_book.rules_with({Trigger.LAST_ACTIVITY}) if activity in rule.activities]
    # The person's own clock, which records from others written later run from (R-RET-1); only forward.
    moved = bool(counting) and (person.last_activity_at is None or person.last_activity_at < when)
    if moved:
        person.last_activity_at, person.updated_at = when, now
    for rule in counting:
        result = session.execute(
            update(Record).where(Record.person_id == person_id, Record.rule_id == rule.id,
                                 Record.last_activity_at < when)
            .values(last_activity_at=when, due_at=rule_book.due_at(rule, when), updated_at=now)
            .execution_options(synchronize_session=False))
        changed += rowcount(result)
    if changed:
        keep.refresh(session, [person_id])  # a later due date can also be an earlier one (a shorter rule)
    if changed or moved:
        audit.append(session, clock, actor=actor, action="retention.activity_recorded", object_type="person",
                     object_ids=[person_id], details={"activity": activity, "records": changed})
    return ActivityResult(counted=True, records=changed)


@dataclass(frozen=True)
class RecordRetention:
    """One line of ``explain``: which rule keeps the record, from which trigger, until when, and what holds it."""

    record_id: uuid.UUID
    category: str
    purposes: list[str]
    rule_id: str | None
    trigger: str | None
    triggered_on: date | None
    due_on: date | None
    due_at: datetime | None
    holds: list[Hold]
    # Kept for a legal obligation: an erasure request does not take it before it is due (R-RET-3).
    legal_obligation: bool = False


def explain(session: Session, clock: Clock, policy: Policy, person_id: uuid.UUID) -> list[RecordRetention]:
    person = vault_service.live_person(session, person_id)
    rule_book = book(policy)
    person_events = _latest_person_events(session, {person_id})
    holds = held(session, clock, person_id)
    records = list(session.scalars(select(Record).where(Record.person_id == person_id)
                                   .order_by(Record.collected_at, Record.id)))
    record_events = _latest_record_events(session, [r.id for r in records])
    out = []
    for record in records:
        rule = rule_book.by_id(record.rule_id) if record.rule_id else None
        started: datetime | None = None
        if rule is not None:
            event = record_events.get(record.id) or person_events.get((person_id, rule.trigger))
            started = rule_book.known_start(rule, record.collected_at, record.last_activity_at) or (
                event[0] if event else None)
        mine = [h for h in holds if _hold_covers(h, record, person.employer_id)]
        out.append(RecordRetention(
            record_id=record.id, category=record.category, purposes=list(record.purposes),
            rule_id=record.rule_id, trigger=str(rule.trigger) if rule else None,
            triggered_on=rules.local_day(started) if started else None,
            due_on=rules.local_day(record.due_at) if record.due_at else None, due_at=record.due_at, holds=mine,
            legal_obligation=bool(rule and rule.keep_on_erasure)))
    return out


def stamp_existing(session: Session, clock: Clock, policy: Policy, actor: str, after: uuid.UUID | None,
                   batch: int = 2000, restamp: bool = False) -> tuple[int, uuid.UUID | None]:
    """Give existing records (written before retention, or under an older policy with ``restamp``) their
    rule and due date, one batch in id order from ``after``; returns (records stamped, last id seen)."""
    query = select(Record.id, Record.person_id, Record.category, Record.purposes, Record.source, Record.collected_at,
                   Record.last_activity_at, Record.rule_id, Record.due_at).order_by(Record.id)
    if after is not None:
        query = query.where(Record.id > after)
    if not restamp:
        query = query.where(Record.rule_id.is_(None))
    found = [dict(r._mapping) for r in session.execute(query.limit(batch))]
    if not found:
        return 0, None
    fields = ("rule_id", "due_at", "last_activity_at")
    before = {r["id"]: tuple(r[f] for f in fields) for r in found}
    people = {pid: PersonActivity(activity, since) for pid, activity, since in session.execute(
        select(Person.id, Person.last_activity_at, Person.created_at)
        .where(Person.id.in_({r["person_id"] for r in found})))}
    stamp(session, book(policy), found, people, new=False)
    changed = [r for r in found if tuple(r[f] for f in fields) != before[r["id"]]]
    for row in changed:
        session.execute(update(Record).where(Record.id == row["id"])
                        .values(rule_id=row["rule_id"], due_at=row["due_at"], last_activity_at=row["last_activity_at"]))
    keep.refresh(session, {row["person_id"] for row in changed})
    if changed:
        audit.append(session, clock, actor=actor, action="retention.stamped", object_type="record",
                     details={"records": len(changed), "rules": sorted({str(r["rule_id"]) for r in changed})})
    return len(changed), found[-1]["id"]


# --- helpers -------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# A reported trigger as the due date needs it: (when it happened, with consent to the longer term).
Started = tuple[datetime, bool]


def _latest_person_events(session: Session, person_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, Trigger], Started]:
    """The latest reported end of a contract or procedure per person (people report few such events)."""
    kinds = {k: t for k, t in rules.EVENT_KINDS.items() if t in rules.PERSON_TRIGGERS}
    found: dict[tuple[uuid.UUID, Trigger], Started] = {}
    for ids in _chunks(list(person_ids)):
        for pid, kind, at, consent in session.execute(
                select(TriggerEvent.person_id, TriggerEvent.kind, TriggerEvent.at, TriggerEvent.with_consent)
                .where(among(session, TriggerEvent.person_id, ids), TriggerEvent.kind.in_(list(kinds)),
                       TriggerEvent.record_id.is_(None))
                .order_by(TriggerEvent.at, TriggerEvent.recorded_at)):
            found[(pid, kinds[kind])] = (as_utc(at), consent)
    return found


def _latest_record_events(session: Session, record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Started]:
    found: dict[uuid.UUID, Started] = {}
    for ids in _chunks(list(record_ids)):
        for rid, at, consent in session.execute(
                select(TriggerEvent.record_id, TriggerEvent.at, TriggerEvent.with_consent)
                .where(TriggerEvent.record_id.in_(ids)).order_by(TriggerEvent.at, TriggerEvent.recorded_at)):
            assert rid is not None  # one of ids
            found[rid] = (as_utc(at), consent)
    return found


def _restamp(session: Session, rule_book: rules.RuleBook, person_id: uuid.UUID, trigger: Trigger,
             record_ids: list[uuid.UUID], now: datetime) -> tuple[int, datetime | None]:
    """Recompute the due date of the records a reported trigger starts; (records changed, a due date)."""
    changed, due = 0, None
    if record_ids:
        starts = _latest_record_events(session, record_ids)
        for record in session.scalars(select(Record).where(Record.id.in_(record_ids))):
            rule = rule_book.by_id(record.rule_id) if record.rule_id else None
            if rule is not None:
                record.due_at = due = rule_book.due_at(rule, *starts[record.id])
                record.updated_at = now
                changed += 1
        return changed, due
    start = _latest_person_events(session, {person_id})[(person_id, trigger)]
    for rule in rule_book.rules_with({trigger}):
        due = rule_book.due_at(rule, *start)
        result = session.execute(update(Record).where(Record.person_id == person_id, Record.rule_id == rule.id)
                                 .values(due_at=due, updated_at=now).execution_options(synchronize_session=False))
        changed += rowcount(result)
    return changed, due


def _check_at(at: datetime | None, now: datetime) -> list[Problem]:
    if at is not None and at.tzinfo is None:
        return [Problem("at", "timezone_required", "give a time zone (e.g. 2026-03-01T09:00:00+01:00)")]
    if at is not None and at > now + CLOCK_SKEW:
        return [Problem("at", "in_future", "report an event when it has happened")]
    return []


def _check_claims(session: Session, rule_book: rules.RuleBook, person_id: uuid.UUID,
                  record_ids: Sequence[uuid.UUID], trigger: Trigger) -> list[Problem]:
    if not record_ids:
        return [Problem("record_ids", "records_required", "name the settled claims")]
    if len(record_ids) > 10_000:
        return [Problem("record_ids", "too_many", "at most 10,000 records at a time")]
    rows = {r.id: r.rule_id for r in session.execute(select(Record.id, Record.rule_id).where(
        Record.id.in_(list(record_ids)), Record.person_id == person_id))}
    problems = []
    for index, rid in enumerate(record_ids):
        rule = rule_book.by_id(rows[rid]) if rows.get(rid) else None
        if rid not in rows:
            problems.append(Problem(f"record_ids[{index}]", "record_not_found", "this person has no such record"))
        elif rule is None or rule.trigger != trigger:
            problems.append(Problem(f"record_ids[{index}]", "not_settled_by_event",
                                    "this record is not kept from a settlement (not a claim)"))
    return problems


def _hold_covers(hold: Hold, record: Record, employer_id: uuid.UUID | None) -> bool:
    if hold.scope == "person":
        return hold.person_id == record.person_id
    if hold.scope == "category":
        return hold.category == record.category
    return hold.employer_id in (employer_id, record.controller_employer_id)

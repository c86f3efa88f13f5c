"""When a record is due for erasure: pure rules, no database (R-RET-1).

A record is kept under the first retention rule of the policy that covers its category and one of
its purposes (a rule without purposes covers every purpose). The rule's term runs from its trigger:

- ``collected``: the day the record was collected;
- ``last_activity``: the day of the person's last registered activity (only what they did counts:
  the policy lists those activities, and the sources that are the person themselves). A record from
  anyone else (an aggregator, a partner, an employer) runs from the person's own last activity
  (``inherited_activity``): its arrival is not something the person did;
- ``procedure_end`` / ``contract_end``: the day the application procedure or the contract ended;
- ``fiscal_year_end_of_settlement``: the end of the fiscal (calendar) year in which the claim was
  settled, so the term runs from 1 January of the next year.

Dates are calendar dates in Europe/Amsterdam; a month runs to the same day number, or to the month's
last day where that number does not exist (``Term.after``). A record is due at the start (00:00,
Amsterdam time) of the day its term ends: never kept a day longer than promised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache

from kluis.kit.clock import AMSTERDAM, as_utc
from kluis.policy.schemas import Policy, RetentionRule, Term, Trigger

# Triggers a service reports as an event (the others are known when the record is written).
EVENT_KINDS: dict[str, Trigger] = {
    "settled": Trigger.FISCAL_YEAR_END_OF_SETTLEMENT,
    "contract_end": Trigger.CONTRACT_END,
    "procedure_end": Trigger.PROCEDURE_END,
}
# Reported once for the whole person (every record under such a rule) or for named records.
PERSON_TRIGGERS = frozenset({Trigger.CONTRACT_END, Trigger.PROCEDURE_END})
RECORD_TRIGGERS = frozenset({Trigger.FISCAL_YEAR_END_OF_SETTLEMENT})


def local_day(at: datetime) -> date:
    return as_utc(at).astimezone(AMSTERDAM).date()


def term_start(trigger: Trigger, at: datetime) -> date:
    """The calendar day from which the term runs, for a trigger that happened at ``at``."""
    return _start_day(trigger, local_day(at))


def _start_day(trigger: Trigger, day: date) -> date:
    return date(day.year + 1, 1, 1) if trigger == Trigger.FISCAL_YEAR_END_OF_SETTLEMENT else day


def due_on(rule: RetentionRule, at: datetime, with_consent: bool = False) -> date:
    """The day the record is due: the rule's term (or its longer term with consent) after the trigger."""
    term = rule.with_consent if with_consent and rule.with_consent is not None else rule.term
    return term.after(term_start(rule.trigger, at))


def start_of_day(day: date) -> datetime:
    """00:00 in Amsterdam on that day, as a UTC instant."""
    return as_utc(datetime.combine(day, time(0), tzinfo=AMSTERDAM))


def rule_for(policy: Policy, category: str, purposes: Sequence[str]) -> RetentionRule | None:
    """The rule that keeps data of this category held for these purposes: the first in policy order, except
    that a legal obligation (a rule that keeps data on erasure) comes before every other, wherever the policy
    lists it: what the law makes us keep is never cut short by a marketing or other term (R-RET-3)."""
    covering = [rule for rule in policy.retention
                if category in rule.categories and (not rule.purposes or any(p in rule.purposes for p in purposes))]
    return next((rule for rule in covering if rule.keep_on_erasure), covering[0] if covering else None)


def inherited_activity(person_activity: datetime | None, person_since: datetime, collected_at: datetime) -> datetime:
    """The last activity a record that did not come from the person runs from: the person's own last activity.
    With none registered, the earlier of when the person was first known and when the record was collected:
    never later than the record's own collection, and a re-import never restarts it."""
    return person_activity if person_activity is not None else min(person_since, collected_at)


@dataclass
class RuleBook:
    """The policy's retention rules with the look-ups memoised: ingestion asks once per record."""

    policy: Policy
    _rules: dict[tuple[str, tuple[str, ...]], RetentionRule | None] = field(default_factory=dict)
    # Sources that are the person themselves: writing their data is the person's own doing.
    own_sources: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.own_sources = frozenset(s.id for s in self.policy.sources if s.by_person)

    def rule(self, category: str, purposes: Sequence[str]) -> RetentionRule | None:
        key = (category, tuple(purposes))
        if key not in self._rules:
            self._rules[key] = rule_for(self.policy, category, purposes)
        return self._rules[key]

    def by_id(self, rule_id: str) -> RetentionRule | None:
        return next((r for r in self.policy.retention if r.id == rule_id), None)

    def rules_with(self, triggers: frozenset[Trigger] | set[Trigger]) -> list[RetentionRule]:
        return [r for r in self.policy.retention if r.trigger in triggers]

    def due_at(self, rule: RetentionRule, at: datetime, with_consent: bool = False) -> datetime:
        """Start of the due day; ``with_consent``: the person agreed to the rule's longer term (an
        applicant kept for future vacancies), reported with the event that starts it."""
        return _due_at(rule.trigger, _term_key(rule, with_consent), local_day(at))

    @staticmethod
    def known_start(rule: RetentionRule, collected_at: datetime, last_activity_at: datetime) -> datetime | None:
        """The trigger instant known from the record itself; None when an event must still be reported."""
        if rule.trigger == Trigger.COLLECTED:
            return collected_at
        if rule.trigger == Trigger.LAST_ACTIVITY:
            return last_activity_at
        return None


def _term_key(rule: RetentionRule, with_consent: bool) -> tuple[int, int, int, int]:
    term = rule.with_consent if with_consent and rule.with_consent is not None else rule.term
    return term.years, term.months, term.weeks, term.days


@lru_cache(maxsize=65_536)
def _due_at(trigger: Trigger, term: tuple[int, int, int, int], day: date) -> datetime:
    # Keyed on the term's numbers, not the rule, so a changed policy never reuses a stale date.
    years, months, weeks, days = term
    return start_of_day(Term(years=years, months=months, weeks=weeks, days=days).after(_start_day(trigger, day)))

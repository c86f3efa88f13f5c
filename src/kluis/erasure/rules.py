"""Pure rules of erasure: what a legal obligation keeps, and until when (R-DSR-6, R-RET-3).

No database and no web: the service feeds these the facts of each record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from kluis.jobs.rules import Backoff
from kluis.kit.clock import AMSTERDAM
from kluis.policy.schemas import Policy, RetentionRule


class JobState(StrEnum):
    QUEUED = "queued"      # runnable now or at next_attempt_at
    RUNNING = "running"    # held by a worker until locked_until
    WAITING = "waiting"    # a step could not run (a dataset is down, no certificate key): retried later
    DONE = "done"
    CANCELLED = "cancelled"  # its request was refused or put on hold before any data was touched
    EMPLOYER = "employer"  # benVitaal's own part is erased; the rest waits for the employer's instruction (R-DSR-8)


class Reason(StrEnum):
    REQUEST = "request"
    RETENTION = "retention"
    STAFF = "staff"


@dataclass(frozen=True)
class Keep:
    """Why one record outlives the erasure, and until when (None: the term has not started yet,
    e.g. a claim not settled; it runs from its trigger)."""

    rule_id: str
    until: date | None
    reason: str  # legal_obligation | legal_hold


def keeping_rules(policy: Policy) -> list[RetentionRule]:
    return [rule for rule in policy.retention if rule.keep_on_erasure]


def keep_of(rules: list[RetentionRule], category: str, purposes: list[str], due: date | None,
            today: date, rule_id: str | None = None) -> Keep | None:
    """A record is kept when its retention rule (the one retention stamped on it, or else the first
    legal-obligation rule covering its category and one of its purposes) keeps data on erasure and its
    term has not ended. A record already due is erased now."""
    for rule in rules:
        if rule_id is not None:
            applies = rule.id == rule_id
        else:
            applies = category in rule.categories and (not rule.purposes or bool(set(purposes) & set(rule.purposes)))
        if applies:
            if due is not None and due <= today:
                return None
            return Keep(rule.id, due, "legal_obligation")
    return None


HOLD_RULE = "legal_hold"
# A job that waits (a dataset down, no certificate key) is tried again after 1 minute, doubling, at most 6 hours:
# a dataset that is down is asked again, not hammered.
RETRY = Backoff(first=timedelta(minutes=1), longest=timedelta(hours=6))


def whole_person_hold(scope: str) -> bool:
    """A hold on the person or on their employer's data covers everything: nothing may be erased."""
    return scope in ("person", "employer")


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_amsterdam_date(at: datetime | None) -> date | None:
    """A due instant (00:00 Amsterdam on the due day) as that calendar day."""
    return at.astimezone(AMSTERDAM).date() if at is not None else None

"""The chain's verified state: every verification records what it found, and pages read that (R-GOV-1).

A page never walks the log: the console and ``/health`` show the newest recorded run (one row by its key).
The worker verifies every ``KLUIS_AUDIT_VERIFY_MINUTES``; ``kluis audit verify`` verifies on demand. Both
record when, through which event, what they found and how long it took.

Most scheduled runs are incremental: they start after the event the previous run ended on, and its link, and
check every event sealed since as a full walk would (the keyed links chain from there). They cannot see an
event changed *before* that point, so:
- a full walk runs every ``KLUIS_AUDIT_FULL_VERIFY_HOURS``, and `kluis audit verify` always walks in full;
- after a run that found the chain broken, or whose record does not hold under the key, every run walks in
  full (an incremental run from an earlier good point would report the break gone);
- a full walk takes the previous run's end as an anchor: that event and its link must still be there.
The starting point is trusted only because each record is MACed with the audit key: whoever can write the
database but lacks the key cannot move it forward past a change of theirs. A record that does not hold is
shown as such, and the next run walks in full.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.audit.models import AuditVerification
from kluis.audit.rules import key_id, same, verification_mac
from kluis.config import Settings
from kluis.db import Database
from kluis.kit.clock import Clock
from kluis.kit.errors import ConfigurationError

KEEP = 1000  # recorded runs kept: six weeks of hourly runs; only the newest is ever read
WORKER, CLI = "worker", "cli"

_NEWEST = select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
_NEWEST_GOOD = (select(AuditVerification).where(AuditVerification.ok).order_by(AuditVerification.id.desc())
                .limit(10))  # forged records are skipped, up to a point: past it, a full walk without an anchor
_RECORD = insert(AuditVerification)
# Runs beyond the newest ``keep``, but for the newest that found the chain sound (a full walk's anchor).
_PRUNE = delete(AuditVerification).where(
    AuditVerification.id <= select(func.max(AuditVerification.id)).scalar_subquery() - bindparam("keep"),
    AuditVerification.id != func.coalesce(
        select(func.max(AuditVerification.id)).where(AuditVerification.ok).scalar_subquery(), 0))
_FIELDS = ("at", "by", "full", "from_seq", "through_seq", "through_mac", "checked", "ok", "broken_seq", "reason",
           "unsealed", "seconds", "full_at", "key_id")


@dataclass(frozen=True)
class Verified:
    """The newest verification, as the console and the health check show it."""

    at: datetime
    by: str
    full: bool
    from_seq: int
    through_seq: int
    checked: int
    ok: bool
    broken_seq: int | None
    reason: str
    seconds: float
    full_at: datetime
    trusted: bool | None  # its record holds under the audit key; None: no key here to check with
    stale: bool  # older than twice the interval: no worker verifies


def newest(session: Session) -> AuditVerification | None:
    return session.scalars(_NEWEST).first()


def _newest_good(session: Session, key: bytes) -> AuditVerification | None:
    """The newest run that found the chain sound and whose record holds: where an incremental run starts, and
    an anchor for a full walk (kept through runs that found a break, so a later walk cannot lose it)."""
    return next((run for run in session.scalars(_NEWEST_GOOD) if holds(run, key)), None)


def holds(run: AuditVerification, key: bytes) -> bool:
    return same(run.mac, verification_mac(key, {name: getattr(run, name) for name in _FIELDS}))


def verify_interval(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.audit_verify_minutes)


def last(session: Session, clock: Clock, settings: Settings) -> Verified | None:
    """The newest recorded verification (None: never verified). One indexed read: no walk."""
    run = newest(session)
    if run is None:
        return None
    try:
        trusted: bool | None = holds(run, audit_key(settings.audit_key))
    except ConfigurationError:  # this process has no audit key (the console needs none)
        trusted = None
    age = clock.now() - run.at
    return Verified(run.at, run.by, run.full, run.from_seq, run.through_seq, run.checked, run.ok, run.broken_seq,
                    run.reason, run.seconds, run.full_at, trusted, stale=age > 2 * verify_interval(settings))


def due(run: AuditVerification | None, key: bytes, now: datetime, every: timedelta) -> bool:
    """Whether the worker should verify now: never verified, the interval has passed, or the newest record
    cannot be believed (written without the key, or dated in the future)."""
    return run is None or not holds(run, key) or not run.at <= now < run.at + every


def run(db: Database, key: bytes, clock: Clock, *, by: str, full_every: timedelta | None = None,
        anchors: Iterable[audit_log.Anchor] = (), record: bool = True,
        timer: Callable[[], float] = time.perf_counter) -> audit_log.Verification:
    """Verify, and record the outcome in its own transaction unless ``record`` is False (an auditor with read
    access only). Incrementally when the newest record allows it and its full walk is younger than
    ``full_every`` (see the module); in full without ``full_every``."""
    now = clock.now()
    with db.sessions() as session:
        previous, good = newest(session), _newest_good(session, key)
        resume = (full_every is not None and good is not None and previous is not None and good.id == previous.id
                  and now - good.full_at < full_every)
        since = audit_log.Anchor(good.through_seq, good.through_mac) if good is not None else None
        started = timer()
        found = audit_log.verify(session, key, [*anchors, *([since] if since and not resume else [])],
                                 since=since if resume else None)
        seconds = round(timer() - started, 3)
    fields: dict[str, Any] = {
        "at": clock.now(), "by": by, "full": not resume, "from_seq": since.seq if resume and since else 0,
        "through_seq": found.head_seq, "through_mac": found.head_hash, "checked": found.checked, "ok": found.ok,
        "broken_seq": found.broken_seq, "reason": found.reason[:400], "unsealed": found.unsealed,
        "seconds": seconds, "key_id": key_id(key)}
    fields["full_at"] = good.full_at if resume and good else fields["at"]
    fields["mac"] = verification_mac(key, {name: fields[name] for name in _FIELDS})
    if record:
        with db.transaction() as session:
            session.execute(_RECORD, fields)
            session.execute(_PRUNE, {"keep": KEEP})
    return found


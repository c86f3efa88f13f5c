"""The shared lease of background jobs (``kluis.jobs``) on real tables, SQLite and PostgreSQL, with an injected clock:
claim, renew, release, take-over once a lease lapses, backoff, abandoned jobs, and one poll. Once for both shapes of
job table: the outbox (mail, R-CONS-2: a claim moves ``next_attempt_at`` and counts an attempt; access packages,
R-DSR-3, are alike) and erasure jobs (R-DSR-6: a lapsed lease is found by ``locked_until``, waits are counted)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from kluis import jobs
from kluis.erasure.models import ERASURE_JOBS, ErasureJob
from kluis.erasure.rules import JobState
from kluis.kit.ids import new_id
from kluis.mail import rules as mail_rules
from kluis.mail.models import OUTBOX_JOBS, Outbox

LEASE = timedelta(minutes=5)


def _outbox(now, **values):
    return Outbox(id=new_id(), template="account_notice", kind="administrative", staff_id=uuid.uuid4(), lang="nl",
                  context={}, state=mail_rules.QUEUED, created_at=now, **{"attempts": 0, "next_attempt_at": now,
                                                                          **values})


def _erasure(now, **values):
    return ErasureJob(id=new_id(), person_id=uuid.uuid4(), reason="staff", step="datasets", result={},
                      state=JobState.QUEUED, created_at=now, updated_at=now, **{"attempts": 0, "next_attempt_at": now,
                                                                                  **values})


KINDS = {"outbox (R-CONS-2, R-DSR-3)": (OUTBOX_JOBS, _outbox), "erasure (R-DSR-6)": (ERASURE_JOBS, _erasure)}


@pytest.fixture(params=list(KINDS))
def kind(request):
    return KINDS[request.param]


def _add(kluis, make, **values) -> uuid.UUID:
    with kluis.db.transaction() as session:
        row = make(kluis.clock.now(), **values)
        session.add(row)
        return row.id


def _claim(kluis, kind, owner, limit=10, **options) -> list[uuid.UUID]:
    with kluis.db.transaction() as session:
        return [row.id for row in jobs.claim(session, kind, kluis.clock.now(), owner, LEASE, limit=limit,
                                             **options).taken]


def _row(kluis, kind, job_id):
    with kluis.db.sessions() as session:
        return session.get(kind.model, job_id)


def test_a_claim_takes_due_jobs_first_due_first_and_holds_them_for_the_lease(kluis, clock, kind):
    """R-CONS-2 / R-DSR-3 / R-DSR-6: due jobs are taken in the order of their next attempt, up to the limit; a
    job not due yet is left; a taken job is held by its owner until the lease's end."""
    kind, make = kind
    now = clock.now()
    later = _add(kluis, make, next_attempt_at=now - timedelta(seconds=1))
    first = _add(kluis, make, next_attempt_at=now - timedelta(minutes=1))
    _add(kluis, make, next_attempt_at=now + timedelta(seconds=1))
    assert _claim(kluis, kind, "worker-a", limit=1) == [first]
    assert _claim(kluis, kind, "worker-b") == [later]
    assert _claim(kluis, kind, "worker-c") == []
    held = _row(kluis, kind, first)
    assert (held.state, held.locked_by, held.locked_until) == (kind.running, "worker-a", now + LEASE)
    assert held.attempts == (1 if kind.counts_claims else 0)


def test_a_held_job_is_taken_over_once_its_lease_lapses_and_not_before(kluis, clock, kind):
    """R-CONS-2 / R-DSR-3 / R-DSR-6: a worker that dies leaves its job held until the lease's end; from then on
    any worker takes it over, and the dead worker can no longer record an outcome."""
    kind, make = kind
    job_id = _add(kluis, make)
    assert _claim(kluis, kind, "dead") == [job_id]
    clock.advance(LEASE - timedelta(seconds=1))
    assert _claim(kluis, kind, "other") == [] and _claim(kluis, kind, "other", lapsed_only=True) == []
    clock.advance(timedelta(seconds=1))
    assert _claim(kluis, kind, "other", lapsed_only=True) == [job_id]
    with kluis.db.transaction() as session:
        assert jobs.held(session, kind, job_id, "dead") is None
        assert jobs.held(session, kind, job_id, "other").locked_until == clock.now() + LEASE


def test_renewing_keeps_a_job_and_a_renewal_by_a_worker_that_lost_it_changes_nothing(kluis, clock, kind):
    """R-DSR-6: a long job renews its lease as it goes (with its progress, in one statement); once another worker
    took it over, the old holder's renewal is refused and writes nothing."""
    kind, make = kind
    job_id = _add(kluis, make, last_error="before")
    _claim(kluis, kind, "worker-a")
    clock.advance(LEASE - timedelta(seconds=1))
    with kluis.db.one_statement() as connection:
        assert jobs.renew_held(connection, kind, job_id, "worker-a", clock.now(), LEASE, last_error="renewed")
    clock.advance(timedelta(seconds=1))
    assert _claim(kluis, kind, "worker-b") == [], "the renewed lease still runs"
    with kluis.db.transaction() as session:
        row = jobs.held(session, kind, job_id, "worker-a")
        jobs.renew(row, kind, clock.now(), LEASE)
    clock.advance(LEASE)
    assert _claim(kluis, kind, "worker-b") == [job_id]
    with kluis.db.one_statement() as connection:
        assert not jobs.renew_held(connection, kind, job_id, "worker-a", clock.now(), LEASE, last_error="late")
    row = _row(kluis, kind, job_id)
    assert (row.locked_by, row.last_error) == ("worker-b", "renewed")


def test_a_failed_attempt_waits_out_the_backoff_released(kluis, clock, kind):
    """R-CONS-2 / R-DSR-3 / R-DSR-6: after a failed attempt the job is released and waits for the kind's backoff;
    then it is due again; a released job is no longer anybody's."""
    kind, make = kind
    job_id = _add(kluis, make)
    _claim(kluis, kind, "worker-a")
    with kluis.db.transaction() as session:
        jobs.retry(jobs.held(session, kind, job_id, "worker-a"), kind, clock.now(), kind.waiting[-1],
                   random=lambda: 0.5)
    row = _row(kluis, kind, job_id)
    assert (row.state, row.locked_by, row.locked_until, row.attempts) == (kind.waiting[-1], None, None, 1)
    assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(seconds=59))
    assert _claim(kluis, kind, "worker-b") == []
    clock.advance(timedelta(seconds=1))
    assert _claim(kluis, kind, "worker-b") == [job_id]
    with kluis.db.transaction() as session:
        jobs.release(jobs.held(session, kind, job_id, "worker-b"))
    with kluis.db.transaction() as session:
        assert jobs.held(session, kind, job_id, "worker-b") is None


def test_r_cons_2_r_dsr_3_a_lapsed_job_that_used_every_attempt_is_abandoned_not_taken(kluis, clock):
    """R-CONS-2 / R-DSR-3: a job whose workers keep dying stops: once its last attempt's lease lapses, the claim
    returns it as abandoned (the kind records it as failed) instead of taking it again."""
    job_id = _add(kluis, _outbox)
    for _ in range(2):
        assert _claim(kluis, OUTBOX_JOBS, "dies", max_attempts=2) == [job_id]
        clock.advance(LEASE)
    with kluis.db.transaction() as session:
        found = jobs.claim(session, OUTBOX_JOBS, clock.now(), "worker", LEASE, limit=10, max_attempts=2)
        assert ([r.id for r in found], found.taken, [r.id for r in found.abandoned]) == ([job_id], [], [job_id])


@dataclass
class Recorder:
    """A job handler that notes what it was handed, and what the database said of it at that moment."""

    kluis: object
    kind: jobs.JobKind
    seen: list[tuple[uuid.UUID, str, str | None]] = field(default_factory=list)

    def claim(self, session, owner, limit):
        return jobs.claim(session, self.kind, self.kluis.clock.now(), owner, LEASE, limit=limit)

    def handle(self, job):
        committed = _row(self.kluis, self.kind, job.id)
        self.seen.append((job.id, committed.state, committed.locked_by))
        return str(job.id)


def test_a_poll_commits_its_claim_then_hands_each_taken_job_to_the_handler(kluis, kind):
    """R-CONS-2 / R-DSR-3 / R-DSR-6: the claim is committed before any work starts, and each job taken is handled
    once, in order, its outcome returned."""
    kind, make = kind
    ids = [_add(kluis, make) for _ in range(3)]
    handler = Recorder(kluis, kind)
    polled = jobs.poll(kluis.db, handler, "worker-a", 2)
    assert polled.outcomes == [str(i) for i in ids[:2]] and [r.id for r in polled.claim] == ids[:2]
    assert handler.seen == [(i, kind.running, "worker-a") for i in ids[:2]]
    assert len(jobs.poll(kluis.db, handler, "worker-b", 5).claim) == 1


def test_on_postgresql_two_claims_at_once_never_take_the_same_job(kluis, kind):
    """R-CONS-2 / R-DSR-3 / R-DSR-6: workers claim side by side (SKIP LOCKED): neither waits for the other, and no
    job is taken twice. (SQLite has one writer: its claims line up.)"""
    if kluis.db.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite claims one writer at a time")
    kind, make = kind
    ids = {_add(kluis, make) for _ in range(4)}
    now = kluis.clock.now()
    with kluis.db.transaction() as first:
        mine = {r.id for r in jobs.claim(first, kind, now, "worker-a", LEASE, limit=2).taken}
        with kluis.db.transaction() as second:  # would wait for the first without SKIP LOCKED
            other = {r.id for r in jobs.claim(second, kind, now, "worker-b", LEASE, limit=4).taken}
            with kluis.db.transaction() as third:
                locked = set(third.scalars(jobs.unclaimed(select(kind.model.id))))
    assert len(mine) == 2 and len(other) == 2 and mine | other == ids
    assert locked == set(), "every row is held by one of the two open claims"

"""Erasure use cases (R-DSR-6, R-VLT-5, R-RET-3).

``queue`` rides the caller's transaction. ``Runner`` carries out a job as a sequence of steps
(``kluis.erasure.steps``), each safe to repeat and each recording its progress on the job, so a job killed at any
point (kill -9) finishes when run again:

1. ``datasets``: each declared service database in one transaction of its own (R-DSR-9), its counts stored on
   the job as soon as it has committed. On PostgreSQL the first one is erased while the job's row is locked by
   the claiming transaction, which then commits the claim and those counts together.
2. ``vault``: one transaction: records a legal obligation keeps are sealed again under a fresh key,
   every other record, the identifiers and the interest profile go; the person is restricted to the
   obligation's purpose (or marked erased when nothing is kept); the person is told.
3. ``keys``: the old data key is destroyed (crypto-shredding): copies in backups become unreadable.
   The fresh key, if any, takes its place for the kept records only.
4. ``certificate``: the signed certificate of erasure; the request, if any, is done.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis import jobs as kluis_jobs  # this module has its own ``jobs`` (the list)
from kluis.audit import service as audit
from kluis.erasure import notices, partial, repository, steps
from kluis.erasure.models import ERASURE_JOBS, ErasureJob
from kluis.erasure.rules import JobState, Reason
from kluis.kit.errors import Conflict, NotFound
from kluis.kit.faults import checkpoint
from kluis.kit.ids import new_id

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.erasure")
# What the person is told, for the rights domain (the request's status page and mail).
held_back = notices.held_back
certificate_files = notices.certificate_files
own_part_erased = notices.own_part_erased


def queue(session: Session, kluis: Kluis, person_id: uuid.UUID, reason: Reason, actor: str,
          request_id: uuid.UUID | None = None, own_part_first: bool = False,
          employer_decision: str | None = None) -> ErasureJob:
    """Queue the erasure of a person in the caller's transaction. One open job per person: asking
    again returns the job already queued. ``own_part_first``: some of the person's data is held for their employer
    (R-DSR-8), and its instruction is to keep it or not given yet (``employer_decision``): benVitaal's own part is
    erased first (``kluis.erasure.partial``), and the rest as the employer says."""
    found, open_id = repository.person_and_open_job(session, person_id)
    if not found:
        raise NotFound("no such person", code="person_not_found")
    open_job = session.get(ErasureJob, open_id) if open_id is not None else None
    if open_job is not None:
        if request_id is not None and open_job.request_id is None:
            open_job.request_id = request_id
        return open_job
    if request_id is not None:
        cancelled = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).first()
        if cancelled is not None:  # the request was put on hold before; take it up again
            cancelled.state, cancelled.next_attempt_at, cancelled.updated_at = (JobState.QUEUED, kluis.clock.now(),
                                                                                kluis.clock.now())
            audit.append(session, kluis.clock, actor=actor, action="erasure.queued", object_type="erasure_job",
                         object_ids=[cancelled.id, person_id], details={"reason": cancelled.reason, "again": True})
            return cancelled
    now = kluis.clock.now()
    first, result = "datasets", {}
    if own_part_first:
        first, result = partial.FIRST_STEP, ({"employer": employer_decision} if employer_decision else {})
    job = ErasureJob(id=new_id(), person_id=person_id, request_id=request_id, reason=str(reason),
                     state=JobState.QUEUED, step=first, result=result, attempts=0, next_attempt_at=now,
                     locked_until=None, locked_by=None, last_error=None, certificate=None, created_at=now,
                     updated_at=now, finished_at=None)
    repository.insert_job(session, job)
    audit.append(session, kluis.clock, actor=actor, action="erasure.queued", object_type="erasure_job",
                 object_ids=[job.id, person_id], details={"reason": str(reason),
                                                          "request_id": str(request_id) if request_id else None})
    return job


def cancel_for_request(session: Session, kluis: Kluis, request_id: uuid.UUID, actor: str) -> bool:
    """Stop the request's job before it touches any data (the request is refused or waits on the
    person). Once a service database or the vault has been erased, there is no going back."""
    job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id).with_for_update()).first()
    if job is None or job.state == JobState.CANCELLED:
        return False
    started = (job.state == JobState.DONE or job.step not in ("datasets", partial.FIRST_STEP)
               or job.result.get("datasets") or job.result.get("controller")
               or kluis_jobs.live(job, ERASURE_JOBS, kluis.clock.now()))
    if started:
        raise Conflict("the erasure is already being carried out; it cannot be stopped", code="erasure_started")
    job.state, job.updated_at = JobState.CANCELLED, kluis.clock.now()
    kluis_jobs.release(job)
    audit.append(session, kluis.clock, actor=actor, action="erasure.cancelled", object_type="erasure_job",
                 object_ids=[job.id, job.person_id], details={"request_id": str(request_id)})
    return True


def job_of(session: Session, job_id: uuid.UUID) -> ErasureJob:
    job = session.get(ErasureJob, job_id)
    if job is None:
        raise NotFound("no such erasure job", code="erasure_job_not_found")
    return job


def jobs(session: Session, limit: int = 200, request_id: uuid.UUID | None = None) -> list[ErasureJob]:
    query = select(ErasureJob).order_by(ErasureJob.created_at.desc()).limit(limit)
    if request_id is not None:
        query = query.where(ErasureJob.request_id == request_id)
    return list(session.scalars(query))


# How a transaction of a run holds its job: claimed (the run's first), or with its lease renewed (the others).
# The job, and whether any legal hold is in force.
Hold = Callable[[Session, uuid.UUID], tuple[ErasureJob, bool]]


class Lost(Exception):
    """Another worker holds the job now (this one overran its lease)."""


class Runner:
    """Runs erasure jobs, each a sequence of steps (``kluis.erasure.steps``). Any number may run side by side: a job
    is held by one runner at a time (the shared lease, ``kluis.jobs``), and a dead runner's job is taken over once
    its lease has lapsed. As a job handler (``claim`` and ``handle``), it runs what a poll claims."""

    def __init__(self, kluis: Kluis, actor: str = "worker") -> None:
        self.kluis = kluis
        self.actor = actor
        self.owner = kluis_jobs.new_owner()
        self.lease = timedelta(seconds=kluis.settings.erasure_lease_seconds)
        # PostgreSQL: the transaction that claims the job (or renews its lease) keeps the job's row locked while
        # the first service database is erased, and commits the claim together with that database's counts.
        # The row lock is as exclusive as a committed claim: other runners skip the row (SKIP LOCKED) or wait
        # for it (a run, a cancellation), and it dies with the connection, so a killed runner's job is free at
        # once instead of after its lease. It saves one commit per job. What it cannot survive is the loss of
        # that connection (the data server restarting) while the first dataset is erased: another runner may
        # then erase that dataset alongside; the interrupted attempt's counts are lost, as they are with a
        # committed claim when the data server goes down before the counts are stored. Not on SQLite: there the
        # open transaction would hold the whole database's write lock for as long as a service database takes.
        self.erases_under_row_lock = kluis.db.dialect == "postgresql"
        self._finished: dict[uuid.UUID, ErasureJob] = {}

    # --- scheduling ---------------------------------------------------------------------------

    def run_due(self, limit: int = 20) -> int:
        """Claim and run the jobs that are due (and those whose lease lapsed); how many are done."""
        polled = kluis_jobs.poll(self.kluis.db, self, self.owner, limit)
        return sum(state == JobState.DONE for state in polled.outcomes)

    def take_over_lapsed(self, limit: int = 20) -> tuple[list[uuid.UUID], int]:
        """The operator's ``--take-over`` without a job: every job a worker held whose lease has lapsed (its
        worker is taken to be dead), claimed and run; a job whose lease still runs is left to its worker.
        The jobs taken over, and how many of them are done."""
        taken: list[uuid.UUID] = []
        done = 0
        while (polled := kluis_jobs.poll(self.kluis.db, _LapsedOnly(self), self.owner, limit)).claim:
            taken += [job.id for job in polled.claim.taken]
            done += sum(state == JobState.DONE for state in polled.outcomes)
        return taken, done

    def run(self, job_id: uuid.UUID, take_over: bool = False) -> ErasureJob:
        """Run one job now, whatever its schedule (for the CLI and tests); returns it as left. A job
        another worker holds is refused, unless the operator knows that worker is dead (``take_over``)."""
        self._finished.pop(job_id, None)
        self._run(job_id, functools.partial(self._claim_one, take_over=take_over))
        finished = self._finished.pop(job_id, None)
        if finished is not None:  # as the last transaction committed it
            return finished
        with self.kluis.db.sessions() as session:
            found = job_of(session, job_id)
            session.expunge(found)
            return found

    def claim(self, session: Session, owner: str, limit: int,
              lapsed_only: bool = False) -> kluis_jobs.Claim[ErasureJob]:
        now = self._now()
        found = kluis_jobs.claim(session, ERASURE_JOBS, now, owner, self.lease, limit=limit, lapsed_only=lapsed_only)
        for job in found.taken:
            job.updated_at = now
        return found

    def handle(self, job: ErasureJob) -> str:
        return self._run(job.id, self._ours)

    # --- one run ------------------------------------------------------------------------------

    def _run(self, job_id: uuid.UUID, hold: Hold) -> str:
        """Transactions until the job is done or waits (or another runner holds it), the first holding the job
        with ``hold``, the others with a renewed lease."""
        try:
            while (state := self._transaction(job_id, hold)) == JobState.RUNNING:
                hold = self._ours
        except Lost:
            log.warning("erasure job %s: lease lost; left to the runner holding it", job_id)
            return JobState.RUNNING
        return state

    def _transaction(self, job_id: uuid.UUID, hold: Hold) -> str:
        """One transaction of a run: the job held (claimed, or its lease renewed), its steps as far as the
        transaction takes them (``steps.advance``), the job written back; then the work that must follow the
        commit. The job's state after."""
        kluis = self.kluis
        # Changes to mapped rows (person, audit events) are written together at commit, and the job with one
        # prebuilt statement: one UPDATE per row however many steps touched it.
        with kluis.db.transaction() as session, session.no_autoflush:
            job, any_hold = hold(session, job_id)
            if job.state == JobState.DONE:
                self._finished[job_id] = job
                return JobState.DONE
            checkpoint(f"erasure.before.{job.step}")
            after = steps.advance(steps.HeldJob(self, session, job, any_hold))
            repository.save_job(session, job)
        if job.state == JobState.DONE:
            self._finished[job_id] = job
        elif job.state == JobState.WAITING:
            log.warning("erasure job %s waits: %s", job_id, job.last_error)
        elif after is not None:
            try:
                after()
            except steps.Waiting as wait:
                self._wait(job_id, str(wait))
                return JobState.WAITING
        return job.state

    # --- the lease ----------------------------------------------------------------------------

    def _claim_one(self, session: Session, job_id: uuid.UUID, take_over: bool) -> tuple[ErasureJob, bool]:
        """The job claimed by this runner, whatever its schedule; refused while another runner holds it on a live
        lease, unless the operator knows that runner is dead (``take_over``)."""
        job, any_hold = self._lock(session, job_id)
        if job.state == JobState.CANCELLED:
            raise Conflict("this erasure job was cancelled with its request", code="erasure_job_cancelled")
        if job.state == JobState.DONE:
            return job, any_hold
        if job.state == JobState.EMPLOYER:
            raise Conflict("benVitaal's own part is erased; the rest waits for the employer's instruction",
                           code="erasure_waits_for_employer")
        if kluis_jobs.live(job, ERASURE_JOBS, self._now()) and job.locked_by != self.owner and not take_over:
            raise Conflict("another worker is running this job; if it died, run it with --take-over",
                           code="erasure_job_busy")
        kluis_jobs.take(job, ERASURE_JOBS, self.owner, self._now(), self.lease)
        job.updated_at = self._now()
        return job, any_hold

    def _ours(self, session: Session, job_id: uuid.UUID) -> tuple[ErasureJob, bool]:
        """The job this runner holds, its lease renewed, and whether any legal hold is in force; ``Lost`` if
        another runner holds it now."""
        job, any_hold = self._lock(session, job_id)
        if not kluis_jobs.holds(job, ERASURE_JOBS, self.owner):
            raise Lost()
        kluis_jobs.renew(job, ERASURE_JOBS, self._now(), self.lease)
        job.updated_at = self._now()
        return job, any_hold

    def _lock(self, session: Session, job_id: uuid.UUID) -> tuple[ErasureJob, bool]:
        job, any_hold = repository.lock_job(session, job_id, self._now())
        if job is None:
            raise NotFound("no such erasure job", code="erasure_job_not_found")
        return job, any_hold

    def remember(self, job_id: uuid.UUID, result: dict[str, Any]) -> None:
        """Store the job's progress, if this runner still holds it: one statement, which renews the lease."""
        now = self._now()
        with self.kluis.db.one_statement() as connection:
            if not kluis_jobs.renew_held(connection, ERASURE_JOBS, job_id, self.owner, now, self.lease, result=result,
                                   updated_at=now):
                raise Lost()

    def wait(self, session: Session, job: ErasureJob, message: str) -> None:
        """The job cannot go on yet: it waits for its next attempt, after the backoff, with the reason."""
        job.last_error = message[:2000]
        kluis_jobs.retry(job, ERASURE_JOBS, self._now(), JobState.WAITING)
        audit.append(session, self.kluis.clock, actor=self.actor, action="erasure.waiting",
                     object_type="erasure_job", object_ids=[job.id, job.person_id],
                     details={"step": job.step, "attempts": job.attempts,
                              "datasets_done": sorted(job.result.get("datasets", {}))})

    def _wait(self, job_id: uuid.UUID, message: str) -> None:
        with self.kluis.db.transaction() as session:
            job, _ = self._ours(session, job_id)
            self.wait(session, job, message)
            repository.save_job(session, job)
        log.warning("erasure job %s waits: %s", job_id, message)

    def _now(self) -> datetime:
        return self.kluis.clock.now()


@dataclass(frozen=True)
class _LapsedOnly:
    """The runner as a job handler that claims only jobs whose lease has lapsed."""

    runner: Runner

    def claim(self, session: Session, owner: str, limit: int) -> kluis_jobs.Claim[ErasureJob]:
        return self.runner.claim(session, owner, limit, lapsed_only=True)

    def handle(self, job: ErasureJob) -> str:
        return self.runner.handle(job)

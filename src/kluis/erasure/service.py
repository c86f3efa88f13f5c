"""Erasure use cases (R-DSR-6, R-VLT-5, R-RET-3).

``queue`` rides the caller's transaction. ``Runner`` executes a job as a series of steps, each in its
own transaction and each safe to repeat, so a job killed at any point (kill -9) finishes when run again:

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

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.datasets.errors import DatasetUnavailable
from kluis.erasure import certificate, notices, repository, rules, vault_step
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState, Reason
from kluis.kit.errors import ConfigurationError, Conflict, NotFound
from kluis.kit.faults import checkpoint
from kluis.kit.ids import new_id
from kluis.policy.render import fill
from kluis.retention import holds as retention_holds
from kluis.vault.crypto import open_sealed

if TYPE_CHECKING:
    from kluis.wiring import Kluis

log = logging.getLogger("kluis.erasure")
# What the person is told, for the rights domain (the request's status page and mail).
held_back = notices.held_back
certificate_files = notices.certificate_files


def queue(session: Session, kluis: Kluis, person_id: uuid.UUID, reason: Reason, actor: str,
          request_id: uuid.UUID | None = None) -> ErasureJob:
    """Queue the erasure of a person in the caller's transaction. One open job per person: asking
    again returns the job already queued."""
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
    job = ErasureJob(id=new_id(), person_id=person_id, request_id=request_id, reason=str(reason),
                     state=JobState.QUEUED, step="datasets", result={}, attempts=0, next_attempt_at=now,
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
    started = job.state == JobState.DONE or job.step != "datasets" or job.result.get("datasets") or (
        job.state == JobState.RUNNING and job.locked_until is not None and job.locked_until > kluis.clock.now())
    if started:
        raise Conflict("the erasure is already being carried out; it cannot be stopped", code="erasure_started")
    job.state, job.updated_at, job.locked_by, job.locked_until = JobState.CANCELLED, kluis.clock.now(), None, None
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


class Lost(Exception):
    """Another worker holds the job now (this one overran its lease)."""


class Runner:
    """Runs erasure jobs. Any number may run side by side: a job is held by one runner at a time
    (a lease, taken with SKIP LOCKED on PostgreSQL), and a dead runner's job is taken over after it."""

    def __init__(self, kluis: Kluis, actor: str = "worker") -> None:
        self.kluis = kluis
        self.actor = actor
        self.owner = secrets.token_hex(8)
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
        self._row_lock_holds = kluis.db.dialect == "postgresql"
        self._finished: dict[uuid.UUID, ErasureJob] = {}

    # --- scheduling ---------------------------------------------------------------------------

    def run_due(self, limit: int = 20) -> int:
        done = 0
        for job_id in self._claim(limit):
            if self._run_claimed(job_id) == JobState.DONE:
                done += 1
        return done

    def take_over_lapsed(self, limit: int = 20) -> tuple[list[uuid.UUID], int]:
        """The operator's ``--take-over`` without a job: every job a worker held whose lease has lapsed (its
        worker is taken to be dead), claimed and run; a job whose lease still runs is left to its worker.
        The jobs taken over, and how many of them are done."""
        taken: list[uuid.UUID] = []
        done = 0
        while batch := self._claim(limit, lapsed_only=True):
            taken += batch
            done += sum(self._run_claimed(job_id) == JobState.DONE for job_id in batch)
        return taken, done

    def run(self, job_id: uuid.UUID, take_over: bool = False) -> ErasureJob:
        """Run one job now, whatever its schedule (for the CLI and tests); returns it as left. A job
        another worker holds is refused, unless the operator knows that worker is dead (``take_over``)."""
        self._finished.pop(job_id, None)
        self._run_claimed(job_id, claim=True, take_over=take_over)
        finished = self._finished.pop(job_id, None)
        if finished is not None:  # as the last transaction committed it
            return finished
        with self.kluis.db.sessions() as session:
            found = job_of(session, job_id)
            session.expunge(found)
            return found

    def _claim(self, limit: int, lapsed_only: bool = False) -> list[uuid.UUID]:
        now = self._now()
        lapsed = (ErasureJob.state == JobState.RUNNING) & (ErasureJob.locked_until < now)
        due = ErasureJob.state.in_((JobState.QUEUED, JobState.WAITING)) & (ErasureJob.next_attempt_at <= now)
        with self.kluis.db.transaction() as session:
            query = (select(ErasureJob).where(lapsed if lapsed_only else or_(due, lapsed))
                     .order_by(ErasureJob.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
            found = list(session.scalars(query))
            for job in found:
                self._hold(job)
            return [job.id for job in found]

    def _hold(self, job: ErasureJob) -> None:
        now = self._now()
        job.state, job.locked_by, job.locked_until, job.updated_at = JobState.RUNNING, self.owner, now + self.lease, now

    def _run_claimed(self, job_id: uuid.UUID, claim: bool = False, take_over: bool = False) -> str:
        """Steps until done or waiting. Steps that touch only the data database share one transaction
        (with the key store in the same database, vault + keys + certificate commit together); the
        datasets and a separate key store get transactions of their own, in order."""
        try:
            while True:
                state = self._transaction(job_id, claim, take_over)
                claim = False
                if state != JobState.RUNNING:
                    return state
        except Lost:
            log.warning("erasure job %s: lease lost; left to the runner holding it", job_id)
            return JobState.RUNNING

    def _transaction(self, job_id: uuid.UUID, claim: bool, take_over: bool) -> str:
        kluis = self.kluis
        shared_keys = kluis.db.key_engine is kluis.db.engine
        signing_key, unsigned = self._signing_key()
        identities: list[tuple[str, str | None, str]] = []
        waiting: str | None = None
        # Changes to mapped rows (job, person, audit events) are written together at commit: one UPDATE per
        # row however many steps touched it.
        with kluis.db.transaction() as session, session.no_autoflush:
            job, any_hold = self._claim_one(session, job_id, take_over) if claim else self._ours(session, job_id)
            if job.state == JobState.DONE:
                self._finished[job_id] = job
                return JobState.DONE
            checkpoint(f"erasure.before.{job.step}")
            holds = (retention_holds.held_if_any(session, kluis.clock, job.person_id, any_hold)
                     if job.step in ("datasets", "vault") else [])
            whole = self._whole_hold(holds)  # only before anything is erased
            if whole is not None:
                notices.tell_held(session, kluis, self.actor, job, [h for h in holds
                                                                   if rules.whole_person_hold(h.scope)])
            remaining = [d for d in kluis.datasets().ids() if d not in job.result.get("datasets", {})]
            if whole is None and job.step == "datasets" and not remaining:
                job.step = "vault"  # every dataset done (or none declared)
            if whole is None and job.step == "datasets":
                identities = self._identities(session, job.person_id)  # read once, under the lease
                if remaining and self._row_lock_holds:
                    try:
                        job.result = self._erase_dataset(remaining[0], identities, job.result)
                        remaining = remaining[1:]
                    except Waiting as wait:  # the claim is given up with the waiting state, in this commit
                        waiting = str(wait)
                        self._set_waiting(session, job, waiting)
            if whole is None and job.step == "vault":
                self._vault(session, job, holds)
            if job.step == "keys" and shared_keys:
                self._keys(session, job)
            if job.step == "certificate" and signing_key is not None:
                self._certificate(session, job, signing_key)
                self._finished[job_id] = job
            repository.save_job(session, job)
            if job.state == JobState.DONE:
                return JobState.DONE
            step = "held" if whole is not None else job.step
            result = dict(job.result)
        if waiting is not None:
            log.warning("erasure job %s waits: %s", job_id, waiting)
            return JobState.WAITING
        try:
            if step == "held":
                raise Waiting(whole or "")
            if step == "datasets":
                self._datasets(job_id, remaining, identities, result)
            elif step == "keys":  # a key store of its own: its transaction comes after the vault's commit
                with kluis.db.transaction() as session:
                    job, _ = self._ours(session, job_id)
                    self._keys(session, job)
                    repository.save_job(session, job)
            elif step == "certificate":
                raise Waiting(unsigned)
        except Waiting as wait:
            self._wait(job_id, str(wait))
            return JobState.WAITING
        return JobState.RUNNING

    def _claim_one(self, session: Session, job_id: uuid.UUID, take_over: bool) -> tuple[ErasureJob, bool]:
        job, any_hold = self._lock(session, job_id)
        if job.state == JobState.CANCELLED:
            raise Conflict("this erasure job was cancelled with its request", code="erasure_job_cancelled")
        if job.state == JobState.DONE:
            return job, any_hold
        if (job.state == JobState.RUNNING and job.locked_by != self.owner and job.locked_until
                and job.locked_until > self._now() and not take_over):
            raise Conflict("another worker is running this job; if it died, run it with --take-over",
                           code="erasure_job_busy")
        self._hold(job)
        return job, any_hold

    # --- steps --------------------------------------------------------------------------------

    def _datasets(self, job_id: uuid.UUID, remaining: list[str], identities: list[tuple[str, str | None, str]],
                  result: dict[str, Any]) -> None:
        """R-DSR-9: each declared dataset in one transaction of its own, remembered once done (so a resumed
        job's certificate still counts what this attempt erased). The audit events follow with the vault's
        transaction, from what is remembered here."""
        for dataset_id in remaining:
            result = self._erase_dataset(dataset_id, identities, result)
            self._remember(job_id, result)

    def _erase_dataset(self, dataset_id: str, identities: list[tuple[str, str | None, str]],
                       result: dict[str, Any]) -> dict[str, Any]:
        """One dataset erased and committed on its own database; the job's result with its counts, for the
        caller to store."""
        if identities:
            try:
                outcome = self.kluis.datasets().erase(dataset_id, identities)
            except DatasetUnavailable as exc:  # down or misconfigured: the job waits and tries again
                raise Waiting(exc.message) from exc
            tables = [{"dataset": dataset_id, "table": t.table, "strategy": str(t.strategy), "rows": t.rows,
                       **({"kept_reason": fill(self.kluis.policy, t.kept_reason.en, "en")} if t.kept_reason else {})}
                      for t in outcome.tables]
        else:
            tables = []
        checkpoint("erasure.dataset.erased")
        return {**result, "datasets": {**result.get("datasets", {}), dataset_id: tables}}

    def _remember(self, job_id: uuid.UUID, result: dict[str, Any]) -> None:
        """Store the job's progress, if this runner still holds it: one statement."""
        now = self._now()
        with self.kluis.db.one_statement() as connection:
            if not repository.remember(connection, job_id, self.owner, result, now + self.lease, now):
                raise Lost()

    def _vault(self, session: Session, job: ErasureJob, holds: list[Any]) -> None:
        vault_step.erase(session, self.kluis, self.actor, job, holds, self._now())

    def _keys(self, session: Session, job: ErasureJob) -> None:
        """Crypto-shredding (R-VLT-5). Safe to repeat: the fresh key's row exists until it has taken
        the old key's place, and destroying a key that is gone destroys nothing."""
        kluis = self.kluis
        vault = job.result.get("vault", {})
        if vault.get("kept_records"):
            replaced = kluis.keystore.adopt(session, job.person_id, job.id)
            action, details = "erasure.key_replaced", {"replaced": replaced}
        else:
            destroyed = kluis.keystore.destroy(session, [job.person_id, job.id])
            action, details = "person.keys_destroyed", {"reason": "erasure", "keys_destroyed": destroyed}
        checkpoint("erasure.keys.done")
        job.step = "certificate"
        audit.append(session, kluis.clock, actor=self.actor, action=action, object_type="person",
                     object_ids=[job.person_id, job.id], details=details)

    def _signing_key(self) -> tuple[Any, str]:
        """The certificate key, or None and the reason there is none."""
        try:
            configured = self.kluis.settings.certificate_key
            return certificate.private_key(configured.get_secret_value() if configured else None), ""
        except ConfigurationError as exc:
            return None, exc.message

    def _certificate(self, session: Session, job: ErasureJob, key: Any) -> None:
        kluis = self.kluis
        now = self._now()
        document = certificate.document(job, kluis.policy, kluis.policy_version, now)
        job.certificate = certificate.sign(document, key)
        job.step, job.state, job.finished_at, job.updated_at = "done", JobState.DONE, now, now
        job.locked_by = job.locked_until = None
        job.last_error = None
        audit.append(session, kluis.clock, actor=self.actor, action="erasure.certified",
                     object_type="erasure_job", object_ids=[job.id, job.person_id],
                     details={"certificate_id": document["certificate_id"],
                              "records_erased": sum(job.result.get("vault", {}).get("erased", {}).values())})
        notices.release_person_notice(session, kluis, job)
        if job.request_id is not None:
            from kluis.rights.service import Rights
            Rights(session, kluis, self.actor).complete_erasure(job.request_id)

    # --- helpers ------------------------------------------------------------------------------

    def _identities(self, session: Session, person_id: uuid.UUID) -> list[tuple[str, str | None, str]]:
        """The person's identifiers in the clear (kind, scope, value), for the service databases' lookups; none
        when their key is gone."""
        keystore = self.kluis.keystore
        if keystore.shared:
            rows = repository.key_and_identities(session, person_id)
            if not rows:
                return []
            key = keystore.read_with_data(session, person_id, rows[0].wrapped, rows[0].kek_id)
            found = [row for row in rows if row.id is not None]
        else:
            keys = keystore.data_keys(session, [person_id])
            if person_id not in keys:
                return []
            key, found = keys[person_id], repository.identities(session, person_id)
        return [(ident.kind, ident.scope, open_sealed(key, person_id, ident.id, f"identifier:{ident.kind}",
                                                      ident.ciphertext).decode()) for ident in found]

    @staticmethod
    def _whole_hold(held: list[Any]) -> str | None:
        """R-RET-3: a legal hold on the person or their employer stops the erasure for as long as it holds."""
        holds = [h for h in held if rules.whole_person_hold(h.scope)]
        if not holds:
            return None
        hold = holds[0]
        until = f" until {rules.as_amsterdam_date(hold.until)}" if hold.until else " until it is released"
        return (f"a legal hold ({hold.reason}{', ' + hold.reference if hold.reference else ''}) covers this "
                f"person's data{until}: nothing is erased while it holds")

    def _ours(self, session: Session, job_id: uuid.UUID) -> tuple[ErasureJob, bool]:
        """The job this runner holds, its lease renewed, and whether any legal hold is in force; ``Lost`` if
        another runner holds it now."""
        job, any_hold = self._lock(session, job_id)
        if job.locked_by != self.owner or job.state != JobState.RUNNING:
            raise Lost()
        job.locked_until, job.updated_at = self._now() + self.lease, self._now()
        return job, any_hold

    def _lock(self, session: Session, job_id: uuid.UUID) -> tuple[ErasureJob, bool]:
        job, any_hold = repository.lock_job(session, job_id, self._now())
        if job is None:
            raise NotFound("no such erasure job", code="erasure_job_not_found")
        return job, any_hold

    def _wait(self, job_id: uuid.UUID, message: str) -> None:
        with self.kluis.db.transaction() as session:
            job, _ = self._ours(session, job_id)
            self._set_waiting(session, job, message)
            repository.save_job(session, job)
        log.warning("erasure job %s waits: %s", job_id, message)

    def _set_waiting(self, session: Session, job: ErasureJob, message: str) -> None:
        job.attempts += 1
        job.state, job.last_error = JobState.WAITING, message[:2000]
        job.next_attempt_at = self._now() + timedelta(seconds=rules.retry_after_seconds(job.attempts))
        job.locked_by = job.locked_until = None
        audit.append(session, self.kluis.clock, actor=self.actor, action="erasure.waiting",
                     object_type="erasure_job", object_ids=[job.id, job.person_id],
                     details={"step": job.step, "attempts": job.attempts,
                              "datasets_done": sorted(job.result.get("datasets", {}))})

    def _now(self) -> datetime:
        return self.kluis.clock.now()


class Waiting(Exception):
    """A step cannot run yet; the job waits and is tried again later, with the reason shown to staff."""

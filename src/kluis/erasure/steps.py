"""The steps of an erasure, in order: datasets -> vault -> keys -> certificate (R-DSR-6, R-DSR-9, R-VLT-5, R-RET-3).

Each step works on the job as one transaction of a run holds it (its row locked, its lease renewed) and records how
far it got on the job itself (``step``, ``result``), so each is safe to repeat: a run killed anywhere resumes at the
step the job names. Steps follow one another in the transaction until one of them

- cannot run yet: it raises ``Waiting``, and the job waits, in the same transaction, for its next attempt;
- has work that must follow the commit (each service database in a transaction of its own): it returns that work;
- needs a transaction to itself (the keys, when the key store is a database of its own): it runs as the only step
  of the next transaction.
"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.datasets.errors import DatasetUnavailable
from kluis.erasure import certificate, notices, partial, repository, vault_step
from kluis.erasure.events import ErasureCertified
from kluis.erasure.held import AfterCommit, HeldJob, Identities, Runner, Waiting
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.kit import events
from kluis.kit.errors import ConfigurationError
from kluis.kit.faults import checkpoint
from kluis.policy.render import fill
from kluis.vault.crypto import open_sealed

if TYPE_CHECKING:
    from kluis.wiring import Kluis

class Step(Protocol):
    def alone(self, kluis: Kluis) -> bool:
        """Whether the step needs a transaction to itself."""
        ...

    def run(self, held: HeldJob) -> AfterCommit | None:
        """Do the step's part in the transaction, moving ``job.step`` on once the step is done; the work that must
        follow the commit, if any."""
        ...


def advance(held: HeldJob) -> AfterCommit | None:
    """The job's steps, from the one it names, as far as this transaction takes them; the work that must follow
    its commit, if any."""
    kluis, job = held.kluis, held.job
    step = STEPS[job.step]
    try:
        while (after := step.run(held)) is None and job.state == JobState.RUNNING:
            following = STEPS[job.step]
            if step.alone(kluis) or following.alone(kluis):
                return None
            step = following
    except Waiting as wait:  # the claim is given up with the waiting state, in this transaction
        held.runner.wait(held.session, job, str(wait))
        return None
    return after


class Datasets:
    """R-DSR-9: each declared service database erased in a transaction of its own, and its counts stored on the job
    as soon as it has committed, so a resumed job's certificate still counts what an earlier attempt erased. The
    audit events follow with the vault's transaction, from what is stored. On PostgreSQL the first database is
    erased while this transaction holds the job's row (see ``Runner``), and its counts commit with it."""

    def alone(self, kluis: Kluis) -> bool:
        return False

    def run(self, held: HeldJob) -> AfterCommit | None:
        held.unless_held()
        kluis, job = held.kluis, held.job
        remaining = [d for d in kluis.datasets().ids() if d not in job.result.get("datasets", {})]
        if not remaining:
            job.step = "vault"
            return None
        identities = _identities(held.session, kluis, job.person_id)  # read once, under the lease
        if held.runner.erases_under_row_lock:
            job.result = _erase_dataset(kluis, remaining[0], identities, job.result)
            remaining = remaining[1:]
        return functools.partial(_erase_rest, held.runner, job.id, remaining, identities, dict(job.result))


class Vault:
    """The vault, in one transaction (``vault_step``), unless a legal hold came in since the datasets."""

    def alone(self, kluis: Kluis) -> bool:
        return False

    def run(self, held: HeldJob) -> AfterCommit | None:
        held.unless_held()
        vault_step.erase(held.session, held.kluis, held.runner.actor, held.job, held.holds(), held.kluis.clock.now())
        return None


class Keys:
    """Crypto-shredding (R-VLT-5). Safe to repeat: the fresh key's row exists until it has taken the old key's
    place, and destroying a key that is gone destroys nothing. A key store of its own commits apart, after the
    vault's transaction."""

    def alone(self, kluis: Kluis) -> bool:
        return not kluis.keystore.shared

    def run(self, held: HeldJob) -> AfterCommit | None:
        kluis, job = held.kluis, held.job
        details: dict[str, Any]
        if job.result.get("vault", {}).get("kept_records"):
            replaced = kluis.keystore.adopt(held.session, job.person_id, job.id)
            action, details = "erasure.key_replaced", {"replaced": replaced}
        else:
            destroyed = kluis.keystore.destroy(held.session, [job.person_id, job.id], reason="erasure", job_id=job.id)
            action, details = "person.keys_destroyed", {"reason": "erasure", "keys_destroyed": destroyed}
        checkpoint("erasure.keys.done")
        job.step = "certificate"
        audit.append(held.session, kluis.clock, actor=held.runner.actor, action=action, object_type="person",
                     object_ids=[job.person_id, job.id], details=details)
        return None


class Certificate:
    """The signed certificate of erasure; the person's last notice, held for it, may go; the request is done.
    Without a certificate key the job waits for one."""

    def alone(self, kluis: Kluis) -> bool:
        return False

    def run(self, held: HeldJob) -> AfterCommit | None:
        kluis, job, session = held.kluis, held.job, held.session
        key = _signing_key(kluis)
        now = kluis.clock.now()
        document = certificate.document(job, kluis.policy, kluis.policy_version, now)
        job.certificate = certificate.sign(document, key)
        job.step, job.state, job.finished_at, job.updated_at, job.last_error = "done", JobState.DONE, now, now, None
        jobs.release(job)
        audit.append(session, kluis.clock, actor=held.runner.actor, action="erasure.certified",
                     object_type="erasure_job", object_ids=[job.id, job.person_id],
                     details={"certificate_id": document["certificate_id"],
                              "records_erased": sum(certificate.erased_counts(job.result).values())})
        notices.release_person_notice(session, kluis, job)
        _request_done(session, kluis, held.runner.actor, job)
        return None


# R-DSR-8: a job for a request on data partly held for an employer starts with benVitaal's own part (``partial``).
STEPS: dict[str, Step] = {partial.FIRST_STEP: partial.ControllerPart(),
                          "datasets": Datasets(), "vault": Vault(), "keys": Keys(), "certificate": Certificate()}


def _request_done(session: Session, kluis: Kluis, actor: str, job: ErasureJob) -> None:
    """Told to whoever reacts (the request the erasure was for, if any, is done), in this step's transaction."""
    events.publish(session, ErasureCertified(kluis, actor, job.id, job.person_id, job.request_id))


def _erase_rest(runner: Runner, job_id: uuid.UUID, remaining: list[str], identities: Identities,
                result: dict[str, Any]) -> None:
    """After the commit: the other service databases, each stored on the job once done."""
    for dataset_id in remaining:
        result = _erase_dataset(runner.kluis, dataset_id, identities, result)
        runner.remember(job_id, result)


def _erase_dataset(kluis: Kluis, dataset_id: str, identities: Identities, result: dict[str, Any]) -> dict[str, Any]:
    """One dataset erased and committed on its own database; the job's result with its counts, for the caller to
    store."""
    if identities:
        try:
            outcome = kluis.datasets().erase(dataset_id, identities)
        except DatasetUnavailable as exc:  # down or misconfigured: the job waits and tries again
            raise Waiting(exc.message) from exc
        tables = [{"dataset": dataset_id, "table": t.table, "strategy": str(t.strategy), "rows": t.rows,
                   **({"kept_reason": fill(kluis.policy, t.kept_reason.en, "en")} if t.kept_reason else {})}
                  for t in outcome.tables]
    else:
        tables = []
    checkpoint("erasure.dataset.erased")
    return {**result, "datasets": {**result.get("datasets", {}), dataset_id: tables}}


def _identities(session: Session, kluis: Kluis, person_id: uuid.UUID) -> Identities:
    """The person's identifiers in the clear, for the service databases' lookups; none when their key is gone."""
    keystore = kluis.keystore
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


def _signing_key(kluis: Kluis) -> Any:
    """The certificate key; ``Waiting`` with the reason when there is none."""
    try:
        configured = kluis.settings.certificate_key
        return certificate.private_key(configured.get_secret_value() if configured else None)
    except ConfigurationError as exc:
        raise Waiting(exc.message) from exc

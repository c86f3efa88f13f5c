"""benVitaal's own part of an erasure that also covers data held for an employer (R-DSR-8, R-DSR-6, R-RET-3).

For the records benVitaal holds as processor the employer is the controller: they wait for its instruction. The
records for which benVitaal is the controller are erased at once, by the job's first step, ``controller``, in one
transaction of the data database (a run killed in it leaves nothing changed, and the step runs again): each of those
records goes unless a legal obligation or a legal hold keeps it, exactly as in the full erasure (``vault_step``);
what is kept stays readable under the person's key, which stays, since the employer's records, the identifiers and
the key are still needed. The person is told what was erased and that the employer's part is with the employer; the
recipients of an erased category are told (Art. 19). The job then waits in state ``employer``.

The employer's instruction (``decided``) settles the rest: to erase, the job runs on as a full erasure (datasets,
vault, keys, certificate), which erases the employer's records and, with nothing else of the person left, the
identifiers and the key; to keep, the job is done and the request closes with benVitaal's part erased. An
instruction that comes before the first step has run is stored on the job, and the step goes on accordingly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.disclosures.notices import Cause, tell_parties
from kluis.erasure import rules
from kluis.erasure.events import ControllerPartErased, ErasureCertified
from kluis.erasure.held import AfterCommit, HeldJob
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.kit import events
from kluis.kit.errors import Conflict
from kluis.kit.faults import checkpoint
from kluis.kit.i18n import N_
from kluis.vault.models import Person, Record

if TYPE_CHECKING:
    from kluis.wiring import Kluis

FIRST_STEP = "controller"
PARKED_STEP = "employer"  # the job waits for the employer's instruction; no step runs
ERASE, KEEP = "erase", "keep"
DECISIONS = (ERASE, KEEP)
BATCH = 1000


class ControllerPart:
    """The step ``controller`` (see the module's text)."""

    def alone(self, kluis: Kluis) -> bool:
        return False

    def run(self, held: HeldJob) -> AfterCommit | None:
        held.unless_held()
        session, kluis, job = held.session, held.kluis, held.job
        if "controller" not in job.result:  # a run killed before the commit left nothing: erase now
            erase_own(session, kluis, held.runner.actor, job, held.holds(), kluis.clock.now())
        decision = job.result.get("employer")
        if decision == ERASE:
            job.step = "datasets"  # the rest goes too: on as a full erasure, in this run
        elif decision == KEEP:
            _finish_kept(session, kluis, held.runner.actor, job)
        else:
            job.step, job.state = PARKED_STEP, JobState.EMPLOYER
            jobs.release(job)
        return None


def erase_own(session: Session, kluis: Kluis, actor: str, job: ErasureJob, holds: list[Any], now: datetime) -> None:
    """Erase the person's records that benVitaal is the controller of, but those a legal obligation or a legal hold
    keeps; the person and the recipients told. In the caller's transaction; the outcome on ``job.result``."""
    today = rules.as_amsterdam_date(now)
    assert today is not None
    # The person's row locked: no record of theirs is added or re-filed meanwhile.
    session.execute(select(Person.id).where(Person.id == job.person_id).with_for_update()).first()
    keeping = rules.keeping_rules(kluis.policy)
    held_categories = {h.category: h for h in holds if h.scope == "category"}
    erased: Counter[str] = Counter()
    kept: Counter[tuple[str, str, str | None]] = Counter()
    last: uuid.UUID | None = None
    while True:
        query = (select(Record.id, Record.category, Record.purposes, Record.due_at, Record.rule_id)
                 .where(Record.person_id == job.person_id, Record.controller != "employer")
                 .order_by(Record.id).limit(BATCH))
        page = session.execute(query if last is None else query.where(Record.id > last)).all()
        doomed = []
        for row in page:
            hold = held_categories.get(row.category)
            keep = (rules.Keep(rules.HOLD_RULE, rules.as_amsterdam_date(hold.until), "legal_hold") if hold
                    else rules.keep_of(keeping, row.category, row.purposes, rules.as_amsterdam_date(row.due_at),
                                       today, row.rule_id))
            if keep is None:
                doomed.append(row.id)
                erased[row.category] += 1
            else:
                kept[(row.category, keep.rule_id, rules.iso(keep.until))] += 1
        if doomed:
            session.execute(delete(Record).where(Record.person_id == job.person_id, Record.id.in_(doomed)),
                            execution_options={"synchronize_session": False})
        if len(page) < BATCH:
            break
        last = page[-1].id
        checkpoint("erasure.controller.batch")
    told = tell_parties(session, kluis.clock, kluis.policy, actor, job.person_id, sorted(erased),
                        Cause("erasure", job.id))
    job.result = {**job.result, "controller": {
        "erased": dict(sorted(erased.items())), "kept_records": sum(kept.values()),
        "kept": [{"category": c, "rule": r, "until": u, "records": n}
                 for (c, r, u), n in sorted(kept.items(), key=lambda i: (i[0][0], i[0][1], i[0][2] or ""))],
        "told": sorted(told, key=lambda party: party["party"]), "at": now.isoformat()}}
    audit.append(session, kluis.clock, actor=actor, action="erasure.controller_part_erased",
                 object_type="erasure_job", object_ids=[job.id, job.person_id],
                 details={"records_erased": sum(erased.values()), "records_kept": sum(kept.values()),
                          "categories_erased": sorted(erased)})
    if job.request_id is not None:
        events.publish(session, ControllerPartErased(kluis, actor, job.id, job.person_id, job.request_id))
    checkpoint("erasure.controller.before_commit")


def _finish_kept(session: Session, kluis: Kluis, actor: str, job: ErasureJob) -> None:
    """The employer keeps its records: the job is done with benVitaal's part erased (no key is destroyed, so no
    certificate of erasure is signed); its request closes."""
    now = kluis.clock.now()
    job.step, job.state, job.finished_at, job.updated_at, job.last_error = "done", JobState.DONE, now, now, None
    jobs.release(job)
    audit.append(session, kluis.clock, actor=actor, action="erasure.employer_part_kept", object_type="erasure_job",
                 object_ids=[job.id, job.person_id], details={"request_id": str(job.request_id)})
    if job.request_id is not None:  # the request is done, as after a certified erasure
        events.publish(session, ErasureCertified(kluis, actor, job.id, job.person_id, job.request_id))


def decided(session: Session, kluis: Kluis, request_id: uuid.UUID, decision: str, actor: str) -> ErasureJob | None:
    """The employer's instruction on the request's erasure job, its row locked: stored for a first step still to
    run; a parked job runs on (``erase``) or is done (``keep``). None when the request has no job yet (``start``
    queues it knowing the instruction)."""
    job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id).with_for_update()).first()
    if job is None or job.state == JobState.CANCELLED:
        return None
    if job.state == JobState.DONE or (job.step != FIRST_STEP and job.state != JobState.EMPLOYER):
        raise Conflict(N_("this erasure is already under way; the instruction cannot change it"),
                       code="erasure_started")
    job.result = {**job.result, "employer": decision}
    job.updated_at = now = kluis.clock.now()
    if job.state == JobState.EMPLOYER:
        if decision == ERASE:
            job.step, job.state, job.next_attempt_at = "datasets", JobState.QUEUED, now
        else:
            _finish_kept(session, kluis, actor, job)
    audit.append(session, kluis.clock, actor=actor, action="erasure.employer_decided", object_type="erasure_job",
                 object_ids=[job.id, job.person_id], details={"decision": decision})
    return job


@dataclass(frozen=True)
class Parts:
    """The two parts of an erasure request on data partly held for an employer, as staff and the API see them."""

    own: str  # pending | erased
    own_erased: int  # records erased by benVitaal's own part
    own_kept: int  # records of benVitaal's own part a legal obligation or hold keeps
    employer: str  # waiting (for the instruction) | erasing | erased | kept


def parts_of(session: Session, request_id: uuid.UUID) -> Parts | None:
    """The parts of the request's erasure; None when its job erases the person whole in one go (or there is none)."""
    job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).first()
    if job is None or not ("controller" in job.result or job.step == FIRST_STEP):
        return None
    own = job.result.get("controller")
    decision = job.result.get("employer")
    employer = {None: "waiting", KEEP: "kept"}.get(decision, "erased" if job.state == JobState.DONE else "erasing")
    return Parts("erased" if own else "pending", sum((own or {}).get("erased", {}).values()),
                 int((own or {}).get("kept_records", 0)), employer)

"""Issue 17 §1, R-DSR-8 / R-DSR-6: benVitaal's own part of an erasure, killed with SIGKILL at any point, finishes the
same when run again: its records are erased all or not at all, the employer's records and the person's key and
identifiers are untouched, and it is audited and told once. A real `kluis erasure run` process kills itself at its
N-th checkpoint (KLUIS_FAULT_KILL_AT), for every N until a run gets through; then the employer's instruction to
erase, killed the same way, finishes the whole erasure."""

from __future__ import annotations

import signal

from sqlalchemy import select
from tests.helpers import sealed_log
from tests.integration.erasure.erasure_support import identifier_count, person_with_everything, readable, records_of
from tests.integration.erasure.test_erasure_crash import _env
from tests.processes import run_kluis

from kluis.audit.models import AuditEvent
from kluis.erasure import certificate, partial
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.mail.models import Outbox
from kluis.rights.service import Rights

WAITS_FOR_EMPLOYER = 3  # `kluis erasure run` exits 3 when the job is not done: here it waits for the employer
REFUSED = 1  # a job that already waits for the employer is not run (erasure_waits_for_employer)


def _run(settings, cwd, job_id, kill_at):
    env = _env(settings)
    if kill_at is not None:
        env["KLUIS_FAULT_KILL_AT"] = str(kill_at)
    done = run_kluis(["erasure", "run", str(job_id), "--take-over"], env, cwd)
    assert done.returncode in (0, WAITS_FOR_EMPLOYER, -signal.SIGKILL) or (
        done.returncode == REFUSED and "erasure_waits_for_employer" in done.output), done.output
    return done.returncode


def _job(kluis, job_id):
    with kluis.db.sessions() as session:
        job = session.get(ErasureJob, job_id)
        session.expunge(job)
        return job


def _count(kluis, action):
    with kluis.db.sessions() as session:
        return len(list(session.scalars(select(AuditEvent.seq).where(AuditEvent.action == action))))


def test_own_part_killed_at_every_checkpoint_finishes_the_same_r_dsr_8(kluis, settings, tmp_path):
    """R-DSR-8: kill -9 at each point of the own part, run again: the end state equals an uninterrupted run's; and
    so for the rest after the employer's instruction to erase."""
    posts = partial.BATCH + 5  # two pages inside the step's transaction
    victim, _ = person_with_everything(kluis, extra=posts)
    witness, _ = person_with_everything(kluis, email="getuige@example.nl", phone="06 11223344")
    witness_before = readable(kluis, witness)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        request_id = rights.receive_from_account(victim, "erasure", "nl").request.id
        rights.start(request_id)
    with kluis.db.sessions() as session:
        job_id = session.scalars(select(ErasureJob.id).where(ErasureJob.request_id == request_id)).one()
    kills = 0
    for kill_at in range(1, 30):
        code = _run(settings, tmp_path, job_id, kill_at)
        left = sorted(r.category for r in records_of(kluis, victim))
        # All of the own part or none of it: never some of the posts.
        whole = sorted(["basic", "interests", "financial", *["content"] * posts])
        assert left in (whole, ["financial"]), (kill_at, left)
        if code != -signal.SIGKILL:
            break
        kills += 1
    else:
        raise AssertionError("the own part never finished")
    assert kills >= 3  # before the step, between its pages, before its commit
    job = _job(kluis, job_id)
    assert job.state == JobState.EMPLOYER and job.result["controller"]["erased"] == {
        "basic": 1, "content": posts, "interests": 1}
    assert _run(settings, tmp_path, job_id, None) == REFUSED  # it waits; run again, it erases nothing more
    assert len(readable(kluis, victim)) == 1 and identifier_count(kluis, victim) == 2
    assert _count(kluis, "erasure.controller_part_erased") == 1
    with kluis.db.sessions() as session:
        told = [o for o in session.scalars(select(Outbox)) if o.context.get("notice") == "own_part_erased"]
    assert len(told) == 1
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, "Verwijderen", "erase")
    for kill_at in range(1, 30):
        if _run(settings, tmp_path, job_id, kill_at) == 0:
            break
    else:
        raise AssertionError("the rest never finished")
    job = _job(kluis, job_id)
    assert job.state == JobState.DONE
    facts = certificate.verify(job.certificate)
    assert {c["category"]: c["records"] for c in facts["erased"]["categories"]} == {
        "basic": 1, "content": posts, "interests": 1}
    assert [r.category for r in records_of(kluis, victim)] == ["financial"]  # the fiscal duty keeps the claim
    assert identifier_count(kluis, victim) == 0
    assert readable(kluis, witness) == witness_before
    assert sealed_log(kluis).ok

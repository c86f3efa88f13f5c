"""R-DSR-6: an erasure job is never run by two runners at once, and no service database is touched before
the job is held, by a committed claim (SQLite) or by its row lock (PostgreSQL, where the claim commits with
the first service database's counts)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from tests.integration.erasure.erasure_support import identifier_count, person_with_everything, records_of

from kluis.demo.datasets import create_demo_schemas
from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.rights.service import Rights

EMAIL = "wissen@example.nl"


def _urls(settings):
    return {k: v.get_secret_value() for k, v in settings.dataset_urls.items()}


def _requested(kluis):
    """A person with data in both service databases and a started erasure request."""
    person_id, _ = person_with_everything(kluis, claims=0)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        received = rights.register_by_staff("erasure", kluis.clock.now(), "brief", person_id=person_id,
                                            verification="legitimatie gezien")
        request_id = received.request.id
        if rights.get(request_id).processor_role:
            rights.record_employer_instruction(request_id, "verwijderen", "erase")
        rights.start(request_id)
    with kluis.db.sessions() as session:
        job_id = session.scalars(select(ErasureJob.id).where(ErasureJob.request_id == request_id)).one()
    return person_id, request_id, job_id


def _committed_state(kluis, job_id):
    with kluis.db.sessions() as session:
        return session.scalars(select(ErasureJob.state).where(ErasureJob.id == job_id)).one()


def test_on_postgresql_the_job_is_held_by_its_row_lock_while_the_first_dataset_is_erased_r_dsr_6(
        kluis, settings, monkeypatch):
    """R-DSR-6: while the first service database is erased the job's claim is not committed yet, but the job
    is exclusive all the same: another runner finds nothing to claim and its request cannot be cancelled (the
    cancellation waits for the lock). The claim commits together with that database's counts."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("the row lock replaces the committed claim on PostgreSQL only")
    create_demo_schemas(_urls(settings), [EMAIL], kluis.clock.now())
    person_id, request_id, job_id = _requested(kluis)
    datasets = kluis.datasets()
    real_erase = datasets.erase
    seen: list[str] = []

    def erase_watched(dataset_id, identities):
        if not seen:  # the first dataset: the job is held by the open transaction only
            assert _committed_state(kluis, job_id) == JobState.QUEUED
            assert erasure.Runner(kluis, "other").run_due() == 0
            with pytest.raises(OperationalError, match="lock"), kluis.db.transaction() as session:
                session.execute(text("SET LOCAL lock_timeout = '50ms'"))
                erasure.cancel_for_request(session, kluis, request_id, "staff:dpo")
        seen.append(dataset_id)
        return real_erase(dataset_id, identities)

    monkeypatch.setattr(datasets, "erase", erase_watched)
    job = erasure.Runner(kluis, "test").run(job_id)
    assert job.state == JobState.DONE and seen == datasets.ids()
    counted = {d["dataset"] for d in certificate.verify(job.certificate)["datasets"] if d["rows"]}
    assert counted == set(datasets.ids())
    assert records_of(kluis, person_id) == []


def test_a_first_dataset_that_is_down_leaves_the_job_waiting_and_unclaimed_r_dsr_9(kluis, settings):
    """R-DSR-9 / R-DSR-6: the first service database is down: the job waits with the reason, no runner holds
    it any more, nothing is erased anywhere; once the database is back, the job finishes."""
    urls = _urls(settings)
    create_demo_schemas(urls, [EMAIL], kluis.clock.now())
    person_id, _, job_id = _requested(kluis)
    first = kluis.datasets().ids()[0]
    held = len(records_of(kluis, person_id))
    kluis.use_dataset_urls({**urls, first: "postgresql+psycopg://kluis:geheim@127.0.0.1:1/down"})
    job = erasure.Runner(kluis, "test").run(job_id)
    assert job.state == JobState.WAITING and job.step == "datasets" and job.attempts == 1
    assert job.locked_by is None and job.result.get("datasets", {}) == {}
    assert first in job.last_error and "geheim" not in job.last_error
    assert len(records_of(kluis, person_id)) == held and identifier_count(kluis, person_id) == 2
    kluis.use_dataset_urls(urls)
    job = erasure.Runner(kluis, "test").run(job_id)
    assert job.state == JobState.DONE
    assert all(d["rows"] > 0 for d in certificate.verify(job.certificate)["datasets"])

"""`kluis erasure run --take-over` without a job id (R-DSR-6): after a killed worker, every job whose lease has
lapsed is taken over and finished; a job whose worker still holds a live lease is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from tests.integration.erasure.erasure_support import person_with_everything
from typer.testing import CliRunner

from kluis import wiring
from kluis.cli import app
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState, Reason

runner = CliRunner()


@pytest.fixture
def cli_kluis(kluis):
    wiring.use_for_cli(kluis)
    yield kluis
    wiring.use_for_cli(None)


def _running(kluis, email, phone, locked_until):
    """A job a worker claimed (and began: its datasets step) before it was killed with its lease as given."""
    person_id, _ = person_with_everything(kluis, email=email, phone=phone)
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
        session.execute(update(ErasureJob).where(ErasureJob.id == job_id).values(
            state=JobState.RUNNING, locked_by="dead-worker", locked_until=locked_until))
    return job_id


def _job(kluis, job_id):
    with kluis.db.sessions() as session:
        return session.get(ErasureJob, job_id)


def test_r_dsr_6_take_over_without_a_job_id_takes_every_lapsed_lease_and_only_those(cli_kluis, clock):
    now = clock.now()
    lapsed = [_running(cli_kluis, f"dood{i}@example.nl", f"06 1234567{i + 1}", now - timedelta(seconds=1 + i))
              for i in range(2)]
    live = _running(cli_kluis, "levend@example.nl", "06 12345670", now + timedelta(minutes=5))
    ran = runner.invoke(app, ["erasure", "run", "--take-over"])
    assert ran.exit_code == 0, ran.output
    assert "2 erasure job(s) taken over" in ran.output and "2 erasure job(s) done" in ran.output, ran.output
    assert [_job(cli_kluis, j).state for j in lapsed] == [JobState.DONE, JobState.DONE]
    left = _job(cli_kluis, live)
    assert (left.state, left.locked_by, left.step) == (JobState.RUNNING, "dead-worker", "datasets")
    clock.advance(timedelta(minutes=5, seconds=1))  # now its lease has lapsed too
    again = runner.invoke(app, ["erasure", "run", "--take-over"])
    assert again.exit_code == 0 and "1 erasure job(s) taken over" in again.output, again.output
    assert _job(cli_kluis, live).state == JobState.DONE

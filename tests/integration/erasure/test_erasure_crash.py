"""R-DSR-6: an erasure job killed with SIGKILL at any point finishes when run again; no record is left
half-erased and no other person is touched. The job runs in a real `kluis erasure run` process that
kills itself at its N-th checkpoint (KLUIS_FAULT_KILL_AT), for every N until a run gets through."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.helpers import sealed_log
from tests.integration.erasure.erasure_support import person_with_everything, readable, records_of
from tests.processes import run_kluis

from kluis import schema
from kluis.demo.datasets import create_demo_schemas
from kluis.erasure import certificate, vault_step
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState, Reason
from kluis.vault.crypto import open_sealed
from kluis.vault.models import Record
from kluis.wiring import build


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    for name in ("database_url", "keystore_url", "master_key", "index_key", "secret_key", "certificate_key"):
        value = getattr(settings, name)
        if value is not None:
            env[f"KLUIS_{name.upper()}"] = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    env["KLUIS_POLICY_FILE"] = str(settings.policy_file)
    env["KLUIS_DATASET_URLS"] = json.dumps({k: v.get_secret_value() for k, v in settings.dataset_urls.items()})
    return env


def _run(settings, cwd: Path, job_id, kill_at: int | None) -> int:
    """`kluis erasure run JOB --take-over`: the operator restarting the job of a worker that died."""
    env = _env(settings)
    if kill_at is not None:
        env["KLUIS_FAULT_KILL_AT"] = str(kill_at)
    done = run_kluis(["erasure", "run", str(job_id), "--take-over"], env, cwd)
    assert done.returncode in (0, -signal.SIGKILL), done.output
    return done.returncode


def dataset_rows(kluis, email):
    """Rows each dataset table still holds for the address (what access would find)."""
    found = {}
    for dataset in kluis.datasets().ids():
        for table in kluis.datasets().read(dataset, [("email", "", email)]):
            if table.rows:
                found[f"{dataset}.{table.table}"] = len(table.rows)
    return found


def _state(kluis, person_id):
    """What a reader sees: the records left, each opened with the key that belongs to it now."""
    with kluis.db.sessions() as session:
        job = session.scalars(select(ErasureJob).where(ErasureJob.person_id == person_id)).one()
        keys = kluis.keystore.data_keys(session, [person_id, job.id])
        rows = records_of(kluis, person_id)
        opened = []
        for row in rows:
            plain = None
            for key in keys.values():
                try:
                    plain = open_sealed(key, person_id, row.id, row.category, row.ciphertext)
                    break
                except Exception:  # noqa: BLE001 - try the other key
                    continue
            assert plain is not None, f"record {row.id} is readable with no key: half-erased"
            opened.append((row.category, json.loads(plain)))
        return job.step, sorted(opened, key=json.dumps)


@pytest.fixture(params=["separate key store", "keys in the data database"])
def placed(request, kluis, settings, clock):
    """The key store apart (its own transactions) or in the data database (PostgreSQL's default: the vault,
    the keys and the certificate commit together)."""
    if request.param == "separate key store":
        yield kluis, settings
        return
    shared = settings.model_copy(update={"keystore_url": settings.database_url})
    instance = build(shared, clock=clock)
    schema.upgrade(instance.db)
    yield instance, shared
    instance.close()


def test_erasure_killed_at_every_checkpoint_finishes_the_same_r_dsr_6(placed, tmp_path):
    """R-DSR-6: kill -9 at each point, run again: the end state equals an uninterrupted run's."""
    kluis, settings = placed
    # Enough records for several delete batches inside the vault transaction.
    victim, _ = person_with_everything(kluis, claims=3, extra=2 * vault_step.BATCH + 5)
    witness, _ = person_with_everything(kluis, email="getuige@example.nl", phone="06 11223344", claims=2)
    witness_before = readable(kluis, witness)
    urls = {k: v.get_secret_value() for k, v in settings.dataset_urls.items()}
    create_demo_schemas(urls, ["wissen@example.nl", "getuige@example.nl"], kluis.clock.now())
    witness_rows = dataset_rows(kluis, "getuige@example.nl")
    full = sorted(((r.category, r.id) for r in records_of(kluis, victim)), key=str)
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, victim, Reason.STAFF, "test").id
    kills = 0
    for kill_at in range(1, 60):
        code = _run(settings, tmp_path, job_id, kill_at)
        step, opened = _state(kluis, victim)
        # Between kills the person is either untouched or erased as a whole: never part of the records.
        assert len(opened) in (len(full), 3), (kill_at, step, len(opened))
        if code == 0:
            break
        kills += 1
    else:
        raise AssertionError("the job never finished")
    assert kills >= 6  # every step and several batches inside the vault transaction were interrupted
    assert _run(settings, tmp_path, job_id, None) == 0  # a finished job stays finished
    with kluis.db.sessions() as session:
        job = session.scalars(select(ErasureJob).where(ErasureJob.person_id == victim)).one()
        assert job.state == JobState.DONE, (job.state, job.step, job.last_error)
        facts = certificate.verify(job.certificate)
        assert session.scalar(select(func.count()).select_from(Record).where(Record.person_id == victim)) == 3
    assert [o[0] for o in _state(kluis, victim)[1]] == ["financial"] * 3
    assert {c["category"]: c["records"] for c in facts["erased"]["categories"]} == {
        "basic": 1, "content": 2 * vault_step.BATCH + 5, "interests": 1}
    assert facts["kept"][0]["records"] == 3
    assert readable(kluis, witness) == witness_before
    assert dataset_rows(kluis, "getuige@example.nl") == witness_rows
    left = dataset_rows(kluis, "wissen@example.nl")
    assert left == {"benmobiel.mobility_budgets": left["benmobiel.mobility_budgets"]} and all(left.values())
    assert sum(d["rows"] for d in facts["datasets"]) > 0
    assert sealed_log(kluis).ok


def test_counts_stored_before_a_kill_are_certified_after_the_restart_r_dsr_6(kluis, settings, tmp_path):
    """R-DSR-6 / R-DSR-9: once a service database's counts are stored, kill -9 does not lose them. The job is
    killed right after both datasets were erased and counted, before the vault (on PostgreSQL the first
    dataset's counts commit with the claim, the second's as one autocommitted statement); run again, it finds
    nothing left in the datasets and certifies exactly what the first attempt erased."""
    victim, _ = person_with_everything(kluis, claims=1)
    urls = {k: v.get_secret_value() for k, v in settings.dataset_urls.items()}
    create_demo_schemas(urls, ["wissen@example.nl"], kluis.clock.now())
    found = dataset_rows(kluis, "wissen@example.nl")
    assert set(found) == {"benmobiel.trips", "benmobiel.mobility_budgets", "webinars.registrations",
                          "webinars.questions"}
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, victim, Reason.STAFF, "test").id
    # Checkpoints: before the datasets step, after each of the two datasets, then before the vault (the 4th).
    assert _run(settings, tmp_path, job_id, kill_at=4) == -signal.SIGKILL
    with kluis.db.sessions() as session:
        job = session.get(ErasureJob, job_id)
        assert job.step == "datasets" and sorted(job.result["datasets"]) == sorted(kluis.datasets().ids())
    assert _run(settings, tmp_path, job_id, None) == 0
    with kluis.db.sessions() as session:
        facts = certificate.verify(session.get(ErasureJob, job_id).certificate)
    assert {f"{d['dataset']}.{d['table']}": d["rows"] for d in facts["datasets"] if d["rows"]} == found

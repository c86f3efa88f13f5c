"""A sweep killed at any point and run again ends exactly where an uninterrupted sweep ends: nothing
lost, nothing erased twice, the audit chain intact (R-RET-2). Also: two sweeps at once share the work."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter

from sqlalchemy import select
from tests.integration.retention.retention_support import KINDS, ams

from kluis.audit.models import AuditEvent
from kluis.retention import sweep
from kluis.vault.models import Person, Record
from kluis.vault.schemas import BatchRecordIn, PersonIn

SWEEP_AT = ams(2026, 7, 15, 0)
SCRIPT = """
import sys
from datetime import datetime
from kluis.kit.clock import SettableClock
from kluis.retention.sweep import sweep
from kluis.wiring import build
kluis = build(clock=SettableClock(datetime.fromisoformat(sys.argv[1])))
sweep(kluis, actor="killed", batch=int(sys.argv[2]), on_batch=lambda n: print(n, flush=True))
"""


def _population(kluis, clock, people=300):
    """Web traffic collected on 150 different days (half of it due), marketing contacts half due, and
    accounts that are never due: some people end with nothing, some keep their account."""
    clock.set(ams(2026, 7, 1, 9))
    rng = random.Random(7)
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        created = vault.create_people([PersonIn(subject_types=["lead"]) for _ in range(people)])
        items = []
        for n, someone in enumerate(created):
            day = ams(2025, 12, 1, 9) + (ams(2026, 1, 1, 9) - ams(2025, 12, 1, 9)) * (rng.random() * 5)
            items.append(BatchRecordIn(person_id=someone.id, **KINDS["web"], content={"n": n}, collected_at=day))
            items.append(BatchRecordIn(person_id=someone.id, **KINDS["web"], content={"n": n}, collected_at=day))
            activity = ams(2023, 6, 1, 9) + (ams(2023, 8, 1, 9) - ams(2023, 6, 1, 9)) * rng.random()
            items.append(BatchRecordIn(person_id=someone.id, **KINDS["marketing"], content={"n": n},
                                       last_activity_at=activity, collected_at=activity))
            if n % 3 == 0:
                items.append(BatchRecordIn(person_id=someone.id, category="account", purposes=["accounts"],
                                           legal_basis="contract", source="direct", content={"n": n}))
        vault.add_records(None, items)


def _state(kluis):
    with kluis.db.sessions() as session:
        records = set(session.scalars(select(Record.id)))
        shredded = set(session.scalars(select(Person.id).where(Person.shredded_at.is_not(None))))
        swept = Counter()
        for event in session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.swept")
                                     .order_by(AuditEvent.seq)):
            for rule, tally in event.details["rules"].items():
                swept[rule] += tally["records"]
    return records, shredded, swept


def _env(settings):
    env = dict(os.environ)
    env.update({"KLUIS_DATABASE_URL": settings.database_url, "KLUIS_KEYSTORE_URL": settings.keystore_url or "",
                "KLUIS_MASTER_KEY": settings.master_key.get_secret_value(),
                "KLUIS_INDEX_KEY": settings.index_key.get_secret_value(),
                "KLUIS_SECRET_KEY": settings.secret_key.get_secret_value(),
                "KLUIS_AUDIT_KEY": settings.audit_key.get_secret_value(), "KLUIS_LOG_LEVEL": "WARNING"})
    return env


def test_r_ret_2_a_sweep_killed_at_random_points_finishes_on_restart_with_nothing_lost_or_doubled(
        kluis, clock, settings):
    _population(kluis, clock)
    with kluis.db.sessions() as session:
        plan = sweep.plan(session, SWEEP_AT)
        due = set(session.scalars(select(Record.id).where(Record.due_at <= SWEEP_AT)))
        everything = set(session.scalars(select(Record.id)))
    assert plan.records == len(due) > 200 and plan.people > 20
    env = _env(settings)
    rng = random.Random(11)
    kills = 0
    for _ in range(6):
        started = subprocess.Popen([sys.executable, "-c", SCRIPT, SWEEP_AT.isoformat(), "7"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # Kill it a random moment after its first batch committed (the batch prints its size after commit).
        assert started.stdout is not None
        if started.stdout.readline():
            time.sleep(rng.uniform(0, 0.04))
            if started.poll() is None:
                started.kill()
                kills += 1
        started.wait()
        started.stdout.close()
    assert kills >= 3
    finished = subprocess.run([sys.executable, "-c", SCRIPT, SWEEP_AT.isoformat(), "7"], env=env,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    records, shredded, swept = _state(kluis)
    assert records == everything - due
    assert len(shredded) == plan.people
    assert swept == Counter({rule: tally.records for rule, tally in plan.per_rule.items()})
    sealed = subprocess.run([sys.executable, "-c", "from kluis.cli import main; main()", "audit", "seal"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert sealed.returncode == 0 and sealed.stdout.startswith("sealed"), sealed.stdout + sealed.stderr
    verify = subprocess.run([sys.executable, "-c", "from kluis.cli import main; main()", "audit", "verify"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout + verify.stderr
    with kluis.db.sessions() as session:
        assert sweep.plan(session, SWEEP_AT).records == 0


def test_r_ret_2_two_sweeps_at_once_erase_every_due_record_once(kluis, clock):
    _population(kluis, clock)
    with kluis.db.sessions() as session:
        plan = sweep.plan(session, SWEEP_AT)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(sweep.sweep(kluis, batch=10, now=SWEEP_AT)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(reports) == 2
    assert sum(r.records for r in reports) == plan.records
    assert sum(r.people for r in reports) == plan.people
    records, shredded, swept = _state(kluis)
    assert len(shredded) == plan.people
    assert swept == Counter({rule: tally.records for rule, tally in plan.per_rule.items()})

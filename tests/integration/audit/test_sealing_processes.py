"""The audit log across processes: writers in several processes and a sealer beside them produce one valid
log with no event lost; a sealer killed with SIGKILL mid-pass is resumed by the next; a log from before
sealing existed keeps verifying after the migration (R-GOV-1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import func, select, update

from kluis.audit import sealer
from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.audit.models import AuditEvent, AuditLink
from kluis.audit.rules import canonical, link_hash
from kluis.schema import alembic_config

WRITER = """
import sys
from kluis.audit import service as audit
from kluis.wiring import build
kluis = build()
for i in range(int(sys.argv[2])):
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="writer-" + sys.argv[1], action="test.process", object_type="t",
                     object_ids=[str(i)], details={"i": i})
"""
SEALER = """
import sys
from kluis.audit import sealer
from kluis.audit.keys import audit_key
from kluis.wiring import build
kluis = build()
key = audit_key(kluis.settings.audit_key)
stop_after = float(sys.argv[1])
import time
end = time.monotonic() + stop_after
while time.monotonic() < end:
    done = sealer.seal_pass(kluis.db, key, kluis.clock, batch=int(sys.argv[2]))
    if done.sealed:
        print(done.sealed, flush=True)
"""


def _env(settings):
    env = dict(os.environ)
    env.update({"KLUIS_DATABASE_URL": settings.database_url, "KLUIS_KEYSTORE_URL": settings.keystore_url or "",
                "KLUIS_MASTER_KEY": settings.master_key.get_secret_value(),
                "KLUIS_INDEX_KEY": settings.index_key.get_secret_value(),
                "KLUIS_SECRET_KEY": settings.secret_key.get_secret_value(),
                "KLUIS_AUDIT_KEY": settings.audit_key.get_secret_value(), "KLUIS_LOG_LEVEL": "WARNING"})
    return env


def _verified(kluis):
    key = audit_key(kluis.settings.audit_key)
    sealer.seal_all(kluis.db, key, kluis.clock)
    with kluis.db.sessions() as session:
        return audit_log.verify(session, key)


def test_r_gov_1_writers_in_four_processes_and_a_sealer_beside_them_make_one_log(kluis, settings):
    env = _env(settings)
    sealing = subprocess.Popen([sys.executable, "-c", SEALER, "4", "7"], env=env, stdout=subprocess.DEVNULL)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(n), "40"], env=env) for n in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    sealing.wait(timeout=120)
    result = _verified(kluis)
    assert result.ok and result.checked == 160 and result.unsealed == 0
    with kluis.db.sessions() as session:
        per_writer = dict(session.execute(select(AuditEvent.actor, func.count()).group_by(AuditEvent.actor)).all())
    assert per_writer == {f"writer-{n}": 40 for n in range(4)}


def test_r_gov_1_a_sealer_killed_mid_pass_is_resumed_by_the_next_and_nothing_is_sealed_twice(kluis, settings):
    env = _env(settings)
    assert subprocess.run([sys.executable, "-c", WRITER, "0", "600"], env=env, timeout=300).returncode == 0
    killed = subprocess.Popen([sys.executable, "-c", SEALER, "30", "50"], env=env, stdout=subprocess.PIPE, text=True)
    assert killed.stdout is not None and killed.stdout.readline().strip() == "50"  # one pass committed
    killed.kill()
    killed.wait()
    with kluis.db.sessions() as session:
        linked = session.scalar(select(func.count()).select_from(AuditLink))
    assert 50 <= linked <= 600
    result = _verified(kluis)
    assert result.ok and result.checked == 600 and result.unsealed == 0


@pytest.mark.plain_schema
def test_r_gov_1_a_log_from_before_sealing_keeps_verifying_after_the_migration(kluis, clock):
    """Events written under the old scheme (one unkeyed hash chain and a head row) keep their links, checked as
    before, and are sealed like new ones; a change to one of them is still named."""
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0015_intake_sliding_log")
        start, prev = conn.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").one()
        for seq in range(start + 1, start + 4):
            body = canonical(seq, clock.now(), "system", "old.event", "thing", [f"o-{seq}"], {"n": seq}, prev)
            digest = link_hash(prev, body)
            conn.execute(AuditEvent.__table__.insert().values(seq=seq, at=clock.now(), actor="system",
                                                              action="old.event", object_type="thing",
                                                              object_ids=[f"o-{seq}"], details={"n": seq},
                                                              prev_hash=prev, hash=digest))
            prev = digest
        conn.exec_driver_sql(f"UPDATE audit_head SET seq = {start + 3}, hash = '{prev}' WHERE id = 1")
        command.upgrade(config, "head")
    from kluis.audit import service as audit
    with kluis.db.transaction() as session:
        audit.append(session, clock, actor="system", action="new.event", object_type="thing")
    result = _verified(kluis)
    assert result.ok and result.checked == start + 4
    with kluis.db.sessions() as session:
        newest = session.get(AuditEvent, start + 4)
        assert newest.action == "new.event" and newest.hash is None
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == start + 2).values(details={"n": 20}))
    broken = _verified(kluis)
    assert not broken.ok and broken.broken_seq == start + 2

"""The tamper-evident audit chain (R-GOV-1)."""

import threading

import pytest
from sqlalchemy import text, update
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit import service as audit
from kluis.audit.models import AuditEvent
from kluis.cli import app


def _fill(kluis, n=5):
    with kluis.db.transaction() as session:
        for i in range(n):
            audit.append(session, kluis.clock, actor="system", action="test.event", object_type="thing",
                         object_ids=[f"id-{i}"], details={"n": i})


def _verify(kluis, anchors=()):
    with kluis.db.sessions() as session:
        return audit.verify(session, anchors)


def test_r_gov_1_intact_chain_verifies(kluis):
    _fill(kluis)
    result = _verify(kluis)
    assert result.ok and result.checked == result.head_seq


def test_r_gov_1_one_flipped_byte_is_detected(kluis):
    _fill(kluis)
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="systen"))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 3 and "hash" in result.reason


def test_r_gov_1_deleted_row_is_detected(kluis):
    _fill(kluis)
    with kluis.db.transaction() as session:
        session.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 2


def test_r_gov_1_reordered_rows_are_detected(kluis):
    _fill(kluis)
    with kluis.db.transaction() as session:
        session.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = 2"))
        session.execute(text("UPDATE audit_event SET seq = 2 WHERE seq = 4"))
        session.execute(text("UPDATE audit_event SET seq = 4 WHERE seq = -1"))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 2


def test_r_gov_1_truncated_tail_is_detected_by_head_and_by_anchor(kluis):
    _fill(kluis)
    with kluis.db.sessions() as session:
        kept = audit.anchor(session)
    with kluis.db.transaction() as session:
        session.execute(text(f"DELETE FROM audit_event WHERE seq = {kept.seq}"))
    assert not _verify(kluis).ok
    with kluis.db.transaction() as session:  # an attacker who also rewinds the head row
        prev = session.execute(text(f"SELECT hash FROM audit_event WHERE seq = {kept.seq - 1}")).scalar_one()
        session.execute(text(f"UPDATE audit_head SET seq = {kept.seq - 1}, hash = '{prev}'"))
    assert _verify(kluis).ok
    result = _verify(kluis, [kept])
    assert not result.ok and "anchor" in result.reason


def test_r_gov_1_rolled_back_change_leaves_no_event(kluis):
    _fill(kluis, 1)
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="x", object_type="y")
        raise RuntimeError("business change failed")
    assert _verify(kluis).head_seq == 1


def test_r_gov_1_concurrent_writers_do_not_fork_the_chain(kluis):
    _fill(kluis, 1)
    errors = []

    def writer(n):
        try:
            for _ in range(15):
                with kluis.db.transaction() as session:
                    audit.append(session, kluis.clock, actor=f"w{n}", action="test.concurrent", object_type="t")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = _verify(kluis)
    assert result.ok and result.head_seq == 61


def test_r_gov_1_cli_verify_and_anchor(kluis):
    _fill(kluis)
    wiring.use_for_cli(kluis)
    try:
        runner = CliRunner()
        anchored = runner.invoke(app, ["audit", "anchor"])
        assert anchored.exit_code == 0 and anchored.stdout.startswith("kluis-audit-anchor:")
        ok = runner.invoke(app, ["audit", "verify", "--anchor", anchored.stdout.strip()])
        assert ok.exit_code == 0 and "OK" in ok.stdout
        with kluis.db.transaction() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"n": 99}))
        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 1 and "event 2" in broken.stderr
        assert runner.invoke(app, ["audit", "verify", "--anchor", "nonsense"]).exit_code == 2
    finally:
        wiring.use_for_cli(None)

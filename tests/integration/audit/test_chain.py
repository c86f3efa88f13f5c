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


def test_r_gov_1_events_are_written_with_their_transaction_and_seen_by_its_own_queries(kluis):
    """Events wait in the transaction until it commits or queries (as the ORM's own changes do): a query in
    the same transaction sees them, and a rollback leaves neither events nor a moved head."""
    from sqlalchemy import func, select
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.seen", object_type="thing")
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "test.seen")) == 1
    before = _verify(kluis)
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.undone", object_type="thing")
        raise RuntimeError("the change fails")
    after = _verify(kluis)
    assert after.ok and (after.head_seq, after.head_hash) == (before.head_seq, before.head_hash)


def test_r_gov_1_a_write_that_goes_along_commits_and_rolls_back_with_the_events(kluis, clock):
    """``audit.along``: a write handed over to go with the events (in one statement on PostgreSQL) is done by
    the commit, undone with a rollback, and done at once when the transaction has no events to go with."""
    from sqlalchemy import bindparam, func, insert, select

    from kluis.rights.models import IntakeLimit
    limits = IntakeLimit.__table__
    note = insert(limits).values(key=bindparam("note_key"), last_hit=bindparam("note_at", type_=limits.c.last_hit.type),
                                 hits=bindparam("note_hits", type_=limits.c.hits.type))

    def row(key):
        return {"note_key": key, "note_at": clock.now(), "note_hits": []}

    def stored(session=None):
        if session is not None:
            return set(session.connection().execute(select(limits.c.key)).scalars())
        with kluis.db.sessions() as own:
            return set(own.scalars(select(limits.c.key)))

    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.along", object_type="thing")
        audit.along(session, note, row("a" * 64))
        raise RuntimeError("the change fails")
    assert stored() == set() and _verify(kluis).head_seq == 0
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.along(session, note, row("b" * 64))  # no events held: done at once, undone with the rest
        assert stored(session) == {"b" * 64}
        raise RuntimeError("the change fails")
    assert stored() == set()
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.along", object_type="thing")
        audit.along(session, note, row("c" * 64))
        assert stored(session) == set()  # not yet: with the events, at commit
    assert stored() == {"c" * 64}
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert _verify(kluis).ok

"""The tamper-evident audit log: appended without a shared lock, sealed with a key kept outside the database,
and verified event by event (R-GOV-1)."""

import threading

import pytest
from sqlalchemy import bindparam, func, insert, select, text, update
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit import sealer
from kluis.audit import service as audit
from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.audit.models import AuditEvent, AuditLink, AuditSeal
from kluis.audit.rules import key_id, seal_mac, sealed_body, watermark_mac
from kluis.cli import app
from kluis.kit.errors import Conflict
from kluis.kit.secrets import new_secret, parse_secret
from kluis.rights.models import IntakeLimit


def _fill(kluis, n=5, action="test.event"):
    with kluis.db.transaction() as session:
        for i in range(n):
            audit.append(session, kluis.clock, actor="system", action=action, object_type="thing",
                         object_ids=[f"id-{i}"], details={"n": i})


def _key(kluis):
    return audit_key(kluis.settings.audit_key)


def _seal(kluis):
    return sealer.seal_all(kluis.db, _key(kluis), kluis.clock)


def _verify(kluis, anchors=(), key=None):
    with kluis.db.sessions() as session:
        return audit_log.verify(session, key or _key(kluis), anchors)


def _sql(kluis, *statements):
    with kluis.db.transaction() as session:
        for statement in statements:
            session.execute(text(statement))


def test_r_gov_1_sealed_log_verifies_and_unsealed_events_are_reported(kluis):
    _fill(kluis)
    before = _verify(kluis)
    assert before.ok and before.checked == 0 and before.unsealed == 5
    assert _seal(kluis).sealed == 5
    after = _verify(kluis)
    assert after.ok and (after.checked, after.head_seq, after.unsealed) == (5, 5, 0)
    _fill(kluis, 2)
    assert _verify(kluis).unsealed == 2


def test_r_gov_1_one_flipped_byte_names_the_event(kluis):
    _fill(kluis)
    _seal(kluis)
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="systen"))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 3 and result.checked == 2


def test_r_gov_1_a_deleted_sealed_event_is_named(kluis):
    _fill(kluis)
    _seal(kluis)
    _sql(kluis, "DELETE FROM audit_event WHERE seq = 2", "DELETE FROM audit_link WHERE seq = 2")
    result = _verify(kluis)
    assert not result.ok and "event 2 is missing" in result.reason


def test_r_gov_1_reordered_events_are_detected_at_the_first_moved(kluis):
    _fill(kluis)
    _seal(kluis)
    _sql(kluis, "UPDATE audit_event SET seq = -1 WHERE seq = 2", "UPDATE audit_event SET seq = 2 WHERE seq = 4",
         "UPDATE audit_event SET seq = 4 WHERE seq = -1")
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 2


def test_r_gov_1_an_event_inserted_among_sealed_ones_is_named(kluis):
    """A number left free by a rolled-back transaction, filled in afterwards by someone with write access."""
    _fill(kluis, 3)
    _sql(kluis, "DELETE FROM audit_event WHERE seq = 2")  # as a rollback leaves it: a gap
    _seal(kluis)
    assert _verify(kluis).ok and _verify(kluis).gaps == 1
    with kluis.db.transaction() as session:
        session.execute(insert(AuditEvent).values(seq=2, at=kluis.clock.now(), actor="x", action="forged",
                                                  object_type="thing", object_ids=[], details={}))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 2 and "added after sealing" in result.reason


def test_r_gov_1_a_rewrite_with_recomputed_links_but_without_the_key_names_the_first_changed_event(kluis):
    """The attacker can write the whole database: changes event 3, recomputes every later link and the
    watermark, with a key of their own."""
    _fill(kluis, 6)
    _seal(kluis)
    forged_key = parse_secret("x", new_secret())
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(details={"n": 99}))
        prev = session.scalar(select(AuditLink.mac).where(AuditLink.seq == 2))
        for event in session.scalars(select(AuditEvent).where(AuditEvent.seq >= 3).order_by(AuditEvent.seq)):
            prev = seal_mac(forged_key, prev, sealed_body(event.seq, event.at, event.actor, event.action,
                                                          event.object_type, event.object_ids, event.details, 0))
            session.execute(update(AuditLink).where(AuditLink.seq == event.seq).values(mac=prev))
        seal = session.get(AuditSeal, 1)
        session.execute(update(AuditSeal).values(sealed_mac=prev, mac=watermark_mac(forged_key, 6, prev,
                                                                                    seal.key_id)))
    result = _verify(kluis)
    assert not result.ok and result.broken_seq == 3 and result.checked == 2


def test_r_gov_1_truncated_tail_is_detected_by_the_watermark_and_a_replayed_watermark_by_an_anchor(kluis):
    _fill(kluis, 3)
    _seal(kluis)
    with kluis.db.sessions() as session:
        old_row = {c: getattr(session.get(AuditSeal, 1), c) for c in ("sealed_seq", "sealed_mac", "key_id", "mac")}
    _fill(kluis, 3)
    _seal(kluis)
    with kluis.db.sessions() as session:
        kept = audit_log.anchor(session)
    assert kept.seq == 6
    _sql(kluis, "DELETE FROM audit_event WHERE seq > 4", "DELETE FROM audit_link WHERE seq > 4")
    cut = _verify(kluis)
    assert not cut.ok and cut.broken_seq == 5 and "removed" in cut.reason
    with kluis.db.transaction() as session:  # rewinding the watermark needs its MAC: without the key, a forgery
        session.execute(update(AuditSeal).values(sealed_seq=4, sealed_mac=session.scalar(
            select(AuditLink.mac).where(AuditLink.seq == 4))))
    assert "watermark" in _verify(kluis).reason
    _sql(kluis, "DELETE FROM audit_event WHERE seq > 3", "DELETE FROM audit_link WHERE seq > 3")
    with kluis.db.transaction() as session:  # an old watermark, saved earlier, put back: only an anchor tells
        session.execute(update(AuditSeal).values(**old_row))
    assert _verify(kluis).ok
    result = _verify(kluis, [kept])
    assert not result.ok and result.broken_seq == 6 and "anchor" in result.reason


def test_r_gov_1_verifying_with_another_key_fails_and_says_so(kluis):
    _fill(kluis, 2)
    _seal(kluis)
    result = _verify(kluis, key=parse_secret("x", new_secret()))
    assert not result.ok and result.broken_seq == 1 and "not the one the log names" in result.reason


def test_r_gov_1_the_sealer_refuses_to_seal_over_a_forged_watermark(kluis):
    _fill(kluis, 2)
    _seal(kluis)
    _sql(kluis, "UPDATE audit_seal SET sealed_seq = 1")
    _fill(kluis, 1)
    with pytest.raises(Conflict) as refused:
        _seal(kluis)
    assert refused.value.code == "audit_watermark_tampered"
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLink)) == 2


def test_r_gov_1_rolled_back_change_leaves_no_event(kluis):
    _fill(kluis, 1)
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="x", object_type="y")
        raise RuntimeError("business change failed")
    _fill(kluis, 1)
    _seal(kluis)
    result = _verify(kluis)
    assert result.ok and result.checked == 2


def test_r_gov_1_concurrent_writers_share_no_lock_and_lose_no_event(kluis):
    """Writers in threads with a sealer running beside them: one valid log, every event sealed once."""
    _fill(kluis, 1)
    errors = []
    done = threading.Event()

    def writer(n):
        try:
            for _ in range(15):
                with kluis.db.transaction() as session:
                    audit.append(session, kluis.clock, actor=f"w{n}", action="test.concurrent", object_type="t")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sealing():
        while not done.is_set():
            try:
                _seal(kluis)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    seal_thread = threading.Thread(target=sealing)
    seal_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    seal_thread.join()
    assert not errors
    _seal(kluis)
    result = _verify(kluis)
    assert result.ok and result.checked == 61 and result.unsealed == 0


@pytest.mark.postgres
def test_r_gov_1_an_event_committed_late_is_sealed_in_its_order_never_skipped(kluis):
    """PostgreSQL: number 1 drawn by a transaction still open while number 2 commits. The sealer waits for
    the first; once it commits, both are sealed, in order."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("SQLite's one writer numbers in commit order")
    slow = kluis.db.sessions()
    slow.begin()
    audit.append(slow, kluis.clock, actor="slow", action="test.late", object_type="t")
    audit.write_pending(slow)  # number drawn, not committed
    _fill(kluis, 1, action="test.early")
    first = _seal(kluis)
    assert first.sealed == 0 and first.waiting
    slow.commit()
    slow.close()
    assert _seal(kluis).sealed == 2
    result = _verify(kluis)
    assert result.ok and result.checked == 2 and result.gaps == 0
    with kluis.db.sessions() as session:
        assert list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))) == ["test.late",
                                                                                             "test.early"]


def test_r_gov_1_a_gap_left_by_a_rollback_is_recorded_under_the_key(kluis):
    """PostgreSQL's sequence skips the numbers of rolled-back transactions; SQLite's is simulated by deleting an
    unsealed event. The next link records the gap, so the gap cannot later be widened to hide a deletion."""
    _fill(kluis, 4)
    _sql(kluis, "DELETE FROM audit_event WHERE seq = 3")
    _seal(kluis)
    with kluis.db.sessions() as session:
        assert session.get(AuditLink, 4).gap_before == 1
    assert _verify(kluis).gaps == 1
    _sql(kluis, "UPDATE audit_link SET gap_before = 2 WHERE seq = 4")
    assert _verify(kluis).broken_seq == 4


def test_r_gov_1_cli_seal_status_verify_anchor_and_an_auditor_key(kluis):
    _fill(kluis)
    wiring.use_for_cli(kluis)
    try:
        runner = CliRunner()
        assert "5 not sealed yet" in runner.invoke(app, ["audit", "status"]).stdout
        sealed = runner.invoke(app, ["audit", "seal"])
        assert sealed.exit_code == 0 and "sealed 5 events" in sealed.stdout
        anchored = runner.invoke(app, ["audit", "anchor"])
        assert anchored.exit_code == 0 and anchored.stdout.startswith("kluis-audit-anchor:5:")
        ok = runner.invoke(app, ["audit", "verify", "--anchor", anchored.stdout.strip()])
        assert ok.exit_code == 0 and ok.stdout.startswith("OK: 5 sealed events hold")
        auditor = runner.invoke(app, ["audit", "verify", "--key", kluis.settings.audit_key.get_secret_value()])
        assert auditor.exit_code == 0
        with kluis.db.transaction() as session:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"n": 99}))
        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 1 and "event 2" in broken.stderr
        assert runner.invoke(app, ["audit", "verify", "--anchor", "nonsense"]).exit_code == 2
        wrong = runner.invoke(app, ["audit", "verify", "--key", "too-short"])
        assert wrong.exit_code == 1 and "KLUIS_AUDIT_KEY" in wrong.stderr
    finally:
        wiring.use_for_cli(None)


def test_r_gov_1_events_are_written_with_their_transaction_and_seen_by_its_own_queries(kluis):
    """Events wait in the transaction until it commits or queries (as the ORM's own changes do): a query in
    the same transaction sees them, and a rollback leaves no event."""
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.seen", object_type="thing")
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "test.seen")) == 1
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.undone", object_type="thing")
        raise RuntimeError("the change fails")
    with kluis.db.sessions() as session:
        assert list(session.scalars(select(AuditEvent.action))) == ["test.seen"]


def test_r_gov_1_a_write_that_goes_along_commits_and_rolls_back_with_the_events(kluis, clock):
    """``audit.along``: a write handed over to go with the events (in one statement on PostgreSQL) is done by
    the commit, undone with a rollback, and done at once when the transaction has no events to go with."""
    limits = IntakeLimit.__table__
    note = insert(limits).values(key=bindparam("key"), last_hit=bindparam("at", type_=limits.c.last_hit.type),
                                 hits=bindparam("hits", type_=limits.c.hits.type))

    def row(key):
        return {"key": key, "at": clock.now(), "hits": []}

    def stored(session=None):
        if session is not None:
            return set(session.connection().execute(select(limits.c.key)).scalars())
        with kluis.db.sessions() as own:
            return set(own.scalars(select(limits.c.key)))

    def events():
        with kluis.db.sessions() as session:
            return session.scalar(select(func.count()).select_from(AuditEvent))

    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.along", object_type="thing")
        audit.along(session, note, row("a" * 64))
        raise RuntimeError("the change fails")
    assert stored() == set() and events() == 0
    with pytest.raises(RuntimeError), kluis.db.transaction() as session:
        audit.along(session, note, row("b" * 64))  # no events held: done at once, undone with the rest
        assert stored(session) == {"b" * 64}
        raise RuntimeError("the change fails")
    assert stored() == set()
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.along", object_type="thing")
        audit.along(session, note, row("c" * 64))
        assert stored(session) == set()  # not yet: with the events, at commit
    assert stored() == {"c" * 64} and events() == 1
    _seal(kluis)
    assert _verify(kluis).ok


def test_r_gov_1_writes_that_go_along_keep_their_own_bind_names_and_values(kluis, clock):
    """The caller names its statement's parameters as it likes: two writes with the same bind names (one
    statement handed over twice, and another that reuses a name) each keep their own values in the events'
    statement."""
    limits = IntakeLimit.__table__
    note = insert(limits).values(key=bindparam("key"), last_hit=bindparam("at", type_=limits.c.last_hit.type),
                                 hits=bindparam("hits", type_=limits.c.hits.type))
    touch = (update(limits).where(limits.c.key == bindparam("which"))
             .values(hits=bindparam("hits", type_=limits.c.hits.type)))
    with kluis.db.transaction() as session:
        session.execute(note, {"key": "c" * 64, "at": clock.now(), "hits": []})
    with kluis.db.transaction() as session:
        audit.append(session, kluis.clock, actor="system", action="test.along", object_type="thing")
        audit.along(session, note, {"key": "a" * 64, "at": clock.now(), "hits": [1]})
        audit.along(session, note, {"key": "b" * 64, "at": clock.now(), "hits": [2]})
        audit.along(session, touch, {"which": "c" * 64, "hits": [3]})
    with kluis.db.sessions() as session:
        found = {key: hits for key, hits in session.execute(select(limits.c.key, limits.c.hits))}
    assert found == {"a" * 64: [1], "b" * 64: [2], "c" * 64: [3]}


def test_r_gov_1_the_key_id_names_the_key_without_revealing_it(kluis):
    _fill(kluis, 1)
    _seal(kluis)
    with kluis.db.sessions() as session:
        stored = session.get(AuditSeal, 1).key_id
    assert stored == key_id(_key(kluis)) and kluis.settings.audit_key.get_secret_value() not in stored

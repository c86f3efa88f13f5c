"""Every verification of the audit log records what it found; the worker verifies on a schedule, incrementally
from the last verified event, with a full walk every KLUIS_AUDIT_FULL_VERIFY_HOURS (R-GOV-1)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from kluis import wiring
from kluis.audit import sealer, verifications
from kluis.audit import service as audit
from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.audit.models import AuditEvent, AuditSeal, AuditVerification
from kluis.audit.tasks import VerifyPoller
from kluis.cli import app
from kluis.kit.secrets import new_secret

HOUR = timedelta(hours=1)


def _fill(kluis, n=3):
    with kluis.db.transaction() as session:
        for i in range(n):
            audit.append(session, kluis.clock, actor="system", action="test.event", object_type="thing",
                         object_ids=[f"id-{i}"], details={"n": i})
    sealer.seal_all(kluis.db, audit_key(kluis.settings.audit_key), kluis.clock)


def _runs(kluis):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditVerification).order_by(AuditVerification.id)))


def _tamper(kluis, seq):
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(details={"n": 99}))


def test_r_gov_1_the_worker_verifies_on_its_schedule_and_records_when_how_far_and_what_it_found(kluis, clock):
    """The first run walks in full; the next, an interval later, checks only what was sealed since."""
    _fill(kluis, 5)
    poller = VerifyPoller()
    assert poller.poll(kluis) == 1
    first = _runs(kluis)[-1]
    assert (first.ok, first.full, first.by, first.from_seq, first.through_seq, first.checked) == (
        True, True, "worker", 0, 5, 5)
    assert first.at == clock.now() and first.full_at == first.at and first.seconds >= 0 and first.reason == ""
    _fill(kluis, 3)
    clock.advance(timedelta(minutes=59))
    assert poller.poll(kluis) == 0 and VerifyPoller().poll(kluis) == 0  # not due, whichever worker asks
    clock.advance(timedelta(minutes=1))
    assert poller.poll(kluis) == 1
    second = _runs(kluis)[-1]
    assert (second.ok, second.full, second.from_seq, second.through_seq, second.checked) == (True, False, 5, 8, 3)
    assert second.full_at == first.at


def test_r_gov_1_a_change_after_the_last_verified_event_is_broken_at_the_next_run(kluis, clock):
    _fill(kluis, 3)
    poller = VerifyPoller()
    poller.poll(kluis)
    _fill(kluis, 3)
    _tamper(kluis, 5)
    clock.advance(HOUR)
    assert poller.poll(kluis) == 1
    run = _runs(kluis)[-1]
    assert (run.ok, run.full, run.broken_seq, run.through_seq) == (False, False, 5, 4)
    assert "sealed link" in run.reason


def test_r_gov_1_a_change_to_an_already_verified_event_is_broken_at_the_next_full_walk(kluis, clock):
    """The documented limit of incremental runs: they start after the last verified event, so a change before it
    waits for the daily full walk. From then on every run walks in full and reports the break."""
    _fill(kluis, 4)
    poller = VerifyPoller()
    poller.poll(kluis)
    _tamper(kluis, 2)
    for _ in range(23):
        clock.advance(HOUR)
        poller.poll(kluis)
    assert all(r.ok for r in _runs(kluis)) and len(_runs(kluis)) == 24
    clock.advance(HOUR)
    poller.poll(kluis)
    clock.advance(HOUR)
    poller.poll(kluis)
    broken, still = _runs(kluis)[-2:]
    assert (broken.ok, broken.full, broken.broken_seq) == (False, True, 2)
    assert (still.ok, still.full, still.broken_seq) == (False, True, 2)


def test_r_gov_1_an_old_watermark_put_back_behind_a_verified_event_is_named(kluis, clock):
    """The last verified event acts as an anchor kept under the key: an incremental run refuses to start
    past a watermark that no longer reaches it, and a full walk still looks for it."""
    _fill(kluis, 3)
    with kluis.db.sessions() as session:
        old = {c: getattr(session.get(AuditSeal, 1), c) for c in ("sealed_seq", "sealed_mac", "mac", "safe_to")}
    _fill(kluis, 2)
    poller = VerifyPoller()
    poller.poll(kluis)
    with kluis.db.transaction() as session:
        session.execute(update(AuditSeal).values(**old))
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq > 3))
    clock.advance(HOUR)
    poller.poll(kluis)
    run = _runs(kluis)[-1]
    assert (run.ok, run.full, run.broken_seq) == (False, False, 5) and "old watermark" in run.reason
    clock.advance(HOUR)
    poller.poll(kluis)
    run = _runs(kluis)[-1]
    assert (run.ok, run.full, run.broken_seq) == (False, True, 5) and "anchor" in run.reason


def test_r_gov_1_a_record_changed_without_the_key_is_not_trusted_and_the_next_run_walks_in_full(kluis, clock):
    """Moving the starting point past a change needs the key: a forged record is shown as such, is due at once,
    and the full walk finds the change."""
    _fill(kluis, 3)
    poller = VerifyPoller()
    poller.poll(kluis)
    _tamper(kluis, 2)
    with kluis.db.transaction() as session:
        session.execute(update(AuditVerification).values(full_at=clock.now() + timedelta(days=365)))
    with kluis.db.sessions() as session:
        shown = verifications.last(session, clock, kluis.settings)
    assert shown is not None and shown.trusted is False
    assert VerifyPoller().poll(kluis) == 1
    run = _runs(kluis)[-1]
    assert (run.ok, run.full, run.broken_seq) == (False, True, 2)


def test_r_gov_1_the_newest_verification_is_stale_after_twice_the_interval(kluis, clock):
    _fill(kluis, 1)
    VerifyPoller().poll(kluis)
    clock.advance(2 * HOUR)
    with kluis.db.sessions() as session:
        assert not verifications.last(session, clock, kluis.settings).stale
    clock.advance(timedelta(seconds=1))
    with kluis.db.sessions() as session:
        assert verifications.last(session, clock, kluis.settings).stale


def test_r_gov_1_the_interval_is_a_setting(kluis, clock):
    kluis.settings = kluis.settings.model_copy(update={"audit_verify_minutes": 5, "audit_full_verify_hours": 0.25})
    _fill(kluis, 1)
    poller = VerifyPoller()
    poller.poll(kluis)
    clock.advance(timedelta(minutes=5))
    poller.poll(kluis)
    clock.advance(timedelta(minutes=10))
    poller.poll(kluis)
    assert [r.full for r in _runs(kluis)] == [True, False, True]


def test_r_gov_1_without_the_audit_key_the_worker_does_not_verify(kluis):
    kluis.settings = kluis.settings.model_copy(update={"audit_key": None})
    assert VerifyPoller().poll(kluis) == 0 and _runs(kluis) == []


def test_r_gov_1_only_the_newest_runs_are_kept(kluis, clock, monkeypatch):
    monkeypatch.setattr(verifications, "KEEP", 3)
    poller = VerifyPoller()
    for _ in range(5):
        poller.poll(kluis)
        clock.advance(HOUR)
    assert [r.id for r in _runs(kluis)] == [3, 4, 5]


def test_r_gov_1_cli_verify_walks_in_full_and_records_with_the_configured_key_only(kluis, clock):
    _fill(kluis, 3)
    VerifyPoller().poll(kluis)
    wiring.use_for_cli(kluis)
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
        run = _runs(kluis)[-1]
        assert (run.by, run.full, run.through_seq, run.checked) == ("cli", True, 3, 3)
        assert runner.invoke(app, ["audit", "verify", "--no-record"]).exit_code == 0
        other = runner.invoke(app, ["audit", "verify", "--key", new_secret()])
        assert other.exit_code == 1 and len(_runs(kluis)) == 2
        _tamper(kluis, 1)
        assert runner.invoke(app, ["audit", "verify"]).exit_code == 1
        assert (_runs(kluis)[-1].ok, _runs(kluis)[-1].broken_seq) == (False, 1)
    finally:
        wiring.use_for_cli(None)


@pytest.mark.parametrize("events", [0, 2])
def test_r_gov_1_an_incremental_run_holds_the_same_verdict_as_a_full_walk(kluis, events):
    _fill(kluis, 3)
    key = audit_key(kluis.settings.audit_key)
    with kluis.db.sessions() as session:
        start = audit_log.anchor(session)
    if events:
        _fill(kluis, events)
    with kluis.db.sessions() as session:
        full = audit_log.verify(session, key)
        since = audit_log.verify(session, key, since=start)
        counted = session.scalar(select(func.count()).select_from(AuditEvent))
    assert full.ok and since.ok and (full.head_seq, full.head_hash) == (since.head_seq, since.head_hash)
    assert (full.checked, since.checked) == (counted, events)

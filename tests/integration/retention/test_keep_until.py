"""``person.keep_until``: the latest due date among a person's records, kept on every write that can move
it, through which the sweep finds the people left with nothing (R-RET-1, R-RET-2)."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import delete, select, text, update
from tests.integration.retention.retention_support import KINDS, ams, employer, erased, person, record, records_of

from kluis.audit.models import AuditEvent
from kluis.retention import emptied, holds, keep, service, sweep
from kluis.schema import alembic_config
from kluis.vault.models import Person, Record
from kluis.vault.schemas import RecordIn


def keep_until(kluis, person_id):
    with kluis.db.sessions() as session:
        return session.scalar(select(Person.keep_until).where(Person.id == person_id))


def test_r_ret_1_keep_until_follows_every_write_that_moves_a_due_date(kluis, clock):
    clock.set(ams(2026, 1, 10, 9))
    boss = employer(kluis)
    pid, ids = person(kluis, "web", employer_id=boss, at=ams(2026, 1, 5, 9))
    assert keep_until(kluis, pid) == record(kluis, ids["web"]).due_at == ams(2026, 7, 5, 0)
    # An account runs until its contract ends: no due date yet, so nothing says when the person may go.
    with kluis.db.transaction() as session:
        [account] = kluis.vault(session, "test").add_records(pid, [service_record("account")])
    assert record(kluis, account).due_at is None and keep_until(kluis, pid) == keep.OPEN
    # The contract ends: the account gets its year, and the bound comes down to it.
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", pid, "contract_end", ams(2026, 1, 9, 17))
    assert keep_until(kluis, pid) == record(kluis, account).due_at == ams(2027, 1, 9, 0)
    # Marketing contact: its term moves with what the person does, and the bound with it.
    with kluis.db.transaction() as session:
        [contact] = kluis.vault(session, "test").add_records(pid, [service_record("marketing")])
    first = record(kluis, contact).due_at
    assert keep_until(kluis, pid) == first == ams(2029, 1, 10, 0)
    clock.set(ams(2026, 3, 1, 9))
    with kluis.db.transaction() as session:
        service.record_activity(session, clock, kluis.policy, "test", pid, "click")
    assert keep_until(kluis, pid) == record(kluis, contact).due_at == ams(2029, 3, 1, 0)


def service_record(kind):
    return RecordIn(**KINDS[kind], content={"n": 1})


def test_r_ret_2_a_person_goes_only_when_no_record_is_left_whatever_keep_until_says(kluis, clock):
    """The bound is only a way in: a person whose ``keep_until`` has passed but who still has a record (here
    the bound is forced early, as a write racing the sweep could leave it) keeps everything."""
    clock.set(ams(2025, 1, 10, 9))
    pid, ids = person(kluis, "web", "account", at=ams(2025, 1, 1, 9))
    with kluis.db.transaction() as session:
        session.execute(update(Person).where(Person.id == pid).values(keep_until=ams(2025, 2, 1, 0)))
    clock.set(ams(2025, 7, 2, 0))
    with kluis.db.sessions() as session:
        assert sweep.plan(session, clock.now()).people == 0
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (1, 0)
    assert not erased(kluis, pid) and [r.id for r in records_of(kluis, pid)] == [ids["account"]]


def test_issue_20_2_r_ret_2_a_person_goes_with_the_batch_that_deletes_their_last_record_or_not_at_all(
        kluis, clock, monkeypatch):
    """The people a batch leaves with nothing are erased in the batch's own transaction: a sweep killed while
    it erases them has deleted nothing either (no one is left behind with their records gone and their key
    kept); run again, it deletes the records and erases the people together."""
    clock.set(ams(2025, 1, 10, 9))
    gone = [person(kluis, "web", at=ams(2025, 1, 1, 9))[0] for _ in range(3)]
    stays, _ = person(kluis, "web", "account", at=ams(2025, 1, 1, 9))
    clock.set(ams(2025, 7, 2, 0))

    def killed(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(emptied, "_erase_some", killed)
    with pytest.raises(SystemExit):
        sweep.sweep(kluis)
    assert all(len(records_of(kluis, pid)) == 1 and not erased(kluis, pid) for pid in gone)
    monkeypatch.undo()
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (4, 3)
    assert all(erased(kluis, pid) and records_of(kluis, pid) == [] for pid in gone) and not erased(kluis, stays)
    assert all(keep_until(kluis, pid) is None for pid in gone)
    with kluis.db.sessions() as session:
        swept = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
            ["retention.swept", "retention.people_erased", "retention.sweep_finished"])).order_by(AuditEvent.seq))
        assert [(e.action, e.details.get("people")) for e in swept] == [
            ("retention.swept", None), ("retention.people_erased", 3), ("retention.sweep_finished", 3)]


def test_r_ret_2_people_left_with_nothing_otherwise_are_erased_after_the_walk(kluis, clock):
    """Whoever is left with nothing without the walk's batches finding them (their records deleted by a sweep of
    an earlier version killed between its two phases, say) is erased by the pass after the walk, once their
    latest due date has passed."""
    clock.set(ams(2025, 1, 10, 9))
    gone = [person(kluis, "web", at=ams(2025, 1, 1, 9))[0] for _ in range(3)]
    stays, _ = person(kluis, "web", "account", at=ams(2025, 1, 1, 9))
    clock.set(ams(2025, 7, 2, 0))
    with kluis.db.transaction() as session:
        session.execute(delete(Record).where(Record.person_id.in_(gone)))
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (1, 3)
    assert all(erased(kluis, pid) for pid in gone) and not erased(kluis, stays)
    assert all(keep_until(kluis, pid) is None for pid in gone)


def test_r_ret_2_a_row_another_writer_holds_is_passed_over_not_waited_for_and_taken_at_the_end(kluis, clock,
                                                                                                monkeypatch):
    """PostgreSQL: the sweep never waits on a row another transaction has locked (an erasure, another
    sweep); it passes over it and, once the walk is done, walks again from the start for what is still due."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    clock.set(ams(2025, 1, 10, 9))
    people = [person(kluis, "web", at=ams(2025, 1, 1 + n, 9)) for n in range(5)]
    clock.set(ams(2025, 7, 10, 0))
    held_id = people[2][1]["web"]
    locked, release, released = threading.Event(), threading.Event(), threading.Event()

    def other_writer():
        with kluis.db.engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM record WHERE id = :id FOR UPDATE"), {"id": held_id})
            locked.set()
            release.wait(timeout=60)
            conn.rollback()
        released.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert locked.wait(timeout=30)
    delete_batch, walked = sweep._delete_batch, []

    def again_from_the_start(session, now, holds, batch, after, skip_locked):
        if after is None and any(walked):  # the second walk
            assert record(kluis, held_id) is not None  # passed over, not waited for
            release.set()
            assert released.wait(timeout=30)
        walked.append(after is not None)
        return delete_batch(session, now, holds, batch, after, skip_locked)

    monkeypatch.setattr(sweep, "_delete_batch", again_from_the_start)
    report = sweep.sweep(kluis, batch=2)
    thread.join(timeout=30)
    assert release.is_set(), "the second walk ran only because a row had been passed over"
    assert (report.records, report.people) == (5, 5)
    assert all(erased(kluis, pid) for pid, _ in people)


@pytest.mark.plain_schema
def test_r_ret_2_the_migration_gives_existing_people_their_keep_until(kluis, clock):
    """Migration 0014 computes the column for people written before it: the latest due date, the open mark
    while a record has none, nothing for a person without records."""
    clock.set(ams(2026, 1, 10, 9))
    dated, _ = person(kluis, "web", "marketing", at=ams(2025, 12, 1, 9), last_activity=ams(2025, 12, 1, 9))
    open_, _ = person(kluis, "web", "account", at=ams(2026, 1, 5, 9))
    empty, _ = person(kluis)
    before = {pid: keep_until(kluis, pid) for pid in (dated, open_, empty)}
    assert before == {dated: ams(2028, 12, 1, 0), open_: keep.OPEN, empty: None}
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        # The schema as 0013 left it (dropped by hand: a batch downgrade on SQLite rebuilds the table).
        conn.execute(text("DROP INDEX ix_person_keep_until"))
        conn.execute(text("ALTER TABLE person DROP COLUMN keep_until"))
        command.stamp(config, "0013_intake_limits")
        command.upgrade(config, "0014_person_keep_until")
        command.stamp(config, "head")
    assert {pid: keep_until(kluis, pid) for pid in before} == before


def test_r_ret_2_a_record_added_during_the_sweep_keeps_its_person(kluis, clock, monkeypatch):
    """A record added for someone after their records were deleted and before the people are looked for (here:
    web traffic from a year ago, itself already due, added in the batch's transaction after its DELETE) keeps
    them: the look reads each candidate's records when it erases them."""
    clock.set(ams(2025, 1, 10, 9))
    late, _ = person(kluis, "web", at=ams(2025, 1, 1, 9))
    others = [person(kluis, "web", at=ams(2025, 1, 2, 9))[0] for _ in range(2)]
    clock.set(ams(2025, 7, 10, 0))
    look = emptied.erase
    added: list[bool] = []

    def and_meanwhile(running, session, *args, **kwargs):
        if not added:
            kluis.vault(session, "test").add_records(late, [RecordIn(**KINDS["web"], content={"n": 2},
                                                                     collected_at=ams(2024, 12, 1, 9))])
            added.append(True)
        return look(running, session, *args, **kwargs)

    monkeypatch.setattr(emptied, "erase", and_meanwhile)
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (3, 2)
    assert all(erased(kluis, pid) for pid in others)
    assert not erased(kluis, late) and len(records_of(kluis, late)) == 1


def test_r_ret_3_a_hold_placed_and_released_during_the_sweep_keeps_its_person(kluis, clock, monkeypatch):
    """A hold in force while the records are deleted keeps its records out of the batches; released before
    the people are erased, it leaves no active hold behind, yet the person still has those records and stays."""
    clock.set(ams(2025, 1, 10, 9))
    held, _ = person(kluis, "web", at=ams(2025, 1, 1, 9))
    free, _ = person(kluis, "web", at=ams(2025, 1, 1, 9))
    clock.set(ams(2025, 7, 10, 0))
    records_phase = sweep._sweep_records

    def while_held(*args, **kwargs):
        with kluis.db.transaction() as session:
            hold = holds.place(session, clock, kluis.policy, "dpo", scope="person", person_id=held, reason="litigation")
        records_phase(*args, **kwargs)
        with kluis.db.transaction() as session:
            holds.release(session, clock, "dpo", hold.id)

    monkeypatch.setattr(sweep, "_sweep_records", while_held)
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (1, 1)
    assert erased(kluis, free) and not erased(kluis, held) and len(records_of(kluis, held)) == 1


def test_issue_20_2_r_ret_3_a_hold_placed_after_a_batch_chose_its_rows_keeps_them(kluis, clock, monkeypatch):
    """PostgreSQL: a hold placed by another transaction after a batch read which holds are in force, before
    its DELETE, still keeps what it covers: the DELETE asks again, as it deletes, whether a hold covers the row."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("a second writer during a batch: PostgreSQL (SQLite has one writer)")
    clock.set(ams(2025, 1, 10, 9))
    held, held_records = person(kluis, "web", at=ams(2025, 1, 1, 9))
    free, _ = person(kluis, "web", at=ams(2025, 1, 1, 9))
    clock.set(ams(2025, 7, 10, 0))
    read_holds, placed = sweep.active_holds, []

    def then_a_hold_is_placed(session, now):
        in_force = read_holds(session, now)
        if not placed:  # the first batch: the holds are read, then one is placed before the batch deletes
            with kluis.db.transaction() as other:
                placed.append(holds.place(other, clock, kluis.policy, "dpo", scope="person", person_id=held,
                                          reason="litigation").id)
        return in_force

    monkeypatch.setattr(sweep, "active_holds", then_a_hold_is_placed)
    report = sweep.sweep(kluis)
    assert placed and report.records == 1 and report.people == 1
    assert erased(kluis, free) and record(kluis, held_records["web"]) is not None and not erased(kluis, held)

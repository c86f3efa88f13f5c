"""Issue 20 item 2 (R-RET-2): the sweep's batches read their stretch of the walk from the walk's own index
(migration 0034) and lock nothing before they delete, yet never wait for a record another transaction holds (they
give up on it at once and pass over it), and they rest on no session: the sweep runs through pgbouncer in
transaction mode and leaves no setting behind on the server's connection. Each batch erases the people it left
with nothing, and its size is a setting."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from tests.integration.retention.retention_support import ams, erased, person
from tests.pooling import bounced_databases

from kluis import schema
from kluis.audit.models import AuditEvent
from kluis.config import Settings
from kluis.db import make_engine
from kluis.retention import sweep
from kluis.retention.models import SweepRun
from kluis.schema import alembic_config
from kluis.vault.models import ErasureLogEntry, Record
from kluis.wiring import build

SWEEP_AT = ams(2026, 1, 15, 12)


def _people(kluis, n: int) -> list:
    """``n`` people with two records of web traffic each, collected in the spring of 2025 (due by the sweep),
    and every third with an account as well (never due)."""
    made = []
    for i in range(n):
        kinds = ("web", "web", "account") if i % 3 == 0 else ("web", "web")
        made.append(person(kluis, *kinds, at=ams(2025, 4, 1 + i % 28, 9))[0])
    return made


def _due(kluis) -> set:
    with kluis.db.sessions() as session:
        return set(session.scalars(select(Record.id).where(Record.due_at <= SWEEP_AT)))


@pytest.mark.postgres
def test_issue_20_2_r_ret_2_a_sweep_passes_over_a_record_another_transaction_holds_without_waiting(kluis, clock):
    if kluis.db.dialect != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one writer)")
    people = _people(kluis, 12)
    due = _due(kluis)
    with kluis.db.sessions() as session:
        held_id, owner = session.execute(select(Record.id, Record.person_id).where(
            Record.person_id == people[1], Record.due_at <= SWEEP_AT).limit(1)).one()
    reports: list[sweep.SweepReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(sweep.sweep(kluis, batch=5, now=SWEEP_AT))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    with kluis.db.engine.connect() as holder:
        # Another transaction (an erasure, say) holds one due record while the sweep runs.
        holder.execute(text("SELECT id FROM record WHERE person_id = :p AND id = :i FOR UPDATE"),
                       {"p": owner, "i": held_id})
        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=60)
        waited = worker.is_alive()
        holder.rollback()
    worker.join(timeout=60)
    assert not waited, "the sweep waited for a record another transaction held"
    assert not errors, errors
    assert reports[0].records == len(due) - 1
    assert _due(kluis) == {held_id}  # the rest went, the held one stays for the next sweep
    assert not erased(kluis, owner) and all(erased(kluis, p) for p in people if p != owner and people.index(p) % 3)

    again = sweep.sweep(kluis, batch=5, now=SWEEP_AT)
    assert again.records == 1 and again.people == 1 and erased(kluis, owner) and not _due(kluis)


@pytest.fixture
def bounced(settings: Settings) -> Iterator[tuple[str, str]]:
    """The test's databases through a pgbouncer in transaction mode with two server connections each (the
    sweep reads the policy on a second connection while a batch's transaction is open)."""
    with bounced_databases(settings, pool_size=2) as urls:
        yield urls


@pytest.mark.postgres
def test_issue_20_2_r_ret_2_the_sweep_runs_through_pgbouncer_in_transaction_mode_and_leaves_no_setting_behind(
        kluis, settings, bounced):
    people = _people(kluis, 12)
    with kluis.db.sessions() as session:
        plan = sweep.plan(session, SWEEP_AT)
    through = settings.model_copy(update={"database_url": bounced[0], "keystore_url": bounced[1],
                                          "db_prepare_threshold": None, "db_pool_size": 2, "db_max_overflow": 0})
    pooled = build(through, clock=kluis.clock)
    try:
        # Batches of 2: every statement of a batch runs more than five times (psycopg would prepare it).
        report = sweep.sweep(pooled, batch=2, now=SWEEP_AT)
    finally:
        pooled.close()
    assert report.records == plan.records > 10 and report.people == plan.people
    assert not _due(kluis) and sum(erased(kluis, p) for p in people) == plan.people
    # Both server connections every transaction ran on wait for locks as they did before the sweep: two
    # transactions open at once, one on each.
    engine = make_engine(bounced[0], pool_size=2, max_overflow=0, prepare_threshold=None)
    try:
        with engine.connect() as first, engine.connect() as second:
            servers = {conn.execute(text("SELECT pg_backend_pid()")).scalar() for conn in (first, second)}
            assert len(servers) == 2
            assert [conn.execute(text("SHOW lock_timeout")).scalar() for conn in (first, second)] == ["0", "0"]
    finally:
        engine.dispose()


@pytest.mark.plain_schema
def test_issue_20_2_r_ret_2_migration_0034_goes_down_and_up_to_the_models(kluis):
    """Migration 0034_record_due_walk gives the record table the walk's index, (due_at, person_id, id), in place
    of the one on due_at alone, exactly as the model declares it, and goes down again."""
    def indexes(conn) -> dict[str, list[str]]:
        return {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("record")}

    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0033_person_keys")
        assert indexes(conn)["ix_record_due_at"] == ["due_at"] and "ix_record_due" not in indexes(conn)
        command.upgrade(config, "head")
        after = indexes(conn)
        assert after["ix_record_due"] == ["due_at", "person_id", "id"] and "ix_record_due_at" not in after
    assert schema.differences(kluis.db) == []


def test_issue_20_2_r_ret_2_each_person_goes_with_the_batch_that_deletes_their_last_record(kluis, clock):
    """A batch erases, in its own transaction, the people it left with nothing: each person once, in the batch
    that deleted their last record (the one with their latest due date), with their key logged as destroyed."""
    # Two web records each (due on the same day), a day after the previous person's; every third keeps an
    # account (never due) and stays.
    people = [person(kluis, *(("web", "web", "account") if n % 3 == 0 else ("web", "web")),
                     at=ams(2025, 4, 1 + n, 9))[0] for n in range(6)]
    report = sweep.sweep(kluis, batch=3, now=SWEEP_AT)
    assert (report.records, report.people, report.batches) == (12, 4, 4)
    with kluis.db.sessions() as session:
        events = [(e.action, e.details) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["retention.swept", "retention.people_erased"]))
            .order_by(AuditEvent.seq))]
        # Records due in order of the people's collection: the batches of 3 take people 0-1, 1-2, 3-4, 4-5.
        assert [(a, d.get("records", d.get("people"))) for a, d in events] == [
            ("retention.swept", 3), ("retention.swept", 3), ("retention.people_erased", 2),
            ("retention.swept", 3), ("retention.swept", 3), ("retention.people_erased", 2)]
        run = session.scalars(select(SweepRun).where(SweepRun.id == report.run_id)).one()
        assert (run.records, run.people) == (12, 4)
    with kluis.db.key_sessions() as keys:
        logged = keys.scalars(select(ErasureLogEntry.key_id).where(ErasureLogEntry.action == "key_destroyed",
                                                                   ErasureLogEntry.reason == "retention")).all()
    gone = [p for n, p in enumerate(people) if n % 3]
    assert sorted(logged) == sorted(gone) and all(erased(kluis, p) for p in gone)
    assert not any(erased(kluis, p) for n, p in enumerate(people) if n % 3 == 0)


def test_issue_20_2_r_ret_2_the_batch_size_is_a_setting(kluis, clock):
    """KLUIS_RETENTION_SWEEP_BATCH sets the records a sweep deletes per transaction when none is given."""
    assert Settings.model_fields["retention_sweep_batch"].default == sweep.BATCH == 100_000
    _people(kluis, 3)
    kluis.settings = kluis.settings.model_copy(update={"retention_sweep_batch": 2})
    assert sweep.sweep(kluis, now=SWEEP_AT).batches == 3

"""Issue 20 item 2 (R-RET-2): the sweep names a row by (person_id, id), never by its physical address.
A row's address (ctid) is unique only within one physical table: on a record table partitioned by person, a
delete by address erased rows of other partitions that happened to share it, some not yet due."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from tests.integration.retention.retention_support import KINDS, ams
from tests.partitioning import whole_tables

from kluis.retention import sweep
from kluis.vault.models import Person, Record
from kluis.vault.schemas import BatchRecordIn, PersonIn
from kluis.wiring import Kluis, build

PARTITIONS = 4


@pytest.fixture
def partitioned(kluis, settings, clock) -> Iterator[Kluis]:
    """A Kluis on a schema of its own: every table as the migrations made it, except ``record``, hash-partitioned
    four ways by person with its key on (person_id, id) (PostgreSQL will not partition a table keyed on id alone)."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("partitioned tables: PostgreSQL")
    schema = f"sweep_parts_{uuid.uuid4().hex[:10]}"
    with kluis.db.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        for table in whole_tables(conn, versions=True):
            if table == "record":
                continue
            conn.execute(text(f'CREATE TABLE "{schema}"."{table}" (LIKE public."{table}" INCLUDING ALL)'))
            conn.execute(text(f'INSERT INTO "{schema}"."{table}" SELECT * FROM public."{table}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".record (LIKE public.record INCLUDING DEFAULTS, '
                          f"PRIMARY KEY (person_id, id)) PARTITION BY HASH (person_id)"))
        for remainder in range(PARTITIONS):
            conn.execute(text(f'CREATE TABLE "{schema}".record_{remainder} PARTITION OF "{schema}".record '
                              f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder})"))
        conn.execute(text(f'CREATE INDEX ON "{schema}".record (due_at, person_id, id)'))
        conn.execute(text(f'CREATE INDEX ON "{schema}".record (person_id, category)'))
    url = make_url(settings.database_url).update_query_dict({"options": f"-csearch_path={schema},public"})
    instance = build(settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)}),
                     clock=clock)
    try:
        yield instance
    finally:
        instance.close()
        with kluis.db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.mark.postgres
def test_issue_20_2_r_ret_2_on_a_record_table_partitioned_by_person_the_sweep_erases_exactly_the_due_rows(
        partitioned, clock):
    kluis = partitioned
    clock.set(ams(2026, 1, 10, 9))
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        people = vault.create_people([PersonIn(subject_types=["lead"]) for _ in range(50)])
        items = []
        for n, someone in enumerate(people):
            # Web traffic is kept six months from collection: collected on days 0..24 of December, it falls
            # due on days 0..24 of June, and the sweep runs on 13 June; an account is never due.
            for k in range(3):
                items.append(BatchRecordIn(person_id=someone.id, **KINDS["web"], content={"n": n, "k": k},
                                           collected_at=ams(2025, 12, 1, 9) + timedelta(days=(n + 7 * k) % 25)))
            if n % 5:
                items.append(BatchRecordIn(person_id=someone.id, **KINDS["account"], content={"n": n}))
        vault.add_records(None, items)
    at = ams(2026, 6, 13, 12)
    with kluis.db.engine.connect() as conn:
        rows, addresses = conn.execute(text("SELECT count(*), count(DISTINCT ctid) FROM record")).one()
        parts = conn.execute(text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'record'::regclass")).scalar()
    # Rows of different partitions share an address: the case at issue.
    assert parts == PARTITIONS and rows == 190 and addresses < rows
    with kluis.db.sessions() as session:
        due = {tuple(row) for row in session.execute(select(Record.person_id, Record.id).where(Record.due_at <= at))}
        kept = {tuple(row) for row in session.execute(select(Record.person_id, Record.id).where(
            (Record.due_at > at) | Record.due_at.is_(None)))}
        plan = sweep.plan(session, at)
    assert 0 < len(due) < len(kept) and plan.records == len(due)

    report = sweep.sweep(kluis, batch=7, now=at)

    with kluis.db.sessions() as session:
        left = {tuple(row) for row in session.execute(select(Record.person_id, Record.id))}
        shredded = set(session.scalars(select(Person.id).where(Person.shredded_at.is_not(None))))
    assert left == kept  # every row not yet due is still there, and nothing due is
    assert report.records == len(due) and report.batches == -(-len(due) // 7)
    assert shredded == {p.id for p in people} - {person_id for person_id, _ in kept} and len(shredded) == plan.people

"""Migration 0033 (issue 20 items 1 and 2, R-VLT-1, R-VLT-2): a database holding people at 0032 keeps every row
when its tables are keyed on the person, and people are found through the new blind index afterwards."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from tests.integration.erasure.erasure_support import person_with_everything

from kluis import schema
from kluis.kit.errors import Invalid
from kluis.rights.models import (
    AccessPackage,
    AccessPackageChunk,
    DataSubjectRequest,
    Rectification,
    VerificationCode,
)
from kluis.schema import alembic_config
from kluis.vault import search
from kluis.vault.models import IdentifierLookup, Record
from kluis.vault.schemas import IdentifierIn, PersonIn

pytestmark = pytest.mark.plain_schema  # every test here moves the schema down and up
BEFORE = "0032_request_assignee"
EMAIL = "sleutel@example.nl"
# The tables 0033 rebuilds, with a column that orders their rows.
TABLES = [
    "identifier",
    "record",
    "rectification",
    "consent_event",
    "objection",
    "restriction",
    "relation",
    "access_package_chunk",
    "access_package",
    "data_subject_request",
]


def _more_rows(kluis, person_id):
    """What ``person_with_everything`` leaves out: an objection, a restriction, a rectification, a request and
    an access package with a chunk."""
    now = kluis.clock.now()
    request_id, package_id = uuid.uuid4(), uuid.uuid4()
    with kluis.db.transaction() as session:
        gate = kluis.gate(session, "test")
        gate.object(person_id, "profiling", "person")
        gate.restrict(person_id, "accuracy_contested", "person")
        record_id = session.scalars(select(Record.id).where(Record.person_id == person_id)).first()
        session.execute(
            DataSubjectRequest.__table__.insert(),
            [
                {
                    "id": request_id,
                    "type": "access",
                    "channel": "staff",
                    "state": "open",
                    "lang": "nl",
                    "received_at": now,
                    "deadline_on": (now + timedelta(days=30)).date(),
                    "deadline_at": now + timedelta(days=30),
                    "claimed_person_id": person_id,
                    "person_id": person_id,
                    "processor_role": False,
                    "reminders_sent": [],
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        session.execute(
            Rectification.__table__.insert(),
            [
                {
                    "person_id": person_id,
                    "id": uuid.uuid4(),
                    "request_id": request_id,
                    "record_id": record_id,
                    "category": "basic",
                    "fields": ["city"],
                    "by": "staff",
                    "told": [],
                    "at": now,
                }
            ],
        )
        session.execute(
            AccessPackage.__table__.insert(),
            [
                {
                    "id": package_id,
                    "request_id": request_id,
                    "person_id": person_id,
                    "portability": False,
                    "controller_only": False,
                    "lang": "nl",
                    "state": "ready",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "downloads": 0,
                    "created_at": now,
                }
            ],
        )
        session.execute(
            AccessPackageChunk.__table__.insert(),
            [{"person_id": person_id, "package_id": package_id, "seq": 0, "data": b"sealed"}],
        )
    return record_id


def _rows(kluis):
    with kluis.db.engine.connect() as conn:
        return {
            table: sorted(
                (dict(row) for row in conn.execute(text(f"SELECT * FROM {table}")).mappings()),
                key=lambda row: str(row.get("id") or row.get("seq")),
            )
            for table in TABLES
        }


def _downgrade(kluis, revision):
    """The data schema back to ``revision``, with SQLite's references checked at the end as ``schema.upgrade``
    does: rebuilding a table must not take the rows referring to it along."""
    with kluis.db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                config = alembic_config(kluis.db.url, "data")
                config.attributes["connection"] = conn
                command.downgrade(config, revision)
                assert not sqlite or not conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def test_issue_20_r_vlt_2_the_migration_keeps_every_row_and_people_are_found_through_the_blind_index(kluis):
    person_id, _ = person_with_everything(kluis, email=EMAIL)
    record_id = _more_rows(kluis, person_id)
    _downgrade(kluis, BEFORE)
    assert "identifier_lookup" not in inspect(kluis.db.engine).get_table_names()
    before = _rows(kluis)
    assert all(before[table] for table in TABLES), "every rebuilt table holds a row"

    schema.upgrade(kluis.db)

    assert not schema.differences(kluis.db)
    after = _rows(kluis)
    for table in TABLES:
        assert [{k: v for k, v in row.items() if k in before[table][0]} for row in after[table]] == before[table]
    assert {uuid.UUID(str(row["person_id"])) for row in after["access_package_chunk"]} == {person_id}
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        assert vault.identified(IdentifierIn(kind="email", value=EMAIL.upper())) == person_id
        assert vault.identified(IdentifierIn(kind="phone", value="+31612345678")) == person_id
        assert [f.person_id for f in search.search(session, kluis.clock, kluis.keys, "test", EMAIL)] == [person_id]
        assert session.scalar(select(IdentifierLookup.person_id).where(IdentifierLookup.kind == "email")) == person_id
    try:
        with kluis.db.transaction() as session:
            kluis.vault(session, "test").create_person(
                PersonIn(subject_types=["lead"], identifiers=[IdentifierIn(kind="email", value=EMAIL)])
            )
        raise AssertionError("an address that is someone's was taken again")
    except Invalid as refused:
        assert [p.code for p in refused.problems] == ["identifier_taken"]
    # The rectification refers to its record within the person: deleting the record takes it along.
    with kluis.db.transaction() as session:
        session.execute(Record.__table__.delete().where(Record.person_id == person_id, Record.id == record_id))
        assert session.scalars(select(Rectification).where(Rectification.person_id == person_id)).all() == []


def test_issue_20_an_upgrade_that_rebuilds_a_table_keeps_the_rows_that_refer_to_it(kluis):
    """SQLite changes a table by building a new one and dropping the old; while foreign keys were enforced during
    the upgrade, dropping ``data_subject_request`` in 0032 deleted every verification code (ON DELETE CASCADE).
    The upgrade now checks the references once at its end instead (``schema.upgrade``)."""
    _downgrade(kluis, "0031_person_sessions")
    now = kluis.clock.now()
    request_id = uuid.uuid4()
    with kluis.db.engine.begin() as conn:
        conn.execute(
            DataSubjectRequest.__table__.insert(),
            [
                {
                    "id": request_id,
                    "type": "access",
                    "channel": "staff",
                    "state": "unverified",
                    "lang": "nl",
                    "received_at": now,
                    "deadline_on": now.date(),
                    "deadline_at": now,
                    "processor_role": False,
                    "reminders_sent": [],
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        conn.execute(
            VerificationCode.__table__.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "request_id": request_id,
                    "digest": "0" * 64,
                    "tries": 0,
                    "created_at": now,
                    "expires_at": now,
                }
            ],
        )
    schema.upgrade(kluis.db)
    with kluis.db.sessions() as session:
        assert session.scalars(select(VerificationCode.request_id)).all() == [request_id]

"""Bulk writes of the vault. PostgreSQL takes rows by COPY, the fastest path it has; others by executemany."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from kluis.vault.models import Record

# Column and PostgreSQL type, in COPY order (binary COPY needs the exact types).
RECORD_COLUMNS = (("id", "uuid"), ("person_id", "uuid"), ("category", "varchar"), ("purposes", "json"),
                  ("legal_basis", "varchar"), ("source", "varchar"), ("controller", "varchar"),
                  ("controller_employer_id", "uuid"), ("content_kind", "varchar"), ("media_type", "varchar"),
                  ("ciphertext", "bytea"), ("policy_version", "int4"), ("collected_at", "timestamptz"),
                  ("last_activity_at", "timestamptz"), ("created_at", "timestamptz"), ("updated_at", "timestamptz"),
                  ("rule_id", "varchar"), ("due_at", "timestamptz"))


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(Record.__table__.insert(), list(rows))
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    names = [name for name, _ in RECORD_COLUMNS]
    statement = f"COPY record ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([kind for _, kind in RECORD_COLUMNS])
        for row in rows:
            copy.write_row([row[name] for name in names])

"""Bulk writes of the vault, and its blind index. PostgreSQL takes rows by COPY, the fastest path it has; others
by executemany.

An identifier is two rows: the person's own (``identifier``, keyed on the person with their other data) and its
entry in the blind index (``identifier_lookup``, keyed by digest), which says whose it is and keeps it unique. The
functions here write and delete both together; no other code writes either table.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kluis.db import among
from kluis.vault.models import Identifier, IdentifierLookup, Record

# Column and PostgreSQL type, in COPY order (binary COPY needs the exact types).
RECORD_COLUMNS = (("id", "uuid"), ("person_id", "uuid"), ("category", "varchar"), ("purposes", "json"),
                  ("legal_basis", "varchar"), ("source", "varchar"), ("controller", "varchar"),
                  ("controller_employer_id", "uuid"), ("content_kind", "varchar"), ("media_type", "varchar"),
                  ("ciphertext", "bytea"), ("policy_version", "int4"), ("collected_at", "timestamptz"),
                  ("last_activity_at", "timestamptz"), ("created_at", "timestamptz"), ("updated_at", "timestamptz"),
                  ("rule_id", "varchar"), ("due_at", "timestamptz"))
_RECORD_NAMES = tuple(name for name, _ in RECORD_COLUMNS)
_record_values = itemgetter(*_RECORD_NAMES)  # a row's values in COPY order, as one tuple
_PURPOSES = _RECORD_NAMES.index("purposes")


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(Record.__table__.insert(), list(rows))
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    statement = f"COPY record ({', '.join(_RECORD_NAMES)}) FROM STDIN (FORMAT BINARY)"
    # The purposes go as their JSON text, typed text: json's binary form is its text. The driver would serialize
    # each row's list on its own; a batch holds a few distinct ones, each serialized once here.
    encoded: dict[tuple[str, ...], str] = {}
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(["text" if name == "purposes" else kind for name, kind in RECORD_COLUMNS])
        write, values = copy.write_row, _record_values
        for row in rows:
            value = values(row)
            purposes = tuple(value[_PURPOSES])
            if (text := encoded.get(purposes)) is None:
                text = encoded[purposes] = json.dumps(list(purposes))
            write(value[:_PURPOSES] + (text,) + value[_PURPOSES + 1:])


IDENTIFIER_COLUMNS = (("person_id", "uuid"), ("id", "uuid"), ("kind", "varchar"), ("scope", "varchar"),
                      ("digest", "bytea"), ("ciphertext", "bytea"), ("created_at", "timestamptz"))
LOOKUP_COLUMNS = (("digest", "bytea"), ("kind", "varchar"), ("scope", "varchar"), ("person_id", "uuid"))
_identifiers = Identifier.__table__
_lookups = IdentifierLookup.__table__


def insert_identifiers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Identifier rows (``IDENTIFIER_COLUMNS``) and their blind-index entries. An identifier already someone's
    fails on the index's key, as ``IntegrityError`` however it was written."""
    if not rows:
        return
    _write(session, _lookups, LOOKUP_COLUMNS, [{name: row[name] for name, _ in LOOKUP_COLUMNS} for row in rows])
    _write(session, _identifiers, IDENTIFIER_COLUMNS, rows)


def owner(session: Session, kind: str, scope: str, digest: bytes) -> uuid.UUID | None:
    """Whose identifier this is: one row of the blind index, read by its key."""
    return session.scalar(select(_lookups.c.person_id).where(_lookups.c.digest == digest, _lookups.c.kind == kind,
                                                               _lookups.c.scope == scope))


def owners(session: Session, wanted: Collection[tuple[str, str, bytes]]) -> list[tuple[uuid.UUID, str]]:
    """(person, kind) of each identifier in ``wanted`` (kind, scope, digest) that is someone's."""
    if not wanted:
        return []
    digests = [digest for _, _, digest in wanted]
    found = session.execute(select(_lookups.c.digest, _lookups.c.kind, _lookups.c.scope, _lookups.c.person_id)
                            .where(among(session, _lookups.c.digest, digests)))
    wanted = set(wanted)
    return [(row.person_id, row.kind) for row in found if (row.kind, row.scope, row.digest) in wanted]


def taken(session: Session, digests: Sequence[bytes]) -> list[bytes]:
    """Which of these digests are in the blind index already: one query on its key per thousand."""
    out: list[bytes] = []
    for start in range(0, len(digests), 1000):
        out += session.scalars(select(_lookups.c.digest).where(_lookups.c.digest.in_(digests[start:start + 1000])))
    return out


def delete_identifiers(session: Session, person_ids: Sequence[uuid.UUID],
                       only: Collection[bytes] | None = None) -> list[Any]:
    """The people's identifiers (``only`` those with these digests), deleted with their blind-index entries, so an
    erased address is no longer confirmable (R-VLT-5); each deleted row's id, kind, scope, digest, creation and
    ciphertext as they were."""
    query = delete(_identifiers).where(among(session, _identifiers.c.person_id, person_ids))
    if only is not None:
        query = query.where(_identifiers.c.digest.in_(only))
    gone = list(session.execute(query.returning(
        _identifiers.c.person_id, _identifiers.c.id, _identifiers.c.kind, _identifiers.c.scope,
        _identifiers.c.digest, _identifiers.c.created_at, _identifiers.c.ciphertext)))
    if gone:
        # By digest, the index's key; the person is named too, so an entry is only ever removed by its owner.
        session.execute(delete(_lookups).where(among(session, _lookups.c.digest, [row.digest for row in gone]),
                                               among(session, _lookups.c.person_id, person_ids)))
    return gone


def _write(session: Session, table: Table, columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> None:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(table.insert(), list(rows))
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    names = [name for name, _ in columns]
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([kind for _, kind in columns])
            for row in rows:
                copy.write_row([row[name] for name in names])
    except connection.dialect.loaded_dbapi.IntegrityError as exc:  # as an INSERT would have raised it
        raise IntegrityError(statement, None, exc) from exc

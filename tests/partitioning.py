"""The data tables hash-partitioned as a distributed PostgreSQL (Citus) would spread them (issue 20 item 3): every
table keyed on the person by ``person_id`` (``person`` by its id), the blind index by digest, in 4 partitions each,
from the models' own DDL. Two uses: ``partitioned_kluis`` (tests/integration/vault/partitioned.py) builds them in a
schema of its own for one test; with KLUIS_TEST_PARTITIONED=1, tests/conftest.py converts the run's migrated data
database in place once (``partition_in_place``), so the whole PostgreSQL suite runs on them.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, MetaData, Table, text

from kluis.db import Base
from kluis.migrations.models import METADATA

PARTITIONS = 4
# The switch: the whole PostgreSQL pass on a partitioned data database (tests marked ``plain_schema`` get a plain
# migrated one of their own).
ENABLED = os.environ.get("KLUIS_TEST_PARTITIONED") == "1"


def whole_tables(conn: Connection, versions: bool = False) -> list[str]:
    """The public schema's tables, a partitioned one without its partitions (``pg_tables`` lists both): reading,
    deleting or copying the parent covers them, and doing it again on a partition would count its rows twice.
    Alembic's version tables only if asked."""
    return list(conn.execute(text(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') "
        "AND NOT relispartition AND (:versions OR relname NOT LIKE 'alembic_version%') ORDER BY relname"),
        {"versions": versions}).scalars())


def partition_key(table: Table) -> str | None:
    """The column a table is spread by: the person for the person's rows (their key starts with it), the digest
    for the blind index; None for the tables that stay whole (queues, registers, staff, policy, audit)."""
    first = next(iter(table.primary_key.columns)).name
    if table.name == "person":
        return "id"
    if table.name == "identifier_lookup":
        return "digest"
    return "person_id" if first == "person_id" else None


def partitioned_metadata() -> MetaData:
    """The data tables as the models define them, those with a partition key declared PARTITION BY HASH."""
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in METADATA["data"].sorted_tables:
        copy = table.to_metadata(metadata)
        if (key := partition_key(table)) is not None:
            copy.dialect_options["postgresql"]["partition_by"] = f"HASH ({key})"
    return metadata


def create_partitions(conn: Connection, table: Table) -> None:
    for remainder in range(PARTITIONS):
        conn.execute(text(f'CREATE TABLE "{table.name}_p{remainder}" PARTITION OF "{table.name}" '
                          f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder})"))


def partition_in_place(engine: Engine) -> None:
    """Replace a migrated data database's person-keyed tables by partitioned ones with the same DDL, keeping their
    rows. Only those tables are dropped and made again: the rest (queues, registers, audit) keep what the
    migrations made. Nothing else references them (tests/unit/vault/test_person_keyed_models.py), so the drop
    takes no other table's foreign key with it; if one did, the check below says so rather than lose it."""
    metadata = partitioned_metadata()
    spread = [t for t in metadata.sorted_tables if partition_key(t) is not None]
    names = {t.name for t in spread}
    with engine.begin() as conn:
        crossing = conn.execute(text(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'public'::regnamespace")).all()
        outside = [(a, b) for a, b in crossing if b.strip('"') in names and a.strip('"') not in names]
        if outside:
            raise RuntimeError(f"foreign keys into person-keyed tables from elsewhere: {outside}")
        rows = {t.name: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{t.name}"')).mappings()] for t in spread}
        # Sequences a dropped table owned go with it, and those the DDL makes start again: made again if need be,
        # each is given its place back.
        places = dict(conn.execute(text("SELECT sequencename, last_value FROM pg_sequences "
                                        "WHERE schemaname = 'public'")).all())
        for table in reversed(spread):
            conn.execute(text(f'DROP TABLE "{table.name}" CASCADE'))
        metadata.create_all(conn, tables=spread)
        for table in spread:
            create_partitions(conn, table)
            if rows[table.name]:
                columns = list(rows[table.name][0])
                named = ", ".join(f'"{c}"' for c in columns)
                conn.execute(text(f'INSERT INTO "{table.name}" ({named}) '
                                  f'VALUES ({", ".join(":" + c for c in columns)})'), rows[table.name])
        for name, last in places.items():
            conn.execute(text(f'CREATE SEQUENCE IF NOT EXISTS "{name}"'))
            if last is not None:
                conn.execute(text("SELECT setval(:name, :last)"), {"name": f'"{name}"', "last": last})

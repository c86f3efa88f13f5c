"""A Kluis whose data tables are hash-partitioned as a distributed PostgreSQL (Citus) would spread them (issue 20
item 3): every table keyed on the person by ``person_id`` (``person`` by its id), the blind index by digest, in
4 partitions each (tests/partitioning.py). Built from the models' own DDL in a schema of its own on the test's
data database; the rows and sequences the migrations wrote (policy, audit) are copied in. Any test may ask for
``partitioned_kluis`` (tests/conftest.py makes it a fixture of the whole suite); it skips on SQLite.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.partitioning import create_partitions, partition_key, partitioned_metadata

from kluis.config import Settings
from kluis.kit.clock import SettableClock
from kluis.wiring import Kluis, build


@pytest.fixture
def partitioned_kluis(
    database_urls: tuple[str, str], settings: Settings, clock: SettableClock, empty_datasets: dict[str, Path]
) -> Iterator[Kluis]:
    data_url, _ = database_urls
    if make_url(data_url).get_backend_name() != "postgresql":
        pytest.skip("hash partitioning is PostgreSQL's")
    schema = f"kluis_part_{uuid.uuid4().hex[:10]}"
    admin = create_engine(data_url)
    metadata = partitioned_metadata()
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        metadata.create_all(conn)
        # The sequences the statements name (audit events, consent events), as the migrations made them.
        for name, last in conn.execute(
            text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        ):
            conn.execute(text(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START {(last or 0) + 1}'))
        for table in metadata.sorted_tables:
            if partition_key(table) is not None:
                create_partitions(conn, table)
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            conn.execute(text(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM public."{table.name}"'))
    url = make_url(data_url).update_query_dict({"options": f"-csearch_path={schema}"})
    instance = build(
        settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)}), clock=clock
    )
    for name, dataset_url in settings.dataset_urls.items():
        shutil.copyfile(empty_datasets[name], dataset_url.get_secret_value().removeprefix("sqlite:///"))
    try:
        yield instance
    finally:
        instance.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

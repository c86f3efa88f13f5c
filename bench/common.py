"""Shared set-up of the benchmarks: a fresh Kluis on a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import resource
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kluis import schema
from kluis.config import Settings
from kluis.vault.crypto import new_secret
from kluis.wiring import Kluis, build

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def _ready(settings: Settings) -> Iterator[Kluis]:
    kluis = build(settings)
    schema.upgrade(kluis.db)
    kluis.register_policy()
    try:
        yield kluis
    finally:
        kluis.close()


@contextmanager
def fresh_kluis(backend: str, pg_url: str = PG_URL) -> Iterator[Kluis]:
    keys = {"master_key": new_secret(), "index_key": new_secret(), "secret_key": new_secret()}
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kluis-bench-") as tmp, _ready(
                Settings(_env_file=None, database_url=f"sqlite:///{Path(tmp) / 'kluis.db'}", **keys)) as kluis:
            yield kluis
        return
    base = make_url(pg_url)
    name = f"kluis_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(False)
        with _ready(Settings(_env_file=None, database_url=url, **keys)) as kluis:
            yield kluis
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""Shared set-up of the benchmarks: a fresh Kluis on a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import logging
import resource
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import kluis.subscriptions  # noqa: F401 - installs who reacts to which domain event
from kluis import schema
from kluis.config import Settings
from kluis.kit.secrets import new_secret
from kluis.wiring import Kluis, build

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Progress of long steps (filling, sweeping) is logged when output is not a terminal (kluis.kit.cli.progress).
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
for quiet in ("alembic", "httpx"):
    logging.getLogger(quiet).setLevel(logging.WARNING)


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
    keys = {"master_key": new_secret(), "index_key": new_secret(), "secret_key": new_secret(),
            "certificate_key": new_secret(), "audit_key": new_secret()}
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


def pg_filler(kluis: Kluis, people: int, records_per_person: int, batch: int = 100_000,
              on_batch=None) -> None:  # type: ignore[no-untyped-def]
    """Fill a PostgreSQL vault with people who are never read: the realistic bulk (index depth, table
    size) around the people a benchmark measures. One e-mail identifier each (random digest and
    bytes), records with random bytes for ciphertext; no keys (nobody opens them). Set-based SQL."""
    with kluis.db.engine.begin() as conn:
        for start in range(0, people, batch):
            n = min(batch, people - start)
            conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS filler (id uuid)"))
            conn.execute(text("INSERT INTO filler SELECT gen_random_uuid() FROM generate_series(1, :n)"), {"n": n})
            conn.execute(text(
                "INSERT INTO person (id, subject_types, employer_id, created_at, updated_at) "
                "SELECT id, '[\"lead\"]'::json, NULL, now(), now() FROM filler"))
            conn.execute(text(
                "INSERT INTO identifier (id, person_id, kind, scope, digest, ciphertext, created_at) "
                "SELECT gen_random_uuid(), id, 'email', '', sha256(id::text::bytea), "
                "sha256(('c' || id::text)::bytea), now() FROM filler"))
            conn.execute(text(
                "INSERT INTO record (id, person_id, category, purposes, legal_basis, source, controller, "
                "controller_employer_id, content_kind, media_type, ciphertext, policy_version, collected_at, "
                "last_activity_at, created_at, updated_at) "
                "SELECT gen_random_uuid(), f.id, (ARRAY['basic','interests','account','content','web_traffic'])"
                "[1 + (g % 5)], '[\"accounts\"]'::json, 'contract', 'direct', 'benvitaal', NULL, 'json', NULL, "
                "sha256(f.id::text::bytea) || sha256(g::text::bytea) || sha256(f.id::text::bytea), NULL, "
                "now(), now(), now(), now() FROM filler f CROSS JOIN generate_series(1, :per) g"),
                {"per": records_per_person})
            conn.execute(text("DELETE FROM filler"))
            if on_batch:
                on_batch(n)
        for table in ("person", "identifier", "record"):
            conn.execute(text(f"ANALYZE {table}"))

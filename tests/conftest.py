"""Fixtures: a fresh Kluis on a fresh database (SQLite by default, PostgreSQL with KLUIS_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from kluis import schema
from kluis.app import create_app
from kluis.config import Settings
from kluis.demo.datasets import create_demo_schemas
from kluis.kit.clock import SettableClock
from kluis.kit.secrets import new_secret
from kluis.wiring import Kluis, build
from tests import partitioning
from tests.integration.vault.partitioned import partitioned_kluis  # noqa: F401 (a fixture for every test)

SERVER_URL = os.environ.get("KLUIS_TEST_DATABASE_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test


def _share_route_building() -> None:
    """Each test builds an application, and FastAPI prepares every route of an application on its first request
    (dependencies analysed, a pydantic adapter per parameter): over a second per test, most of the suite's time.
    The routes of the domains' routers are the same objects in every application, so what FastAPI prepares for
    one (route, path) is prepared once per run and shared. The entry keeps its route alive: a route built inside
    ``create_app`` (``/health``) is new for every application and never matches another's."""
    from fastapi import routing

    prepare = routing._EffectiveRouteContext.from_api_route.__func__
    prepared: dict[tuple[int, str], tuple[Any, Any]] = {}

    def shared(cls: Any, *, original_route: Any, include_context: Any) -> Any:
        key = (id(original_route), include_context.path_for(original_route))
        if (hit := prepared.get(key)) is not None and hit[0] is original_route:
            return hit[1]
        context = prepare(cls, original_route=original_route, include_context=include_context)
        prepared[key] = (original_route, context)
        return context

    routing._EffectiveRouteContext.from_api_route = classmethod(shared)


_share_route_building()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass (KLUIS_TEST_DATABASE_URL set) only the tests whose outcome can depend on the
    database run: those given a database (``database_urls``, which every Kluis fixture builds on) or marked
    ``postgres``. The rest (pure rules, documentation, the CLI's start-up, the bench scripts' --help) ran on
    the SQLite pass with exactly the same code; running them twice only costs time. KLUIS_TEST_EVERYTHING=1
    runs them anyway."""
    if not SERVER_URL or os.environ.get("KLUIS_TEST_EVERYTHING") == "1":
        return
    kept = [item for item in items if "database_urls" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("postgres")]
    if len(kept) < len(items):
        chosen = set(kept)
        config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
        items[:] = kept


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str] | _Reusable]:
    """The data and key-store schemas, migrated once per run. SQLite: two template files that each test copies.
    A server: two databases that each test gets emptied (creating, migrating and dropping two databases per
    test cost about a second each, most of the PostgreSQL run). With KLUIS_TEST_PARTITIONED=1 the data
    database's person-keyed tables are then hash-partitioned (tests/partitioning.py), once for the run."""
    if not SERVER_URL:
        folder = tmp_path_factory.mktemp("template")
        urls = (f"sqlite:///{folder / 'kluis.db'}", f"sqlite:///{folder / 'kluis-keys.db'}")
        _migrate(urls)
        yield urls
        return
    yield from _server_databases(partitioned=partitioning.ENABLED)


@pytest.fixture(scope="session")
def _plain_migrated() -> Iterator[_Reusable]:
    """In a partitioned run, the plain migrated databases the tests marked ``plain_schema`` get: made only if
    one of them runs."""
    assert SERVER_URL
    yield from _server_databases(partitioned=False)


def _server_databases(partitioned: bool) -> Iterator[_Reusable]:
    assert SERVER_URL
    base = make_url(SERVER_URL)
    names = [f"kluis_t_{uuid.uuid4().hex[:12]}", f"kluis_k_{uuid.uuid4().hex[:12]}"]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        urls = tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
        reusable = _Reusable(urls, partitioned)  # type: ignore[arg-type]
        yield reusable
        reusable.close()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(urls: tuple[str, str]) -> None:
    keys = {"master_key": new_secret(), "index_key": new_secret(), "secret_key": new_secret()}
    instance = build(Settings(_env_file=None, database_url=urls[0], keystore_url=urls[1], **keys))
    try:
        schema.upgrade(instance.db)
    finally:
        instance.close()


# Before each test, in the database in one statement: a session a test left open would hold locks, so it is ended
# rather than waited for; every table's rows are deleted with foreign keys unchecked (a partition's through its
# parent); the sequences restart.
_EMPTY = """DO $$
DECLARE name text;
BEGIN
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid();
    SET LOCAL session_replication_role = replica;
    FOR name IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                   AND c.relname NOT LIKE 'alembic_version%' LOOP
        EXECUTE format('DELETE FROM public.%I', name);
    END LOOP;
    FOR name IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER SEQUENCE public.%I RESTART', name);
    END LOOP;
END $$"""


class _Reusable:
    """Two server databases, migrated (the data one then partitioned if asked) and emptied before each test:
    every table's rows deleted (foreign keys not checked meanwhile), sequences restarted, and the rows the
    migrations wrote put back. A test that moved the schema (a downgrade) gets it made again."""

    def __init__(self, urls: tuple[str, str], partitioned: bool) -> None:
        self.urls = urls
        self.partitioned = partitioned
        # One connection each, kept for the run (checked before use: a test may end every session): opening two
        # for every test cost more than emptying the databases.
        self.engines = [create_engine(url, pool_size=1, max_overflow=1, pool_pre_ping=True) for url in urls]
        self._make()
        self.seeds = [self._snapshot(engine) for engine in self.engines]

    def _make(self) -> None:
        _migrate(self.urls)
        if self.partitioned:
            partitioning.partition_in_place(self.engines[0])

    @staticmethod
    def _tables(conn: Connection) -> list[str]:
        return partitioning.whole_tables(conn)

    def _snapshot(self, engine: Engine) -> dict[str, Any]:
        with engine.connect() as conn:
            rows = {t: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{t}"')).mappings()]
                    for t in self._tables(conn)}
            versions = {t: sorted(conn.execute(text(f'SELECT version_num FROM "{t}"')).scalars())
                        for t in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                                   "AND tablename LIKE 'alembic_version%'")).scalars()}
        return {"rows": {t: r for t, r in rows.items() if r}, "versions": versions}

    def empty(self) -> None:
        connections = [engine.connect() for engine in self.engines]
        try:
            moved = any(self._moved(conn, seed) for conn, seed in zip(connections, self.seeds, strict=True))
            if moved:
                for conn in connections:
                    conn.close()
                if self.partitioned:
                    # Migrations do not know partitioned tables: the data schema is made again from nothing.
                    with self.engines[0].begin() as conn:
                        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                        conn.execute(text("DROP SCHEMA public CASCADE"))
                        conn.execute(text("CREATE SCHEMA public"))
                self._make()
                connections = [engine.connect() for engine in self.engines]
            for conn, seed in zip(connections, self.seeds, strict=True):
                with conn.begin():
                    conn.execute(text(_EMPTY))  # one round trip: ~100 statements one by one took 0.1-0.5 s a test
                    for table, rows in seed["rows"].items():
                        columns = list(rows[0])
                        conn.execute(text(f'INSERT INTO "{table}" ({", ".join(columns)}) '
                                          f'VALUES ({", ".join(":" + c for c in columns)})'), rows)
        finally:
            for conn in connections:
                conn.close()

    @staticmethod
    def _moved(conn: Connection, seed: dict[str, Any]) -> bool:
        try:
            return any(sorted(conn.execute(text(f'SELECT version_num FROM "{table}"')).scalars()) != versions
                       for table, versions in seed["versions"].items())
        finally:
            conn.rollback()

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


@pytest.fixture
def database_urls(_migrated: tuple[str, str] | _Reusable, tmp_path: Path, request: pytest.FixtureRequest
                  ) -> tuple[str, str]:
    """(data URL, key-store URL), migrated and empty. SQLite: copies of the template files in the test's
    folder. On a server: the run's two databases, emptied; in a partitioned run, a test about the plain
    migrated schema (marked ``plain_schema``) gets plain ones of its own."""
    if isinstance(_migrated, _Reusable):
        if _migrated.partitioned and request.node.get_closest_marker("plain_schema"):
            plain: _Reusable = request.getfixturevalue("_plain_migrated")
            plain.empty()
            return plain.urls
        _migrated.empty()
        return _migrated.urls
    urls = (f"sqlite:///{tmp_path / 'kluis.db'}", f"sqlite:///{tmp_path / 'kluis-keys.db'}")
    for template, copy in zip(_migrated, urls, strict=True):
        shutil.copyfile(template.removeprefix("sqlite:///"), copy.removeprefix("sqlite:///"))
    return urls


@pytest.fixture(scope="session")
def empty_datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo dataset schemas, empty, made once: each test gets its own copy of the files."""
    folder = tmp_path_factory.mktemp("datasets")
    files = {name: folder / f"{name}.db" for name in ("benmobiel", "webinars")}
    create_demo_schemas({name: f"sqlite:///{path}" for name, path in files.items()}, [],
                        datetime(2026, 1, 1, tzinfo=UTC))
    return files


@pytest.fixture
def settings(database_urls: tuple[str, str], tmp_path: Path) -> Settings:
    data_url, key_url = database_urls
    # The policy's datasets (R-DSR-9) as empty demo databases: a declared dataset without a URL would make
    # every access package wait. tests/integration/test_datasets.py fills them on every kind of server.
    datasets = {name: f"sqlite:///{tmp_path / f'dataset-{name}.db'}" for name in ("benmobiel", "webinars")}
    return Settings(_env_file=None, database_url=data_url, keystore_url=key_url, master_key=new_secret(),
                    index_key=new_secret(), secret_key=new_secret(), certificate_key=new_secret(),
                    audit_key=new_secret(), dataset_urls=datasets)


@pytest.fixture
def kluis(settings: Settings, clock: SettableClock, empty_datasets: dict[str, Path]) -> Iterator[Kluis]:
    instance = build(settings, clock=clock)  # on databases migrated once per run (``database_urls``)
    for name, url in settings.dataset_urls.items():
        shutil.copyfile(empty_datasets[name], url.get_secret_value().removeprefix("sqlite:///"))
    yield instance
    instance.close()


@pytest.fixture
def client(kluis: Kluis) -> Iterator[TestClient]:
    with TestClient(create_app(kluis)) as test_client:
        yield test_client


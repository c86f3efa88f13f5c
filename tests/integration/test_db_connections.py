"""Pooled connections to a database server: a dead one is replaced before use; one used a moment ago is not
checked again (R-DSR-9: service databases; the data database the same way)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from kluis.config import Settings
from kluis.db import ping_when_idle
from kluis.kit.secrets import new_secret
from kluis.wiring import build

SERVERS = {
    "postgresql": os.environ.get("KLUIS_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": os.environ.get("KLUIS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend(:pid)", "mariadb": "KILL :pid"}


class Clock:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_connection_killed_while_idle_is_replaced_before_the_caller_uses_it(server):
    clock = Clock()
    engine = ping_when_idle(create_engine(SERVERS[server], pool_size=1, max_overflow=0), idle_seconds=10, now=clock)
    admin = create_engine(SERVERS[server], isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            first = conn.execute(text(BACKEND_ID[server])).scalar_one()
        with admin.connect() as conn:
            conn.execute(text(KILL[server]), {"pid": first})
        clock.at += 11  # idle long enough to be checked
        with engine.connect() as conn:
            second = conn.execute(text(BACKEND_ID[server])).scalar_one()
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged_again():
    clock = Clock()
    engine = ping_when_idle(create_engine(SERVERS["postgresql"], pool_size=1, max_overflow=0), idle_seconds=10,
                            now=clock)
    pings = []
    real = engine.dialect.do_ping
    engine.dialect.do_ping = lambda dbapi_conn: pings.append(1) or real(dbapi_conn)  # type: ignore[method-assign]
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            clock.at += 1
        assert pings == []  # made or handed back within the last 10 seconds each time
        clock.at += 30
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert pings == [1]
    finally:
        engine.dispose()


def test_each_process_keeps_the_pool_its_settings_name():
    """KLUIS_DB_POOL_SIZE and KLUIS_DB_MAX_OVERFLOW size the data database's pool and the key store's (R-DSR-9: the
    data database the same way), so a larger machine can give its server processes more connections."""
    url = SERVERS["postgresql"]
    settings = Settings(_env_file=None, database_url=url, keystore_url=url.replace("/postgres", "/template1"),
                        db_pool_size=3, db_max_overflow=1, master_key=new_secret(), index_key=new_secret(),
                        secret_key=new_secret(), certificate_key=new_secret(), audit_key=new_secret())
    kluis = build(settings)
    try:
        for engine in (kluis.db.engine, kluis.db.key_engine):
            assert isinstance(engine.pool, QueuePool)
            assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)
        assert kluis.db.key_engine is not kluis.db.engine
    finally:
        kluis.close()


@pytest.mark.postgres
@pytest.mark.parametrize(("given", "prepared"), [("none", False), (None, True)])
def test_issue_20_kluis_db_prepare_threshold_none_prepares_no_statement_for_pgbouncer(monkeypatch, given, prepared):
    """Behind pgbouncer in transaction mode a statement prepared on one server connection is missing on the next:
    KLUIS_DB_PREPARE_THRESHOLD=none makes psycopg prepare nothing (docs/architecture.md); left unset, psycopg
    prepares a statement run often, as before."""
    if given is not None:
        monkeypatch.setenv("KLUIS_DB_PREPARE_THRESHOLD", given)
    url = SERVERS["postgresql"]
    keys = make_url(url).set(database="template1").render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=url, keystore_url=keys, master_key=new_secret(),
                        index_key=new_secret(), secret_key=new_secret(), certificate_key=new_secret(),
                        audit_key=new_secret())
    kluis = build(settings)
    try:
        for engine in (kluis.db.engine, kluis.db.key_engine):
            with engine.connect() as conn:
                for n in range(8):
                    conn.execute(text("SELECT 1 + :n"), {"n": n})
                count = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
            assert (count > 0) is prepared
    finally:
        kluis.close()

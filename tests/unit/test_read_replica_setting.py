"""KLUIS_READ_DATABASE_URL names a PostgreSQL streaming replica to read gate decisions from (R-GATE-1, issue 20
item 4): with SQLite there is no replica, so the setting is refused at start-up with an error that says so."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kluis.config import Settings
from kluis.db import Database

PG = "postgresql+psycopg://kluis@replica.example/kluis"


@pytest.mark.parametrize(
    ("database_url", "read_url"),
    [("sqlite:///kluis.db", PG), ("postgresql+psycopg://kluis@db/kluis", "sqlite:///r.db")],
)
def test_r_gate_1_a_read_replica_beside_sqlite_is_refused_at_start_up(database_url: str, read_url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, database_url=database_url, read_database_url=read_url)
    assert "KLUIS_READ_DATABASE_URL" in str(refused.value) and "SQLite has no replicas" in str(refused.value)


def test_r_gate_1_unset_decisions_are_read_from_the_database_itself() -> None:
    assert Settings(_env_file=None).read_database_url is None
    db = Database("sqlite://", "sqlite://")
    try:
        assert db.read_engine is db.engine and db.read_sessions is db.sessions
    finally:
        db.dispose()
    assert (
        Settings(
            _env_file=None, database_url="postgresql+psycopg://kluis@db/kluis", read_database_url=PG
        ).read_database_url
        == PG
    )

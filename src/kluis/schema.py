"""Creating and upgrading the schema of the data database and of the key store (Alembic)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from kluis.db import Database
from kluis.kit.errors import ConfigurationError
from kluis.migrations.models import METADATA
from kluis.vault.crypto import KeyRing

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, target: str) -> Config:
    """``target`` is ``data`` (people, records, audit, ...) or ``keys`` (the key store)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / target))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["target"] = target
    return config


def upgrade(db: Database, revision: str = "heads", keys: KeyRing | None = None) -> None:
    """The key store first, then the data database: a data step may move keys into the key store (0027: orders'
    document keys), on the key store's connection and with ``keys``' master keys. With a key store of its own,
    its transaction commits before the data's: a key moved without its data protects nothing, and the step
    does not move it twice."""
    with (db.engine.connect() as conn, _foreign_keys_checked_at_end(conn), conn.begin(),
          _key_connection(db, conn) as key_conn):
        config = alembic_config(str(db.key_engine.url.render_as_string(hide_password=False)), "keys")
        config.attributes["connection"] = key_conn
        command.upgrade(config, revision)
        config = alembic_config(db.url, "data")
        config.attributes.update(connection=conn, key_connection=key_conn,
                                 master_keys=(keys.master, *keys.previous) if keys else ())
        command.upgrade(config, revision)
        _check_foreign_keys(conn)


@contextmanager
def _foreign_keys_checked_at_end(conn: Connection) -> Iterator[None]:
    """SQLite changes a table by building a new one and dropping the old (Alembic's batch mode); dropping a table
    others reference deletes their rows too (ON DELETE CASCADE) while foreign keys are enforced. As SQLite's own
    procedure for schema changes says, enforcement is off during the upgrade (it can only be switched outside a
    transaction) and the references are checked once before the commit (``_check_foreign_keys``)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name == "sqlite" and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
        tables = sorted({row[0] for row in broken})
        raise ConfigurationError(f"the upgrade left rows whose references are gone in {', '.join(tables)}; "
                                 "nothing was changed", code="schema_upgrade_broken")


@contextmanager
def _key_connection(db: Database, data_connection: Connection) -> Iterator[Connection]:
    if db.key_engine is db.engine:
        yield data_connection
    else:
        with db.key_engine.begin() as conn:
            yield conn


def behind(db: Database) -> list[str]:
    """The schemas that are not at their newest migration (empty when both are current)."""
    from alembic.script import ScriptDirectory

    stale = []
    for engine, target in ((db.engine, "data"), (db.key_engine, "keys")):
        version_table = "alembic_version" if target == "data" else "alembic_version_keys"
        heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url), target)).get_heads())
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_heads())
        if current != heads:
            stale.append(target)
    return stale


def ensure_current(db: Database) -> None:
    """Refuse to serve or work on an old schema: a clear message now, not errors on every request later."""
    stale = behind(db)
    if stale:
        raise ConfigurationError(f"the {' and '.join(stale)} schema is not up to date: run `kluis migrate` first",
                                 code="schema_outdated")


def differences(db: Database) -> list[Any]:
    """What the migrated schema lacks or has beyond the models (empty when head matches the models)."""
    found: list[Any] = []
    for engine, target in ((db.engine, "data"), (db.key_engine, "keys")):
        version_table = "alembic_version" if target == "data" else "alembic_version_keys"
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": version_table})
            found += [d for d in compare_metadata(context, METADATA[target]) if not _foreign_table(d, target)]
    return found


def _foreign_table(diff: Any, target: str) -> bool:
    """When both schemas share one database, each sees the other's tables and their indexes: those are
    not differences."""
    if not (isinstance(diff, tuple) and diff):
        return False
    other = METADATA["keys" if target == "data" else "data"]
    ours = METADATA[target]
    versions = ("alembic_version", "alembic_version_keys")
    if diff[0] == "remove_table":
        return diff[1].name in other.tables or diff[1].name in versions
    if diff[0] == "remove_index":
        table = diff[1].table.name
        return table not in ours.tables and (table in other.tables or table in versions)
    return False

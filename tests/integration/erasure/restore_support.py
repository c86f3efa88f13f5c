"""Shared by the restore drills: a backup of a database taken and put back as an operator would, and looks at
what a restore left."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from tests.partitioning import whole_tables

from kluis.audit.models import AuditEvent
from kluis.consent.marketing.models import Suppression
from kluis.erasure import service as erasure
from kluis.erasure.rules import JobState, Reason
from kluis.kit.errors import NotFound
from kluis.vault.identifiers import normalise
from kluis.vault.models import Identifier, Person
from kluis.vault.schemas import IdentifierIn

SCHEMA = "kluis_backup"


class Backup:
    """One database's backup. SQLite: the online backup API (`sqlite3 kluis.db ".backup FILE"`), which copies a
    consistent state also in WAL mode, and put back the same way. PostgreSQL: every table copied into a schema
    of its own and the sequences' positions noted (a pg_dump in miniature), put back over the live tables."""

    def __init__(self, engine: Engine, folder: Path, name: str) -> None:
        self.engine = engine
        self.file = folder / f"{name}.backup.db"
        self.sequences: dict[str, tuple[int, bool]] = {}
        self.tables: list[str] = []

    def take(self) -> None:
        if self.engine.dialect.name == "sqlite":
            _copy(Path(self.engine.url.database or ""), self.file)
            return
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
            self.tables = whole_tables(conn)  # a partitioned table with its partitions' rows
            for table in self.tables:
                conn.execute(text(f'CREATE TABLE "{SCHEMA}"."{table}" AS TABLE public."{table}"'))
            for name in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                                          )).scalars():
                row = conn.execute(text(f'SELECT last_value, is_called FROM public."{name}"')).one()
                self.sequences[name] = (row.last_value, row.is_called)

    def restore(self) -> None:
        """Put the backup back (the caller has stopped using the database: its pools are emptied here)."""
        self.engine.dispose()
        if self.engine.dialect.name == "sqlite":
            _copy(self.file, Path(self.engine.url.database or ""))
            return
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in self.tables:
                conn.execute(text(f'DELETE FROM public."{table}"'))
                conn.execute(text(f'INSERT INTO public."{table}" SELECT * FROM "{SCHEMA}"."{table}"'))
            for name, (value, called) in self.sequences.items():
                conn.execute(text("SELECT setval(:name, :value, :called)"),
                             {"name": f'public."{name}"', "value": value, "called": called})
            conn.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def erase(kluis, person_id):
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    job = erasure.Runner(kluis, "test").run(job_id)
    assert job.state == JobState.DONE, job.last_error
    return job_id


def look_up(kluis, email):
    """The person a lookup by the address finds, or None."""
    with kluis.db.transaction() as session:
        try:
            return kluis.vault(session, "test").find_person(IdentifierIn(kind="email", value=email), "accounts").id
        except NotFound:
            return None


def digest_of(kluis, email):
    value, scope = normalise("email", email, None, "identifier")  # type: ignore[misc]
    return kluis.keys.digest("email", scope, value)


def blind_index_entries(kluis, email):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Identifier).where(
            Identifier.kind == "email", Identifier.digest == digest_of(kluis, email)))


def suppressed(kluis, email):
    with kluis.db.sessions() as session:
        return session.get(Suppression, (digest_of(kluis, email), "marketing_email")) is not None


def shredded(kluis, person_id):
    with kluis.db.sessions() as session:
        return session.get(Person, person_id).shredded_at is not None


def events(kluis, action):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def state(kluis):
    """Row counts of what a replay may touch, to show a second replay changes nothing."""
    from kluis.consent.marketing.models import InterestProfile
    from kluis.vault.models import ErasureLogEntry, PersonKey, Record

    with kluis.db.sessions() as session:
        counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                  for model in (Person, Record, Identifier, Suppression, InterestProfile)}
        counts["shredded"] = session.scalar(select(func.count()).select_from(Person)
                                            .where(Person.shredded_at.is_not(None)))
    with kluis.db.key_sessions() as session:
        counts["person_key"] = session.scalar(select(func.count()).select_from(PersonKey))
        counts["erasure_log"] = session.scalar(select(func.count()).select_from(ErasureLogEntry))
    return counts

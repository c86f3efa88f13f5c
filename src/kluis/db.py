"""Database wiring: engines, sessions, the declarative bases and a UTC datetime column type."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    Result,
    Subquery,
    Table,
    any_,
    bindparam,
    column,
    create_engine,
    event,
    func,
    select,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from kluis.kit.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


WRITE_OPTION = "kluis_write"
DECISIONS_CHANGED = "kluis.decisions_changed"


class Base(DeclarativeBase):
    """Tables of the data database (people, records, audit, staff, policy versions, ...)."""

    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:  # every model maps one table (none a join or a select), so Core statements take it
        __table__: ClassVar[Table]


class KeyBase(DeclarativeBase):
    """Tables of the key store, kept apart from the data (see docs/adr/0001-key-store.md)."""

    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:  # as Base
        __table__: ClassVar[Table]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware UTC datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Kluis stores aware UTC instants only")
        return as_utc(value) if dialect.name != "sqlite" else as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


# A server process runs sync endpoints on up to 40 threads (AnyIO's default), each holding a connection for its
# request (and one more for the caller's key). SQLAlchemy's default pool (5 kept, 10 more opened and closed again)
# made most requests under load open a new PostgreSQL connection: 20 are kept, 20 more may be opened
# (KLUIS_DB_POOL_SIZE, KLUIS_DB_MAX_OVERFLOW).
POOL_SIZE = 20
MAX_OVERFLOW = 20
# psycopg prepares a statement on the server once a connection has run it this many times (its own default).
# None never prepares: a pooler in transaction mode (pgbouncer) hands each transaction another server
# connection, where a statement prepared on the first does not exist (KLUIS_DB_PREPARE_THRESHOLD).
PREPARE_THRESHOLD: int | None = 5


def make_engine(url: str, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW,
                prepare_threshold: int | None = PREPARE_THRESHOLD, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take the write lock at BEGIN: SQLite has one writer, and upgrading a read lock
            # mid-transaction fails under concurrency instead of waiting.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Units of work that write take the lock at once; plain reads share the database.
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    options = {"pool_size": pool_size, "max_overflow": max_overflow, **kwargs}
    if not url.startswith("postgresql+psycopg:"):
        return ping_when_idle(create_engine(url, **options))
    options["connect_args"] = {"prepare_threshold": prepare_threshold, **options.get("connect_args", {})}
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _binary_arrays)
    return ping_when_idle(engine)


def _binary_arrays(dbapi_conn: Any, _record: Any) -> None:
    """Send list parameters (the arrays of ``among`` and ``given_rows``) in PostgreSQL's binary array format.
    psycopg's default for them is the text format, built item by item in Python with a quoting check on each:
    about 10 µs an item for a timestamp and 2 for a uuid, so the few arrays of a 100-record batch cost more CPU
    than its encryption. The binary form takes each item's own binary dumper (C for timestamps), 5 to 20 times
    less. Every list Kluis binds holds one type (an ``ARRAY`` of the column's type)."""
    from psycopg.types.array import ListBinaryDumper  # only a server database needs the driver

    dbapi_conn.adapters.register_dumper(list, ListBinaryDumper)


def among(session: Session, column: ColumnElement[Any] | QueryableAttribute[Any],
          values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``: on PostgreSQL as ``= ANY(array)``, one parameter however many values, so the
    statement is planned once (an IN list of thousands is a new statement to parse and plan each time)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, value=list(values), type_=ARRAY(column.type)))
    return column.in_(values)


# Rows of a VALUES list a statement takes elsewhere than on PostgreSQL: SQLite binds at most 32,766 values.
GIVEN_ROWS = 1000


def given_rows(session: Session, columns: Sequence[tuple[str, TypeEngine[Any]]],
               rows: Sequence[Sequence[Any]]) -> list[Subquery]:
    """Rows the caller gives (one value per column, in ``columns``' order) as a table to join in one statement,
    so a write for many people is one statement instead of one per person (``UPDATE ... FROM`` it). On
    PostgreSQL one array parameter per column, zipped by ``unnest``: one statement for any number of rows, with
    the same text every time (planned once). Elsewhere a ``VALUES`` list, in parts of ``GIVEN_ROWS`` rows."""
    return [part for part, _ in given_parts(session, columns, rows)]


def given_parts(session: Session, columns: Sequence[tuple[str, TypeEngine[Any]]],
                rows: Sequence[Sequence[Any]]) -> list[tuple[Subquery, Sequence[Sequence[Any]]]]:
    """``given_rows``, each part with the rows it holds: a statement joining a part to a large table names the
    part's keys too (``among``), so the database reads only their rows through the table's index. Joined on the
    given rows alone, the table's index is reached only through a nested loop, one probe a given row, which
    PostgreSQL judged dearer than reading the whole table: on a record table of 26,000 rows it read all of them
    (4 ms) to update a batch's 100 people's (0.5 ms through the index)."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return [(select(*(func.unnest(bindparam(None, [row[i] for row in rows], type_=ARRAY(kind))).label(name)
                          for i, (name, kind) in enumerate(columns))).subquery(), rows)]
    parts: list[tuple[Subquery, Sequence[Sequence[Any]]]] = []
    for start in range(0, len(rows), GIVEN_ROWS):
        some = rows[start:start + GIVEN_ROWS]
        # An unnamed VALUES list: its columns are column1, column2, ... on every database that has one.
        listed = values(*(column(f"column{i + 1}", kind) for i, (_, kind) in enumerate(columns)))
        listed = listed.data([tuple(row) for row in some])
        parts.append((select(*(listed.c[f"column{i + 1}"].label(name)
                               for i, (name, _) in enumerate(columns))).subquery(), some))
    return parts


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` is typed to give a plain ``Result``; for those
    statements it is a ``CursorResult``, which counts them."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


# A pooled connection used within this many seconds is taken as alive: the server would have to go away in
# that window, and then the first statement fails and the pool starts afresh.
IDLE_PING_SECONDS = 10.0


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS,
                   now: Callable[[], float] = time.monotonic) -> Engine:
    """Check a pooled connection before use when it has been idle for a while (a restarted server, a firewall
    that dropped the socket, an idle timeout): a dead one is replaced before the caller sees it. Unlike
    ``pool_pre_ping``, a connection handed back a moment ago is not pinged again: a worker running many short
    transactions would otherwise pay a round trip for each."""

    @event.listens_for(engine, "connect")  # a connection just made needs no check either
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["kluis.returned_at"] = now()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("kluis.returned_at")
        if returned is not None and now() - returned < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is gone")

    return engine


def changes_decisions(session: Session) -> None:
    """Mark the session's unit of work as one that changes what the gate decides (facts, an erasure, a key):
    with a read replica configured it commits only once the replica has applied it (``_applied_on_replica``)."""
    session.info[DECISIONS_CHANGED] = True


def _applied_on_replica(session: Session) -> None:
    # Run just before COMMIT: the primary acknowledges the commit only when every synchronous standby has
    # replayed it, so a decision read from the replica after the acknowledgement sees it (docs/gate.md). Only
    # these units of work wait for replay; the rest commit as synchronous_commit says.
    if session.info.pop(DECISIONS_CHANGED, False):
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = remote_apply")


class Database:
    """The data database and the key store, each with its own engine and sessions; and where the gate's
    decisions are read: the data database, or a streaming replica of it (``read_url``)."""

    def __init__(self, url: str, keystore_url: str, pool_size: int = POOL_SIZE,
                 max_overflow: int = MAX_OVERFLOW, read_url: str | None = None,
                 prepare_threshold: int | None = PREPARE_THRESHOLD) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size, max_overflow, prepare_threshold)
        self.key_engine = (self.engine if keystore_url == url
                           else make_engine(keystore_url, pool_size, max_overflow, prepare_threshold))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.key_sessions = sessionmaker(self.key_engine, expire_on_commit=False)
        self.read_engine = (make_engine(read_url, pool_size, max_overflow, prepare_threshold) if read_url
                            else self.engine)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False) if read_url else self.sessions
        if read_url:
            event.listen(self.sessions, "before_commit", _applied_on_replica)
        self._held: list[Any] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits once at the end, rolls back everything on any error."""
        with self.sessions() as session, session.begin():
            session.connection(execution_options={WRITE_OPTION: True})
            yield session

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A bare connection (no ORM session: its set-up costs more than the statement) for ONE statement that is
        a transaction of its own. PostgreSQL runs it in autocommit mode: the server commits the statement by
        itself, as durably as a COMMIT (synchronous_commit applies the same), and the BEGIN and COMMIT round
        trips are saved. SQLite gets a transaction around it, its write lock taken at once."""
        with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection.execution_options(isolation_level="AUTOCOMMIT")
                yield connection
                return
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection

    @contextmanager
    def key_transaction(self) -> Iterator[Session]:
        with self.key_sessions() as session, session.begin():
            session.connection(execution_options={WRITE_OPTION: True})
            yield session

    def held_connection(self, key_store: bool = False, reads: bool = False) -> Any:
        """A driver connection of the data database (or of the key store, or where decisions are read) in
        autocommit mode (each statement sees what is committed at that moment), outside the pool, for one owner
        that uses it serially; closed by ``dispose``."""
        raw = (self.key_engine if key_store else self.read_engine if reads else self.engine).raw_connection()
        connection = raw.driver_connection
        assert connection is not None  # a connection just taken from the pool is open
        raw.detach()
        connection.rollback()
        connection.autocommit = True
        if self.dialect == "postgresql" and connection.prepare_threshold is not None:
            # The hot paths' statements look rows up by key and are prepared: one generic plan each, kept. On
            # tables partitioned by person (issue 20) PostgreSQL would otherwise plan the read again at every call
            # (a custom plan prunes the partitions at planning and so looks cheaper); the generic plan prunes
            # them when it runs, by the person given. Only where statements are prepared: behind pgbouncer in
            # transaction mode nothing is (KLUIS_DB_PREPARE_THRESHOLD=none) and no session-level SET is made.
            connection.execute("SET plan_cache_mode = force_generic_plan")
        self._held = [c for c in self._held if not c.closed] + [connection]
        return connection

    def dispose(self) -> None:
        for connection in self._held:
            connection.close()
        self._held = []
        self.engine.dispose()
        if self.key_engine is not self.engine:
            self.key_engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

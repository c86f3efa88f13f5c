"""Append events in the caller's transaction; the sealer links them later (``kluis.audit.sealer``).

Appending takes no lock that another appender waits for: an event takes its number from a sequence
(PostgreSQL) or the rowid (SQLite, whose one writer numbers in commit order) when its transaction writes it,
and nothing else is shared. Verifying and anchoring live in ``kluis.audit.verify``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, DateTime, String, bindparam, column, func, insert, select, true
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from kluis.audit.models import EVENT_SEQUENCE, AuditEvent
from kluis.kit.clock import Clock, as_utc

SYSTEM = "system"

_events = AuditEvent.__table__
_FIELDS = ("at", "actor", "action", "object_type", "object_ids", "details")
_INSERT_EVENTS = insert(_events)
_pg_inserts: dict[tuple[Any, ...], Any] = {}
_INFO = "kluis.audit.pending"


@dataclass
class _Pending:
    """This transaction's events not yet written, and the writes that go with them."""

    transaction: SessionTransaction
    events: list[dict[str, Any]] = field(default_factory=list)
    along: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)


def append(session: Session, clock: Clock, *, actor: str, action: str, object_type: str,
           object_ids: Iterable[UUID | str] = (), details: dict[str, Any] | None = None) -> None:
    """Add one event in the caller's transaction; it commits or rolls back with the change it records.

    Events are written together when the transaction commits, or before the session's next query when it
    flushes automatically (so the transaction reads them as the ORM's own changes)."""
    _pending(session).events.append(event(clock, actor=actor, action=action, object_type=object_type,
                                          object_ids=object_ids, details=details))


def event(clock: Clock, *, actor: str, action: str, object_type: str, object_ids: Iterable[UUID | str] = (),
          details: dict[str, Any] | None = None) -> dict[str, Any]:
    """One event's fields, as ``append`` keeps them until they are written."""
    return {"at": clock.now(), "actor": actor, "action": action, "object_type": object_type,
            "object_ids": [str(i) for i in object_ids], "details": details or {}}


def _pending(session: Session) -> _Pending:
    transaction = session.get_transaction()
    if transaction is None:
        session.connection()
        transaction = session.get_transaction()
        assert transaction is not None  # connection() began one
    pending = session.info.get(_INFO)
    if pending is None or pending.transaction is not transaction:
        pending = _Pending(transaction)
        session.info[_INFO] = pending
    return pending


def expect(session: Session) -> None:
    """Events will follow in this transaction: writes handed to ``along`` from now on wait to go with them."""
    _pending(session)


def along(session: Session, statement: Any, params: dict[str, Any]) -> None:
    """Run ``statement`` (a write whose outcome the caller does not need: no RETURNING, no row count) when this
    transaction's events are written, at the latest when it commits: on PostgreSQL in the same statement, as a
    data-modifying CTE, saving its round trip. At once when the transaction neither appended nor ``expect``-ed
    events. ``params`` are the statement's own bind names: the combined statement gives each write bind names of
    its own, so two writes (the same statement twice, too) may use the same names. Every value the statement
    writes is a ``bindparam`` or a literal in the statement (none named only by ``params``). Writes that go along
    together must not depend on one another: PostgreSQL runs sibling CTEs on one snapshot, so none sees the
    rows another writes."""
    pending = session.info.get(_INFO)
    if pending is None or pending.transaction is not session.get_transaction():
        session.connection().execute(statement, params)
        return
    pending.along.append((statement, params))


def write_pending(session: Session) -> None:
    """Write this transaction's events with the writes that go along: one statement on PostgreSQL."""
    pending = session.info.get(_INFO)
    if pending is None or pending.transaction is not session.get_transaction() or not (pending.events
                                                                                       or pending.along):
        return
    events, pending.events = pending.events, []
    writes, pending.along = pending.along, []
    connection = session.connection()
    if events and connection.dialect.name == "postgresql":
        params = {"audit_events": _pg_rows(events)}
        for n, (_, bound) in enumerate(writes):
            params.update({_along_name(n, name): value for name, value in bound.items()})
        connection.execute(_pg_insert(tuple(statement for statement, _ in writes)), params)
        return
    if events:  # SQLite: seq is the rowid, numbered by the one writer when NULL is given
        connection.execute(_INSERT_EVENTS, [{"seq": None, **e} for e in events])
    for statement, bound in writes:
        connection.execute(statement, bound)


def _pg_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as the PostgreSQL INSERT's one JSON parameter takes them."""
    return [{**e, "at": as_utc(e["at"]).isoformat()} for e in events]


def pg_insert_sql(dialect: Any) -> str:
    """The events' INSERT on PostgreSQL as SQL text for the driver's own connection (no writes going along),
    with its one parameter ``audit_events``: give it ``pg_events_json(events)``."""
    return str(_pg_insert(()).compile(dialect=dialect))


def pg_events_json(events: list[dict[str, Any]]) -> str:
    return json.dumps(_pg_rows(events), separators=(",", ":"), ensure_ascii=False)


def _pg_insert(writes: tuple[Any, ...]) -> Any:
    """The events' INSERT on PostgreSQL, built once per set of writes that go along.

    The transaction's id is taken (``pg_current_xact_id``, in a materialized CTE read before any number is
    drawn) before the events draw their numbers, so that the sealer, which reads the sequence and then the
    list of running transactions, knows every number it has seen belongs to a transaction it can wait for."""
    built = _pg_inserts.get(writes)
    if built is None:
        txid = select(func.pg_current_xact_id().label("xid")).cte("audit_txid").prefix_with("MATERIALIZED")
        rows = func.json_to_recordset(bindparam("audit_events", type_=JSON)).table_valued(
            column("at", DateTime(timezone=True)), column("actor", String), column("action", String),
            column("object_type", String), column("object_ids", JSON), column("details", JSON),
        ).render_derived(name="audit_rows", with_types=True)
        numbered = (select(EVENT_SEQUENCE.next_value(), *(rows.c[name] for name in _FIELDS))
                    .select_from(txid.join(rows, true())))
        built = insert(_events).from_select(["seq", *_FIELDS], numbered)
        for n, write in enumerate(writes):
            built = built.add_cte(_renamed(write, n).cte(f"along_{n}"))
        _pg_inserts[writes] = built  # the statements themselves are the key: it keeps them alive
    return built


def _along_name(n: int, name: str) -> str:
    return f"along_{n}_{name}"


def _renamed(statement: Any, n: int) -> Any:
    """The ``n``-th write going along, its bind names made its own (``along_<n>_<name>``): the writes and the
    events share one statement, and so one namespace of parameters. Anonymous binds (literals) are unique
    already and keep their values."""
    renamed: dict[str, BindParameter[Any]] = {}

    def rename(element: Any, **_: Any) -> Any:
        if not isinstance(element, BindParameter) or element.unique:
            return None
        if element.key not in renamed:
            renamed[element.key] = BindParameter(_along_name(n, element.key), element.value, type_=element.type,
                                                 required=element.required, expanding=element.expanding,
                                                 callable_=element.callable)
        return renamed[element.key]

    return replacement_traverse(statement, {}, rename)


@sqlalchemy_events.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@sqlalchemy_events.listens_for(Session, "after_commit")
@sqlalchemy_events.listens_for(Session, "after_rollback")
def _let_go(session: Session) -> None:
    """The transaction is over: anything it did not write (rolled back) is let go."""
    session.info.pop(_INFO, None)


@sqlalchemy_events.listens_for(Session, "do_orm_execute")
def _before_query(state: ORMExecuteState) -> None:
    if state.session.autoflush and state.session.info.get(_INFO) is not None:
        write_pending(state.session)


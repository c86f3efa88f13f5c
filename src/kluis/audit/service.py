"""Append to the chain, verify it, anchor it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from kluis.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from kluis.audit.rules import canonical, link_hash
from kluis.kit.clock import Clock

SYSTEM = "system"

_events = AuditEvent.__table__
_head = AuditHead.__table__
# Built once: every transaction that writes an event runs them, and building one costs more than running it.
_LOCK_HEAD = select(_head.c.seq, _head.c.hash).where(_head.c.id == 1).with_for_update()
HEAD = _head  # for a statement that locks the head with a row of its own (see ``held``)
_NEW_HEAD = insert(_head)
_MOVE_HEAD = update(_head).where(_head.c.id == 1).values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
_INSERT_EVENTS = insert(_events)
_COLUMNS = [c.key for c in _events.c]
_ONE_STATEMENT_UP_TO = 16  # events written with the head in one statement (PostgreSQL); more take two
_written_with_head: dict[tuple[Any, ...], Any] = {}
_INFO = "kluis.audit.chain"


@dataclass
class _Chain:
    """The head as this transaction holds it (locked), and its events not yet written."""

    transaction: SessionTransaction
    seq: int
    hash: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    along: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # writes to go with the events


def append(session: Session, clock: Clock, *, actor: str, action: str, object_type: str,
           object_ids: Iterable[UUID | str] = (), details: dict[str, Any] | None = None) -> None:
    """Add one event in the caller's transaction; it commits or rolls back with the change it records.

    The head row is locked once per transaction (later appends in the same transaction reuse it). The
    events are written together, with the head, when the transaction commits, or before the session's
    next query when it flushes automatically (so the transaction reads them as the ORM's own changes)."""
    chain = _locked_chain(session)
    ids = [str(i) for i in object_ids]
    body = details or {}
    seq = chain.seq + 1
    at = clock.now()
    digest = link_hash(chain.hash, canonical(seq, at, actor, action, object_type, ids, body, chain.hash))
    chain.pending.append({"seq": seq, "at": at, "actor": actor, "action": action, "object_type": object_type,
                          "object_ids": ids, "details": body, "prev_hash": chain.hash, "hash": digest})
    chain.seq, chain.hash = seq, digest


def _locked_chain(session: Session) -> _Chain:
    transaction = session.get_transaction()
    chain = session.info.get(_INFO)
    if chain is not None and chain.transaction is transaction and transaction is not None and transaction.is_active:
        return chain  # type: ignore[no-any-return]
    connection = session.connection()
    row = connection.execute(_LOCK_HEAD).one_or_none()
    if row is None:
        connection.execute(_NEW_HEAD, {"id": 1, "seq": 0, "hash": GENESIS_HASH})
        row = connection.execute(_LOCK_HEAD).one()
    chain = _Chain(session.get_transaction(), row.seq, row.hash)  # type: ignore[arg-type]
    session.info[_INFO] = chain
    return chain


def holding(session: Session) -> bool:
    """Whether this transaction holds the chain's head already."""
    chain = session.info.get(_INFO)
    transaction = session.get_transaction()
    return chain is not None and transaction is not None and chain.transaction is transaction


def held(session: Session, seq: int, hash: str) -> None:  # noqa: A002 - the column's name
    """The caller has locked the head row in this transaction (``HEAD`` joined to a row it locks anyway,
    saving a round trip) and read ``seq`` and ``hash`` from it: appends use them instead of locking again."""
    if not holding(session):
        session.info[_INFO] = _Chain(session.get_transaction(), seq, hash)  # type: ignore[arg-type]


def along(session: Session, statement: Any, params: dict[str, Any]) -> None:
    """Run ``statement`` (a write whose outcome the caller does not need: no RETURNING, no row count) when this
    transaction's events are written, at the latest when it commits: on PostgreSQL in the same statement, as a
    data-modifying CTE, saving its round trip. At once when the transaction holds no head (there are no events
    to go with). Its bind names must differ from every other write's that may go along (prefix them)."""
    chain = session.info.get(_INFO)
    if chain is None or chain.transaction is not session.get_transaction():
        session.connection().execute(statement, params)
        return
    chain.along.append((statement, params))


def write_pending(session: Session) -> None:
    """Write this transaction's events and move the head, with the writes that go along: one statement on
    PostgreSQL, one each elsewhere."""
    chain = session.info.get(_INFO)
    if chain is None or chain.transaction is not session.get_transaction() or not (chain.pending or chain.along):
        return
    events, chain.pending = chain.pending, []
    writes, chain.along = chain.along, []
    connection = session.connection()
    head = {"head_seq": chain.seq, "head_hash": chain.hash}
    if events and connection.dialect.name == "postgresql" and len(events) <= _ONE_STATEMENT_UP_TO:
        params = {f"{c}_{i}": event[c] for i, event in enumerate(events) for c in _COLUMNS}
        for _, bound in writes:
            params.update(bound)
        connection.execute(_with_head(len(events), tuple(statement for statement, _ in writes)), {**params, **head})
        return
    if events:
        connection.execute(_INSERT_EVENTS, events)
        connection.execute(_MOVE_HEAD, head)
    for statement, bound in writes:
        connection.execute(statement, bound)


def _with_head(count: int, writes: tuple[Any, ...]) -> Any:
    """INSERT of ``count`` events carrying the head's UPDATE and ``writes`` as data-modifying CTEs, built once
    per count and writes."""
    key = (count, *writes)  # the statements themselves: the key keeps them alive, so no id is ever reused
    built = _written_with_head.get(key)
    if built is None:
        rows = [{c: bindparam(f"{c}_{i}", type_=_events.c[c].type) for c in _COLUMNS} for i in range(count)]
        built = insert(_events).values(rows).add_cte(_MOVE_HEAD.cte("moved_head"))
        for n, write in enumerate(writes):
            built = built.add_cte(write.cte(f"along_{n}"))
        _written_with_head[key] = built
    return built


@sqlalchemy_events.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@sqlalchemy_events.listens_for(Session, "after_commit")
@sqlalchemy_events.listens_for(Session, "after_rollback")
def _let_go(session: Session) -> None:
    """The transaction is over: its head and anything it did not write (rolled back) are let go."""
    session.info.pop(_INFO, None)


@sqlalchemy_events.listens_for(Session, "do_orm_execute")
def _before_query(state: ORMExecuteState) -> None:
    if state.session.autoflush and state.session.info.get(_INFO) is not None:
        write_pending(state.session)


def line_up(session: Session) -> None:
    """Take the chain head's lock now rather than at the next ``append``: every writer that appends
    waits here for the transactions before it to commit, so what it reads next sees their changes."""
    _locked_chain(session)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"kluis-audit-anchor:{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        parts = text.strip().split(":")
        if len(parts) != 3 or parts[0] != "kluis-audit-anchor" or not parts[1].isdigit() or len(parts[2]) != 64:
            raise ValueError("an anchor looks like kluis-audit-anchor:<seq>:<64 hex characters>")
        return cls(int(parts[1]), parts[2])


def anchor(session: Session) -> Anchor:
    head = session.get(AuditHead, 1)
    return Anchor(0, GENESIS_HASH) if head is None else Anchor(head.seq, head.hash)


def verify(session: Session, anchors: Iterable[Anchor] = (), batch: int = 2000) -> Verification:
    """Walk the whole chain in seq order, in constant memory; report the first broken link."""
    expected = {a.seq: a.hash for a in anchors}
    prev_hash, seq, checked = GENESIS_HASH, 0, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch))
    for event in rows.scalars():
        seq += 1
        if event.seq != seq:
            return Verification(False, checked, seq - 1, prev_hash, seq,
                                f"event {seq} is missing (next stored event is {event.seq})")
        if event.prev_hash != prev_hash:
            return Verification(False, checked, seq - 1, prev_hash, seq,
                                "previous-hash does not match the event before it (rows removed or reordered)")
        body = canonical(event.seq, event.at, event.actor, event.action, event.object_type,
                         event.object_ids, event.details, event.prev_hash)
        if link_hash(prev_hash, body) != event.hash:
            return Verification(False, checked, seq - 1, prev_hash, seq, "content does not match its hash")
        if seq in expected and expected[seq] != event.hash:
            return Verification(False, checked, seq - 1, prev_hash, seq, "hash differs from the kept anchor")
        prev_hash = event.hash
        checked += 1
        session.expunge(event)
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != seq or head.hash != prev_hash):
        return Verification(False, checked, seq, prev_hash, seq + 1,
                            f"chain ends at {seq} but its head says {head.seq}: events were removed")
    beyond = [s for s in expected if s > seq]
    if beyond:
        return Verification(False, checked, seq, prev_hash, min(beyond),
                            f"a kept anchor names event {min(beyond)}, beyond the end of the chain")
    return Verification(True, checked, seq, prev_hash)

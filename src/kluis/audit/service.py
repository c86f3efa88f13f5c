"""Append to the chain, verify it, anchor it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from kluis.audit.rules import canonical, link_hash
from kluis.kit.clock import Clock

SYSTEM = "system"
# Built once: every transaction that writes an event runs it, and building it costs more than running it.
_LOCK_HEAD = select(AuditHead).where(AuditHead.id == 1).with_for_update()


def append(session: Session, clock: Clock, *, actor: str, action: str, object_type: str,
           object_ids: Iterable[UUID | str] = (), details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one event in the caller's transaction; it commits or rolls back with the change it records.

    The head row is locked once per transaction (later appends in the same transaction reuse it), and
    the events are written at the next flush, together."""
    head = _locked_head(session)
    ids = [str(i) for i in object_ids]
    body = details or {}
    seq = head.seq + 1
    at = clock.now()
    digest = link_hash(head.hash, canonical(seq, at, actor, action, object_type, ids, body, head.hash))
    event = AuditEvent(seq=seq, at=at, actor=actor, action=action, object_type=object_type,
                       object_ids=ids, details=body, prev_hash=head.hash, hash=digest)
    session.add(event)
    head.seq, head.hash = seq, digest
    return event


def _locked_head(session: Session) -> AuditHead:
    transaction = session.get_transaction()
    held = session.info.get("kluis.audit.head")
    if held is not None and held[0] is transaction and transaction is not None and transaction.is_active:
        return held[1]  # type: ignore[no-any-return]
    head = session.execute(_LOCK_HEAD).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS_HASH)
        session.add(head)
    session.info["kluis.audit.head"] = (session.get_transaction(), head)
    return head


def line_up(session: Session) -> None:
    """Take the chain head's lock now rather than at the next ``append``: every writer that appends
    waits here for the transactions before it to commit, so what it reads next sees their changes."""
    _locked_head(session)


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

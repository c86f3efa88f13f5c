"""Verify the audit log, report how far sealing has come, and anchor it (R-GOV-1).

Verification streams every event with its link in sequence order (constant memory) and needs only read
access and the audit key: an auditor can run it without being able to write the database. It names the
first event whose link does not hold: changed, added after sealing, missing, or moved. It may also start
after an event an earlier run verified (``since``): the keyed links chain from there, so everything sealed
after it is checked as in a full walk, but not what lies before (``kluis.audit.verifications`` says when a
full walk is due).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kluis.audit.models import GENESIS_HASH, AuditEvent, AuditLink, AuditSeal
from kluis.audit.rules import canonical, key_id, link_hash, same, seal_mac, sealed_body, watermark_mac
from kluis.kit.clock import Clock

_events = AuditEvent.__table__
_links = AuditLink.__table__
_WALK = (select(_events, _links.c.gap_before, _links.c.mac)
         .select_from(_events.outerjoin(_links, _links.c.seq == _events.c.seq)).order_by(_events.c.seq))
_WALK_AFTER = _WALK.where(_events.c.seq > bindparam("after"))


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int  # sealed events whose links hold
    head_seq: int  # the last sealed event that holds
    head_hash: str  # its link
    broken_seq: int | None = None
    reason: str = ""
    unsealed: int = 0  # events committed after the watermark, not yet sealed
    oldest_unsealed_at: datetime | None = None
    gaps: int = 0  # numbers skipped by rolled-back transactions, as the links record them


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


@dataclass(frozen=True)
class SealStatus:
    sealed_seq: int
    sealed_at: datetime | None
    unsealed: int
    lag_seconds: float  # age of the oldest unsealed event (0 when none)


def anchor(session: Session) -> Anchor:
    """The watermark: the last sealed event and its link, to keep off-site."""
    seal = session.get(AuditSeal, 1)
    return Anchor(0, GENESIS_HASH) if seal is None else Anchor(seal.sealed_seq, seal.sealed_mac)


def status(session: Session, clock: Clock) -> SealStatus:
    """How far sealing has come: two index reads, for the console and the health check."""
    seal = session.get(AuditSeal, 1)
    sealed = seal.sealed_seq if seal else 0
    after = _events.c.seq > sealed
    unsealed = session.scalar(select(func.count()).select_from(_events).where(after)) or 0
    oldest = session.scalar(select(_events.c.at).where(after).order_by(_events.c.seq).limit(1))
    lag = max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0.0
    return SealStatus(sealed, seal.sealed_at if seal else None, unsealed, lag)


class _Walk:
    """The state of one verification as it moves along the log."""

    def __init__(self, key: bytes, anchors: dict[int, str]) -> None:
        self.key, self.anchors = key, anchors
        self.seq, self.mac, self.checked, self.gaps = 0, GENESIS_HASH, 0, 0
        self.old_seq, self.old_hash, self.old_open = 0, GENESIS_HASH, True
        self.anchored: set[int] = set()

    def broken(self, seq: int, reason: str) -> Verification:
        return Verification(False, self.checked, self.seq, self.mac, seq, reason, gaps=self.gaps)

    def old_link(self, e: Any) -> str | None:
        """The unkeyed links of events from before sealing: a prefix of the log, verified as before."""
        if e.hash is None:
            self.old_open = False
            return None
        if not self.old_open or e.seq != self.old_seq + 1:
            return "an event with an old-style link sits where none can be (rows moved or added)"
        if e.prev_hash != self.old_hash:
            return "previous-hash does not match the event before it (rows removed or reordered)"
        body = canonical(e.seq, e.at, e.actor, e.action, e.object_type, e.object_ids,
                         e.details, e.prev_hash)
        if link_hash(self.old_hash, body) != e.hash:
            return "content does not match its hash"
        self.old_seq, self.old_hash = e.seq, e.hash
        return None

    def sealed_link(self, e: Any) -> str | None:
        seq, gap = e.seq, e.gap_before
        if e.mac is None:
            return "the event was added after sealing (it has no link)"
        if seq != self.seq + 1 + gap:
            missing = self.seq + 1 + gap if seq > self.seq + 1 + gap else seq
            return f"event {missing} is missing or moved (the links say the next event is {self.seq + 1 + gap})"
        body = sealed_body(seq, e.at, e.actor, e.action, e.object_type, e.object_ids,
                           e.details, gap)
        if not same(seal_mac(self.key, self.mac, body), e.mac):
            return "the event does not match its sealed link (changed, moved or re-linked without the key)"
        if seq in self.anchors:
            self.anchored.add(seq)
            if self.anchors[seq] != e.mac:
                return "the link differs from the kept anchor"
        self.seq, self.mac = seq, e.mac
        self.checked += 1
        self.gaps += gap
        return None


def verify(session: Session, key: bytes, anchors: Iterable[Anchor] = (), batch: int = 2000,
           since: Anchor | None = None) -> Verification:
    """Walk the log in sequence order, in constant memory; report the first event that does not hold.

    The whole log, or with ``since`` (an event and its link that an earlier run verified, kept where only the
    key could have written it) the events after it: their keyed links chain from ``since``, and the unkeyed
    links of events from before sealing are left to full walks. ``checked`` then counts the events after it.
    The links are walked before the watermark is judged, so a rewrite names the first event it changed, not
    the watermark it could not forge."""
    seal = session.get(AuditSeal, 1)
    if seal is None:
        return Verification(False, 0, 0, GENESIS_HASH, 1, "the seal row is missing: the log was rewritten")
    kid = key_id(key)
    walk = _Walk(key, {a.seq: a.hash for a in anchors})
    resumed = since is not None and since.seq > 0
    if since is not None and resumed:
        reason = _resume(session, seal, since)
        if reason:
            return walk.broken(since.seq, reason)
        walk.seq, walk.mac = since.seq, since.hash
    events = (_WALK_AFTER if resumed else _WALK).execution_options(yield_per=batch)
    unsealed, oldest = 0, None
    for event in session.execute(events, {"after": walk.seq} if resumed else {}):
        reason = None if resumed else walk.old_link(event)
        if reason:
            return walk.broken(event.seq, reason)
        if event.seq > seal.sealed_seq:
            unsealed += 1
            oldest = oldest or event.at
            continue
        reason = walk.sealed_link(event)
        if reason:
            if walk.checked == 0 and seal.key_id != kid:
                reason += (f"; the key given (id {kid}) is not the one the log names ({seal.key_id}): verify with "
                           "the log's key")
            return walk.broken(event.seq, reason)
    if seal.key_id is not None and (seal.key_id != kid or not same(
            seal.mac, watermark_mac(key, seal.sealed_seq, seal.sealed_mac, kid))):
        return walk.broken(seal.sealed_seq, "the watermark was changed outside Kluis (its MAC does not hold)")
    if (walk.seq, walk.mac) != (seal.sealed_seq, seal.sealed_mac):
        return walk.broken(walk.seq + 1, f"the log ends at event {walk.seq} but was sealed through "
                                         f"{seal.sealed_seq}: sealed events were removed")
    unmatched = sorted(s for s in walk.anchors if s not in walk.anchored and s > 0)
    if unmatched:
        return walk.broken(unmatched[0], f"a kept anchor names event {unmatched[0]}, which the sealed log lacks "
                                         "(removed, or the log was cut back before it)")
    return Verification(True, walk.checked, walk.seq, walk.mac, unsealed=unsealed, oldest_unsealed_at=oldest,
                        gaps=walk.gaps)


def _resume(session: Session, seal: AuditSeal, since: Anchor) -> str | None:
    """Why an incremental walk cannot start after ``since``, if it cannot."""
    if seal.sealed_seq < since.seq:
        return (f"the watermark ({seal.sealed_seq}) is behind event {since.seq}, which an earlier verification "
                "found sealed: an old watermark was put back, or the log cut back")
    link = session.get(AuditLink, since.seq)
    if link is None or not same(link.mac, since.hash):
        return "the event's link changed (or went) after an earlier verification found it sound"
    return None

"""The suppression list (R-CONS-2): addresses, as keyed digests, that marketing may not mail again.

Every entry added or removed passes here and is logged in the key store's erasure log (R-VLT-5,
docs/adr/0010-erasure-log.md) naming no person, so a data database restored from a backup gets back the entries
made since (``kluis erasure restore replay``), the ones an erasure leaves behind above all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kluis.consent.marketing.models import Suppression
from kluis.vault.erasure_log import SUPPRESSED, UNSUPPRESSED

if TYPE_CHECKING:
    from uuid import UUID

    from kluis.vault.keystore import KeyStore

_suppression = Suppression.__table__


def add(session: Session, keystore: KeyStore, now: datetime, list_id: str, digests: Iterable[bytes], route: str,
        job_id: UUID | None = None) -> list[bytes]:
    """Put the digests not on the list yet on it, logged (``route``: how they came: an opt-out route, or
    ``erasure``; ``job_id``: the erasure job, if one). The digests added."""
    wanted = set(digests)
    if not wanted:
        return []
    present = set(session.scalars(select(_suppression.c.digest).where(
        _suppression.c.list_id == list_id, _suppression.c.digest.in_(wanted))))
    added = sorted(wanted - present)
    if added:
        keystore.log_suppression(session, SUPPRESSED, list_id, added, route, job_id)
        session.add_all(Suppression(digest=d, list_id=list_id, route=route, created_at=now) for d in added)
        session.flush()
    return added


def remove(session: Session, keystore: KeyStore, list_id: str, digests: Iterable[bytes], reason: str) -> int:
    """Take the digests off the list (the address opted in again, confirmed by its owner), logged. How many."""
    wanted = sorted(set(digests))
    if not wanted:
        return 0
    gone = list(session.scalars(delete(_suppression).where(
        _suppression.c.list_id == list_id, _suppression.c.digest.in_(wanted)).returning(_suppression.c.digest)))
    keystore.log_suppression(session, UNSUPPRESSED, list_id, gone, reason)
    return len(gone)


def bring_in_line(session: Session, now: datetime, last: Mapping[tuple[bytes, str], tuple[str, str]]
                  ) -> tuple[int, int]:
    """After a restore: each (digest, list) as the log's last change to it left it, given as (action, route).
    Not logged again: these are the log's own entries. A thousand at a time. (added, removed)."""
    added = removed = 0
    items = sorted(last.items())
    for start in range(0, len(items), 1000):
        chunk = items[start:start + 1000]
        present = {(row.digest, row.list_id) for row in session.execute(
            select(_suppression.c.digest, _suppression.c.list_id).where(
                _suppression.c.digest.in_({digest for (digest, _), _ in chunk})))}
        new = [{"digest": d, "list_id": lst, "route": route, "created_at": now}
               for (d, lst), (action, route) in chunk if action == SUPPRESSED and (d, lst) not in present]
        old = [(d, lst) for (d, lst), (action, _) in chunk if action == UNSUPPRESSED and (d, lst) in present]
        if new:
            session.execute(_suppression.insert(), new)
        for d, lst in old:
            session.execute(delete(_suppression).where(_suppression.c.digest == d, _suppression.c.list_id == lst))
        added, removed = added + len(new), removed + len(old)
    return added, removed

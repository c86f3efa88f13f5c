"""The sealer links committed events in sequence order under the audit key (R-GOV-1).

Appenders share nothing; the sealer alone moves the watermark. It seals only below a number that no
running transaction can still fill in:
- SQLite has one writer, which numbers and commits in order: every number up to the highest committed
  one is settled, and the sealer holds the write lock while it reads.
- PostgreSQL numbers from a sequence inside each transaction, so number 7 may commit after number 8. The
  sealer reads the sequence's last number L, then the list of running transactions (of this database, from
  ``pg_stat_activity``: another database's long transaction holds nothing back here). An appender takes its
  transaction id before drawing a number (``service._pg_insert``), so every number up to L belongs to a
  transaction that has ended or is on that list. L becomes safe once all of them have ended (a *horizon*,
  kept in the seal row until then). Numbers at or below a safe L that no event carries were rolled back:
  the next event's link records them as a gap, under the MAC, so a deletion cannot pass for one.

A pass is one transaction: links and watermark commit together, so a sealer killed mid-pass leaves the
last committed watermark and the next pass seals the same events again. Two sealers never run at once:
the seal row is locked, and a second sealer skips the pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from kluis import jobs
from kluis.audit.models import AuditEvent, AuditLink, AuditSeal
from kluis.audit.rules import key_id, same, seal_mac, sealed_body, watermark_mac
from kluis.db import Database
from kluis.kit.clock import Clock
from kluis.kit.errors import ConfigurationError, Conflict

log = logging.getLogger("kluis.audit")

BATCH = 5000
MAX_HORIZONS = 8  # a long transaction holds the oldest back; newer numbers wait in the newest horizon

_events = AuditEvent.__table__
_links = AuditLink.__table__
_seal = AuditSeal.__table__
_NEXT = (select(_events.c.seq, _events.c.at, _events.c.actor, _events.c.action, _events.c.object_type,
                _events.c.object_ids, _events.c.details)
         .where(_events.c.seq > bindparam("after"), _events.c.seq <= bindparam("upto")).order_by(_events.c.seq)
         .limit(bindparam("n")))
_SEAL_ROW = select(_seal).where(_seal.c.id == 1)
_INSERT_LINKS = insert(_links)
_MOVE = update(_seal).where(_seal.c.id == 1)
_LAST_NUMBER = text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM audit_event_seq")
# The transactions with an id running in this database (another database's cannot append here), but this one.
# PostgreSQL reads the list once per transaction and keeps it: clearing it first makes each read fresh.
_RUNNING = text("SELECT CAST(backend_xid AS text) FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")
_FRESH = text("SELECT pg_stat_clear_snapshot()")


@dataclass(frozen=True)
class Pass:
    sealed: int  # events linked in this pass
    waiting: bool  # committed events exist that a running transaction still holds back (PostgreSQL)


class WatermarkTampered(Conflict):
    """The seal row does not verify: sealing on top of it would bless a rewritten chain."""


def seal_pass(db: Database, key: bytes, clock: Clock, batch: int = BATCH) -> Pass:
    """Link the next ``batch`` settled events after the watermark, in one transaction."""
    kid = key_id(key)
    with db.transaction() as session:
        connection = session.connection()
        statement = jobs.unclaimed(_SEAL_ROW) if db.dialect == "postgresql" else _SEAL_ROW
        row = connection.execute(statement).one_or_none()
        if row is None:
            return Pass(0, False)  # another sealer holds the row
        _check(row, key, kid)
        safe_to, horizons = _settled(connection, row)
        found = connection.execute(_NEXT, {"after": row.sealed_seq, "upto": safe_to, "n": batch}).all()
        prev_seq, prev_mac = row.sealed_seq, row.sealed_mac
        links = []
        for event in found:
            gap = event.seq - prev_seq - 1
            mac = seal_mac(key, prev_mac, sealed_body(event.seq, event.at, event.actor, event.action,
                                                      event.object_type, event.object_ids, event.details, gap))
            links.append({"seq": event.seq, "gap_before": gap, "mac": mac})
            prev_seq, prev_mac = event.seq, mac
        if links:
            connection.execute(_INSERT_LINKS, links)
        if links or row.key_id is None or (safe_to, horizons) != (row.safe_to, row.horizons):
            connection.execute(_MOVE, {
                "sealed_seq": prev_seq, "sealed_mac": prev_mac, "safe_to": safe_to, "horizons": horizons,
                "key_id": kid, "sealed_at": clock.now() if links else row.sealed_at,
                "mac": watermark_mac(key, prev_seq, prev_mac, kid)})
        waiting = bool(horizons) and len(links) < batch
    return Pass(len(links), waiting)


def _check(row: Any, key: bytes, kid: str) -> None:
    if row.key_id is None:
        return  # never sealed: the migration's starting row
    if row.key_id != kid:
        raise ConfigurationError(f"KLUIS_AUDIT_KEY is not the key this chain was sealed with (key id {kid}, "
                                 f"the chain's {row.key_id}); set the chain's key", code="audit_key_mismatch")
    if not same(row.mac, watermark_mac(key, row.sealed_seq, row.sealed_mac, kid)):
        raise WatermarkTampered("the audit chain's watermark was changed outside Kluis: nothing is sealed until "
                                "`kluis audit verify` has been run and the change investigated",
                                code="audit_watermark_tampered")


def _settled(connection: Connection, row: Any) -> tuple[int, list[Any]]:
    """The highest number no running transaction can still fill in, and the horizons still waiting."""
    if connection.dialect.name != "postgresql":
        highest = connection.execute(select(_events.c.seq).order_by(_events.c.seq.desc()).limit(1)).scalar()
        return max(row.safe_to, highest or 0), []
    horizons = [list(h) for h in row.horizons or []]
    last = connection.execute(_LAST_NUMBER).scalar_one()
    if last > max([row.safe_to, *(h[0] for h in horizons)]):
        # Read after the number: every appender that drew a number up to ``last`` is running or done now.
        connection.execute(_FRESH)
        candidate = [last, list(connection.execute(_RUNNING).scalars())]
        if len(horizons) < MAX_HORIZONS:
            horizons.append(candidate)
        else:
            horizons[-1] = candidate
    waited = {x for _, running in horizons for x in running}
    if waited:
        connection.execute(_FRESH)
    still = set(connection.execute(_RUNNING).scalars()) & waited if waited else set()
    # A later horizon's list holds every transaction of an earlier one that still runs: the newest horizon
    # whose transactions have all ended settles every number up to it.
    safe_to = max([row.safe_to, *(seq for seq, running in horizons if still.isdisjoint(running))])
    return safe_to, [h for h in horizons if h[0] > safe_to]


def seal_all(db: Database, key: bytes, clock: Clock, batch: int = BATCH, max_passes: int | None = None) -> Pass:
    """Seal until nothing settled is left (or ``max_passes``): how many events, and whether some still wait."""
    total, passes = 0, 0
    while True:
        done = seal_pass(db, key, clock, batch)
        total, passes = total + done.sealed, passes + 1
        if done.sealed < batch or (max_passes is not None and passes >= max_passes):
            return Pass(total, done.waiting)

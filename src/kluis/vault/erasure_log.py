"""The erasure log (R-VLT-5, docs/adr/0010-erasure-log.md): every key destroyed or replaced and every change to
the suppression list, in the key store and, when ``KLUIS_ERASURE_LOG_FILE`` is set, in a file the operator keeps,
so that a data database (or key store) restored from a backup can be brought back in line
(``kluis erasure restore replay``). Entries hold ids and keyed digests only.

The key store writes the entries (``kluis.vault.keystore``), in the transaction that makes the change there; the
file line is written and synced before that transaction commits, so the copy never lacks a change that happened.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, Uuid, insert, select
from sqlalchemy.orm import Session

from kluis.db import UTCDateTime, given_rows
from kluis.kit.clock import as_utc
from kluis.kit.errors import Invalid
from kluis.kit.ids import new_id
from kluis.vault.models import ErasureLogEntry

KEY_DESTROYED = "key_destroyed"
KEY_REPLACED = "key_replaced"
SUPPRESSED = "suppressed"
UNSUPPRESSED = "unsuppressed"
ACTIONS = (KEY_DESTROYED, KEY_REPLACED, SUPPRESSED, UNSUPPRESSED)
FORMAT = 1  # the file's line format, written on every line

_log = ErasureLogEntry.__table__
_INSERT = insert(_log)
# The columns of an entry without digests, as one array each (``given_rows``).
_GIVEN = (("id", Uuid()), ("at", UTCDateTime()), ("action", String()), ("reason", String()), ("key_id", Uuid()),
          ("job_id", Uuid()), ("list_id", String()), ("key_created_at", UTCDateTime()))
_FIELDS = ("id", "at", "action", "reason", "key_id", "job_id", "list_id", "digests", "key_created_at")


@dataclass(frozen=True)
class Entry:
    """One fact; ``key_id`` names a key (a person's id for a person's key), ``digests`` are hex keyed digests."""

    at: datetime
    action: str
    reason: str
    key_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    list_id: str | None = None
    digests: tuple[str, ...] = ()
    key_created_at: datetime | None = None
    id: uuid.UUID = field(default_factory=new_id)

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "action": self.action, "reason": self.reason, "key_id": self.key_id,
                "job_id": self.job_id, "list_id": self.list_id, "digests": list(self.digests) or None,
                "key_created_at": self.key_created_at}

    def line(self) -> str:
        body: dict[str, Any] = {"v": FORMAT}
        for name, value in self.row().items():
            if value is not None:
                body[name] = value.isoformat() if isinstance(value, datetime) else (
                    str(value) if isinstance(value, uuid.UUID) else value)
        return json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        return cls(id=row.id, at=as_utc(row.at), action=row.action, reason=row.reason, key_id=row.key_id,
                   job_id=row.job_id, list_id=row.list_id, digests=tuple(row.digests or ()),
                   key_created_at=as_utc(row.key_created_at) if row.key_created_at else None)

    @classmethod
    def from_line(cls, text: str) -> Entry:
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("v") != FORMAT or body.get("action") not in ACTIONS:
            raise ValueError("not an erasure log entry of this version")
        ids = {name: uuid.UUID(body[name]) if body.get(name) else None for name in ("key_id", "job_id")}
        digests = body.get("digests") or []
        if not all(isinstance(d, str) and len(d) == 64 for d in digests):
            raise ValueError("digests are 64 hex characters each")
        bytes.fromhex("".join(digests))
        return cls(id=uuid.UUID(body["id"]), at=_instant(body["at"]), action=body["action"],
                   reason=str(body["reason"]), list_id=body.get("list_id"), digests=tuple(digests),
                   key_created_at=_instant(body["key_created_at"]) if body.get("key_created_at") else None, **ids)


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("an instant without its zone")
    return as_utc(at)


def write(session: Session, entries: Sequence[Entry], copy: Path | None) -> None:
    """The entries in the caller's key-store transaction, and first in the operator's copy (when configured)."""
    if not entries:
        return
    if copy is not None:
        append(copy, entries)
    if session.get_bind().dialect.name == "postgresql" and not any(e.digests for e in entries):
        # One statement, an array a column, for any number of entries: a sweep destroys thousands of keys at once,
        # which a list of rows sends as a parameter a value, converted one by one in Python.
        [given] = given_rows(session, _GIVEN, [(e.id, e.at, e.action, e.reason, e.key_id, e.job_id, e.list_id,
                                                 e.key_created_at) for e in entries])
        session.execute(insert(_log).from_select([name for name, _ in _GIVEN], select(given)))
        return
    session.execute(_INSERT, [e.row() for e in entries])


def append(path: Path, entries: Iterable[Entry]) -> None:
    """One write of whole lines, opened for appending (concurrent writers never interleave within a write), and
    synced: an entry is on disk before the change it records is committed. Readable by the owner only."""
    data = "".join(e.line() for e in entries).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def stored(session: Session, since: datetime | None = None) -> list[Entry]:
    """The key store's entries, from ``since`` on, in the order they were made."""
    query = select(_log).order_by(_log.c.at, _log.c.seq)
    if since is not None:
        query = query.where(_log.c.at >= since)
    return [Entry.from_row(row) for row in session.execute(query)]


def stored_ids(session: Session) -> set[uuid.UUID]:
    return set(session.scalars(select(_log.c.id)))


def read_file(path: Path) -> Iterator[Entry]:
    """The entries of a copy, in file order; a line that is not an entry is refused, naming it."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot read the erasure log copy {path}: {exc.strerror}", code="erasure_log_unreadable"
                      ) from None
    with handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield Entry.from_line(text)
            except (ValueError, KeyError, TypeError) as exc:
                raise Invalid(f"{path}, line {number}: not an erasure log entry ({exc})",
                              code="erasure_log_invalid") from None


def lacking(known: set[uuid.UUID], copied: Iterable[Entry]) -> list[Entry]:
    """The copy's entries that are not among ``known`` (the key store's ids), each once, in the copy's order."""
    seen = set(known)
    found: list[Entry] = []
    for entry in copied:
        if entry.id not in seen:
            seen.add(entry.id)
            found.append(entry)
    return found


def in_order(entries: Iterable[Entry]) -> list[Entry]:
    """By instant; entries of one instant keep the order given (the key store's, then the copy's)."""
    return sorted(entries, key=lambda e: e.at)


def export(path: Path, entries: Iterable[Entry]) -> int:
    """Write entries to a new file (never over an existing one, the live copy say); how many."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Invalid(f"{path} exists; export to a new file", code="erasure_log_exists") from None
    except OSError as exc:
        raise Invalid(f"cannot write {path}: {exc.strerror}", code="erasure_log_unwritable") from None
    count = 0
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(entry.line())
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count

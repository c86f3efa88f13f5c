"""The key store: wrapped person keys and the keys of things that are no person's (object keys: an order's
document), kept apart from the data (docs/adr/0001-key-store.md), and the erasure log
(docs/adr/0010-erasure-log.md): every key it destroys or replaces, and every change to the suppression list, is
logged in the same key-store transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Row, Table, Uuid, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from kluis.db import Database, among
from kluis.kit.clock import Clock
from kluis.vault import erasure_log
from kluis.vault.crypto import KeyRing, new_data_key
from kluis.vault.erasure_log import Entry
from kluis.vault.models import ObjectKey, PersonKey

_keys_table = PersonKey.__table__
# Built once: every erasure and access package reads a key, and building the statement costs more than running it.
_KEYS_OF = select(_keys_table.c.person_id, _keys_table.c.wrapped, _keys_table.c.kek_id).where(
    _keys_table.c.person_id.in_(bindparam("ids", expanding=True)))
# PostgreSQL: one array parameter, so the statement's text is the same for any number of people (psycopg keeps
# it prepared; an IN list of a batch's hundred people was a new, long text to parse every time).
_KEYS_OF_ARRAY = select(_keys_table.c.person_id, _keys_table.c.wrapped, _keys_table.c.kek_id).where(
    _keys_table.c.person_id == any_(bindparam("ids", type_=ARRAY(Uuid()))))
# Why keys go again when a restored key store is brought in line with the log.
RESTORE = "restore"


class KeyStore:
    def __init__(self, db: Database, keys: KeyRing, clock: Clock, log_copy: Path | None = None) -> None:
        self._db = db
        self._keys = keys
        self._clock = clock
        self._log_copy = log_copy

    @contextmanager
    def _session(self, data_session: Session) -> Iterator[Session]:
        """Same database: ride the caller's transaction (atomic). Separate store: its own, committed first,
        so a key exists before any data it protects; a key without data protects nothing."""
        if self._db.key_engine is self._db.engine:
            yield data_session
        else:
            with self._db.key_transaction() as session:
                yield session

    def create(self, data_session: Session, person_ids: Iterable[UUID], now: datetime) -> dict[UUID, bytes]:
        deks = {pid: new_data_key() for pid in person_ids}
        if deks:
            kek_id = self._keys.master_id
            rows = [{"person_id": pid, "wrapped": self._keys.wrap(pid, dek), "kek_id": kek_id, "created_at": now}
                    for pid, dek in deks.items()]
            with self._session(data_session) as session:
                session.execute(PersonKey.__table__.insert(), rows)
        return deks

    def data_keys(self, data_session: Session, person_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """Unwrapped keys of those people; a shredded person is simply absent. Within one transaction of a
        key store in the data database, a key read once is not read again."""
        known = self._known(data_session)
        wanted = list(set(person_ids))
        found: dict[UUID, bytes] = {pid: known[pid] for pid in wanted if pid in known} if known is not None else {}
        wanted = [pid for pid in wanted if pid not in found]
        with self._session(data_session) as session:
            for start in range(0, len(wanted), 1000):
                chunk = wanted[start:start + 1000]
                statement = _KEYS_OF_ARRAY if session.get_bind().dialect.name == "postgresql" else _KEYS_OF
                rows = session.execute(statement, {"ids": chunk})
                for pid, wrapped, kek_id in rows:
                    found[pid] = self._keys.unwrap(pid, wrapped, kek_id)
        if known is not None:
            known.update(found)
        return found

    def create_object_key(self, data_session: Session, kind: str, owner_id: UUID, now: datetime) -> bytes:
        """A fresh key for a thing that is no person's (``kind``: what it is, e.g. ``order-document``), stored
        under that thing's id, wrapped by the current master key."""
        key = new_data_key()
        with self._session(data_session) as session:
            session.execute(ObjectKey.__table__.insert(), [{
                "id": owner_id, "kind": kind, "wrapped": self._keys.wrap_key(kind, owner_id, key),
                "kek_id": self._keys.master_id, "created_at": now}])
        return key

    def object_key(self, data_session: Session, kind: str, owner_id: UUID) -> bytes | None:
        """The thing's key, unwrapped; None once it was destroyed (shredded)."""
        with self._session(data_session) as session:
            row = session.execute(select(ObjectKey.wrapped, ObjectKey.kek_id).where(
                ObjectKey.id == owner_id, ObjectKey.kind == kind)).one_or_none()
        return None if row is None else self._keys.unwrap_key(kind, owner_id, row.wrapped, row.kek_id)

    @property
    def shared(self) -> bool:
        """Whether the key store is in the data database, so a key can be read together with data."""
        return self._db.key_engine is self._db.engine

    def read_with_data(self, data_session: Session, person_id: UUID, wrapped: bytes, kek_id: str) -> bytes:
        """The person's key from a row of ``person_key`` the caller read in a statement of its own (``shared``
        store only), remembered for the rest of the transaction as ``data_keys`` does."""
        dek = self._keys.unwrap(person_id, wrapped, kek_id)
        known = self._known(data_session)
        if known is not None:
            known[person_id] = dek
        return dek

    def _known(self, data_session: Session) -> dict[UUID, bytes] | None:
        """The keys this transaction has read (same database only; None otherwise). Kept in the session,
        tied to its transaction: a new transaction starts empty."""
        if self._db.key_engine is not self._db.engine:
            return None
        transaction = data_session.get_transaction()
        held = data_session.info.get("kluis.keys")
        if held is None or held[0] is not transaction:
            held = (transaction, {})
            data_session.info["kluis.keys"] = held
        return held[1]

    def _forget(self, data_session: Session, person_ids: Iterable[UUID]) -> None:
        known = self._known(data_session)
        if known is not None:
            for pid in person_ids:
                known.pop(pid, None)

    def destroy(self, data_session: Session, key_ids: Iterable[UUID], *, reason: str,
                job_id: UUID | None = None) -> int:
        """Crypto-shredding (R-VLT-5): the keys go (person keys and object keys alike, by their id), each logged in
        the same key-store transaction, so a restored backup can be brought back in line (``reason``: why;
        ``job_id``: the erasure job, if one). How many went."""
        ids = list(key_ids)
        self._forget(data_session, ids)
        with self._session(data_session) as session:
            keys, objects = PersonKey.__table__, ObjectKey.__table__
            # In id order (by the number: ``UUID``'s own comparison runs in Python, 40,000 calls for 2,000 ids).
            gone = sorted([*session.scalars(delete(keys).where(among(session, keys.c.person_id, ids))
                                            .returning(keys.c.person_id)),
                           *session.scalars(delete(objects).where(among(session, objects.c.id, ids))
                                            .returning(objects.c.id))], key=attrgetter("int"))
            now = self._clock.now()
            erasure_log.write(session, [Entry(at=now, action=erasure_log.KEY_DESTROYED, reason=reason, key_id=key_id,
                                              job_id=job_id) for key_id in gone], self._log_copy)
        return len(gone)

    def adopt(self, data_session: Session, person_id: UUID, from_id: UUID) -> bool:
        """Make the key stored under ``from_id`` (an erasure job's fresh key) the person's key, destroying the
        person's old one, in one key-store transaction, logged in it. False when there is nothing to adopt (it was
        adopted before)."""
        self._forget(data_session, [person_id, from_id])
        with self._session(data_session) as session:
            row = session.get(PersonKey, from_id)
            if row is None:
                return False
            dek = self._keys.unwrap(from_id, row.wrapped, row.kek_id)
            session.execute(delete(PersonKey).where(PersonKey.person_id.in_([person_id, from_id])))
            session.execute(PersonKey.__table__.insert(), [{
                "person_id": person_id, "wrapped": self._keys.wrap(person_id, dek), "kek_id": self._keys.master_id,
                "created_at": row.created_at}])
            erasure_log.write(session, [Entry(at=self._clock.now(), action=erasure_log.KEY_REPLACED, reason="erasure",
                                              key_id=person_id, job_id=from_id, key_created_at=row.created_at)],
                              self._log_copy)
        return True

    def log_suppression(self, data_session: Session, action: str, list_id: str, digests: Iterable[bytes],
                        reason: str, job_id: UUID | None = None) -> None:
        """Log addresses' digests put on (``SUPPRESSED``) or taken off (``UNSUPPRESSED``) a suppression list; no
        person is named. With a key store of its own this commits before the caller's change: the log may name a
        change that was then rolled back and is made again, never lack one that was made."""
        hexes = tuple(sorted(d.hex() for d in digests))
        if hexes:
            with self._session(data_session) as session:
                erasure_log.write(session, [Entry(at=self._clock.now(), action=action, reason=reason,
                                                  list_id=list_id, digests=hexes, job_id=job_id)], self._log_copy)

    def bring_in_line(self, data_session: Session, entry: Entry) -> int:
        """The key store's side of one logged entry, for a key store restored from before it: a destroyed key that
        is back goes again; a replaced key that is back is replaced by its replacement if that is back too, else
        destroyed. A key made after the entry is a later key and stays. How many keys went."""
        if entry.action not in (erasure_log.KEY_DESTROYED, erasure_log.KEY_REPLACED) or entry.key_id is None:
            return 0
        with self._session(data_session) as session:
            made = session.scalar(select(PersonKey.created_at).where(PersonKey.person_id == entry.key_id))
            if made is None:
                made = session.scalar(select(ObjectKey.created_at).where(ObjectKey.id == entry.key_id))
        if made is None:
            return 0
        if entry.action == erasure_log.KEY_DESTROYED:
            if made > entry.at:
                return 0
        else:
            if entry.key_created_at is None or made >= entry.key_created_at:
                return 0
            if entry.job_id is not None and self.adopt(data_session, entry.key_id, entry.job_id):
                return 1
        return self.destroy(data_session, [entry.key_id], reason=RESTORE, job_id=entry.job_id)

    def logged(self, since: datetime | None = None) -> tuple[list[Entry], set[UUID]]:
        """The erasure log's entries from ``since`` on, in order, and the ids of all its entries."""
        with self._db.key_sessions() as session:
            return erasure_log.stored(session, since), erasure_log.stored_ids(session)

    def take_into_log(self, data_session: Session, entries: list[Entry]) -> None:
        """Entries from the operator's copy that a restored key store lacks, put back as they were (they are in
        the copy already: not written to it again)."""
        with self._session(data_session) as session:
            erasure_log.write(session, entries, None)

    def outdated(self) -> int:
        """How many keys (person and object keys) are not yet wrapped by the current master key."""
        current = self._keys.master_id
        with self._db.key_sessions() as session:
            return sum(int(session.scalar(select(func.count()).select_from(table).where(table.c.kek_id != current))
                           or 0) for table in (_keys_table, ObjectKey.__table__))

    def rotate(self, batch: int = 1000, on_batch: Callable[[int], None] | None = None) -> int:
        """Re-wrap every person key and object key not yet under the current master key. Each batch commits on
        its own, so a stopped rotation resumes where it was: finished keys no longer match the query."""
        keys = self._keys
        people = self._rotate(_keys_table, _keys_table.c.person_id, batch, on_batch,
                              lambda row: keys.wrap(row.person_id, keys.unwrap(row.person_id, row.wrapped, row.kek_id)))
        objects = ObjectKey.__table__
        return people + self._rotate(objects, objects.c.id, batch, on_batch, lambda row: keys.wrap_key(
            row.kind, row.id, keys.unwrap_key(row.kind, row.id, row.wrapped, row.kek_id)))

    def _rotate(self, table: Table, key: Column[UUID], batch: int, on_batch: Callable[[int], None] | None,
                rewrap: Callable[[Row[Any]], bytes]) -> int:
        current, done = self._keys.master_id, 0
        while True:
            with self._db.key_transaction() as session:
                rows = session.execute(select(table).where(table.c.kek_id != current)
                                       .order_by(key).limit(batch)).all()
                for row in rows:
                    session.execute(update(table).where(key == row._mapping[key.name])
                                    .values(wrapped=rewrap(row), kek_id=current))
            done += len(rows)
            if on_batch and rows:
                on_batch(len(rows))
            if len(rows) < batch:
                return done

"""The audited read ``GET /api/v1/people/{id}/records`` answered at the ASGI level (R-GATE-2, R-GOV-1).

The endpoint spends most of its time outside the read itself: routing, dependency injection, ORM sessions and
six round trips (key in a session of its own, gate facts, person, records, person key, audit event and
commit). On PostgreSQL this middleware answers a read the endpoint would answer with 200 in two statements on
autocommit connections of its own:

1. two SELECTs sent together in one round trip (psycopg's pipeline): the key row; and the person's gate facts,
   wrapped data key (when the key store is in the data database; otherwise one more SELECT on the key store,
   only when records are to be opened) and records, in the endpoint's order (the category filter in SQL when one
   is given). The second statement starts from the person and joins only tables keyed by the person, so a
   distributed PostgreSQL routes it to the one node holding that person (docs/scaling.md); the key table is
   not joined to them (an outer join with a reference table on its outer side is what such engines refuse);
2. the audit event's INSERT (``kluis.audit.service``'s own statement and fields), a transaction of its own that
   commits before a byte of the answer is sent: no records leave without their committed audit event.

The key, the purpose, the gate's decision and the records are judged by the functions the endpoint uses
(``key_accepts``, ``Caller.require``, ``gate.rules.decide``, ``vault.service.readable`` and ``record_out``)
and the body is serialized by the endpoint's response model, so the bytes are the endpoint's. Anything else
goes to the application unchanged and gets the endpoint's answer, errors included: another path, method or
query, a missing, bad or revoked key, a purpose the key lacks, a refusal by the gate (403), an unknown or
erased person (404), a data key or record that does not open (410), SQLite, and any database error. Nothing
is cached across requests: key, facts and records are read afresh every time.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import psycopg
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.exc import DBAPIError

from kluis.access.service import Caller, bearer_token, key_accepts, split_token
from kluis.audit import service as audit
from kluis.gate import rules
from kluis.gate.service import FACTS_ONE_PG, facts_from_rows
from kluis.kit.clock import as_utc
from kluis.kit.errors import DomainError
from kluis.vault.api import RecordsOut
from kluis.vault.crypto import open_sealed
from kluis.vault.service import readable, record_out
from kluis.wiring import Kluis

_PATH = re.compile(r"/api/v1/people/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/records")
# Characters that are never percent-encoded, so the raw query is the decoded one; longer than the endpoint's
# max_length (40) is left to the endpoint's 422.
_CATEGORY = re.compile(rb"category=([A-Za-z0-9_.-]{1,40})")
_JSON_HEADERS = [(b"content-type", b"application/json")]
# Requests answered at once per process, each on its own thread and connections: a read waits for its audit
# event's commit (the WAL flush), and on the event loop every other request would wait behind it; on threads
# the commits overlap and the server flushes them together.
THREADS = 4

KEY_PG = ("SELECT id, service, secret_hash, revoked_at IS NOT NULL, CAST(purposes AS TEXT) FROM api_key "
          "WHERE prefix = %s")
_READ = ("SELECT f.*, {key_columns}, r.id, r.category, r.purposes, r.legal_basis, r.source, r.controller, "
         "r.controller_employer_id, r.content_kind, r.media_type, r.ciphertext, r.collected_at, r.last_activity_at "
         "FROM (" + FACTS_ONE_PG + ") f "
         "{key_join}LEFT JOIN record r ON r.person_id = f.id{category} "
         "ORDER BY r.collected_at, r.id")  # the order of Vault.read_records
# (shared key store, category filter) -> statement; a key store of its own is read on its own connection.
READS_PG = {(shared, filtered): _READ.format(
    key_columns="pk.wrapped, pk.kek_id" if shared else "NULL, NULL",
    key_join="LEFT JOIN person_key pk ON pk.person_id = f.id " if shared else "",
    category=" AND r.category = %s" if filtered else "") for shared in (True, False) for filtered in (True, False)}
PERSON_KEY_PG = "SELECT wrapped, kek_id FROM person_key WHERE person_id = %s"
_FACTS, _PERSON_KEY, _RECORD = slice(0, 6), slice(6, 8), 8


class RecordRow(NamedTuple):
    """A record row with the attribute names ``readable`` and ``record_out`` read from the ORM's Record."""

    id: uuid.UUID
    category: str
    purposes: list[str]
    legal_basis: str
    source: str
    controller: str
    controller_employer_id: uuid.UUID | None
    content_kind: str
    media_type: str | None
    ciphertext: bytes
    collected_at: Any
    last_activity_at: Any
    person_id: uuid.UUID


def answer(kluis: Kluis, connection: Any, key_connection: Any, person_id: uuid.UUID, category: str | None,
           token: str, purpose: str) -> bytes | None:
    """The endpoint's 200 body, with the read's audit event committed; None when the endpoint should answer.
    ``key_connection``: the key store's own connection when it is not the data database, else None."""
    parts = split_token(token)
    if parts is None:
        return None
    pid = str(person_id)
    shared = key_connection is None
    params: tuple[Any, ...] = (person_id, *((category,) if category is not None else ()))
    with connection.pipeline():
        key_cursor = connection.execute(KEY_PG, (parts[0],))
        read_cursor = connection.execute(READS_PG[shared, category is not None], params)
    key, rows = key_cursor.fetchone(), read_cursor.fetchall()
    if key is None:
        return None
    key_id, service, secret_hash, revoked, purposes_text = key
    if not key_accepts(secret_hash, revoked, parts[1]):
        return None
    caller = Caller(key_id=str(key_id), service=service, purposes=tuple(json.loads(purposes_text)))
    try:
        caller.require(purpose)
    except DomainError:
        return None
    facts = dict(facts_from_rows(row[_FACTS] for row in rows[:1]))  # no row: no such person
    decision = rules.decide(kluis.policy, purpose, facts.get(person_id, rules.UNKNOWN_PERSON), kluis.clock.now())
    if not decision.allowed:
        return None
    records = readable(kluis.policy, purpose, _records(rows, person_id))
    try:
        person_key = rows[0][_PERSON_KEY] if shared or not records else (
            key_connection.execute(PERSON_KEY_PG, (person_id,)).fetchone() or (None, None))
        body = _body(kluis, purpose, records, person_key)
    except DomainError:  # Unreadable, ConfigurationError (a master key not configured)
        return None  # a destroyed or foreign key, an altered record: the endpoint says so
    if body is None:
        return None
    event = audit.event(kluis.clock, actor=caller.actor, action="records.read", object_type="record",
                        object_ids=[r.id for r in records],
                        details={"person_id": pid, "purpose": purpose, "count": len(records)})
    write_event(connection, event)
    return body


def write_event(connection: Any, event: dict[str, Any]) -> None:
    """The read's audit event, by the audit service's own INSERT (compiled once), committed by the server with
    the statement (autocommit)."""
    connection.execute(_insert_sql(), {"audit_events": audit.pg_events_json([event])})


def _records(rows: Sequence[Any], person_id: uuid.UUID) -> list[RecordRow]:
    return [RecordRow._make((*row[_RECORD:_RECORD + 10], as_utc(row[_RECORD + 10]), as_utc(row[_RECORD + 11]),
                             person_id))
            for row in rows if row[_RECORD] is not None]


def _body(kluis: Kluis, purpose: str, records: list[RecordRow], person_key: tuple[Any, Any]) -> bytes | None:
    out = []
    if records:
        wrapped, kek_id = person_key
        if wrapped is None:
            return None
        dek = kluis.keys.unwrap(records[0].person_id, wrapped, kek_id)
        out = [record_out(r, open_sealed(dek, r.person_id, r.id, r.category, r.ciphertext)) for r in records]
    # FastAPI serializes a response model straight to JSON with pydantic (its dump_json path): the same bytes.
    return RecordsOut(purpose=purpose, records=out).model_dump_json().encode()


@functools.cache
def _insert_sql() -> str:
    return audit.pg_insert_sql(postgresql_psycopg.dialect())


class RecordsFastPath:
    """ASGI middleware: answers well-formed audited record reads, passes everything else on (see the module)."""

    def __init__(self, app: Any, kluis: Kluis) -> None:
        self.app, self.kluis = app, kluis
        # Each thread's own autocommit connections (data; key store when apart), made on first use.
        self._local = threading.local()
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="kluis-records")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = self._request(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        content = None
        if request is not None:
            content = await asyncio.get_running_loop().run_in_executor(self._threads, self._answer, *request)
        if content is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(content)).encode()), *_JSON_HEADERS]})
        await send({"type": "http.response.body", "body": content})

    def _request(self, scope: dict[str, Any]) -> tuple[uuid.UUID, str | None, str, str] | None:
        """(person id, category, token, purpose) of a request the hot path may answer, else None."""
        path = _PATH.fullmatch(scope["path"])
        db = self.kluis.db
        if path is None or db.dialect != "postgresql" or db.key_engine.dialect.name != "postgresql":
            return None
        query = scope["query_string"]
        category = None
        if query:
            match = _CATEGORY.fullmatch(query)
            if match is None:
                return None
            category = match.group(1).decode()
        token = purpose = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if token is not None:
                    return None
                token = value
            elif name == b"kluis-purpose":
                if purpose is not None:
                    return None
                purpose = value
        token_text = bearer_token(token.decode("latin-1")) if token is not None else None
        if token_text is None or not purpose:
            return None
        return uuid.UUID(path.group(1)), category, token_text, purpose.decode("latin-1")

    def _answer(self, person_id: uuid.UUID, category: str | None, token: str, purpose: str) -> bytes | None:
        db, local = self.kluis.db, self._local
        try:
            if getattr(local, "connection", None) is None or local.connection.closed:
                with self._lock:  # the database keeps a list of held connections to close
                    local.connection = db.held_connection()
            key_connection = None
            if db.key_engine is not db.engine:
                key_connection = getattr(local, "key_connection", None)
                if key_connection is None or key_connection.closed:
                    with self._lock:
                        key_connection = local.key_connection = db.held_connection(key_store=True)
            return answer(self.kluis, local.connection, key_connection, person_id, category, token, purpose)
        except (psycopg.Error, DBAPIError):
            # A broken connection is dropped (the next request makes a new one); this request goes the
            # endpoint's way, which answers or fails as it always has.
            for name in ("connection", "key_connection"):
                connection = getattr(local, name, None)
                if connection is not None:
                    connection.close()
                setattr(local, name, None)
            return None

"""The hot path of every service, ``POST /api/v1/decisions``, answered at the ASGI level (R-GATE-1, R-GATE-2).

Routing, dependency injection, pydantic parsing of ``Question | Questions`` and a response object cost
several times the decision itself. This middleware answers a well-formed question (or batch) directly:
the body parsed with ``json``, the key checked and the facts read in the same way as the endpoint does,
the answer written as the endpoint's JSON. Anything it does not fully accept — another route or method,
a body that is not exactly a question or a batch of them, a missing or bad key, an unknown or foreign
purpose — is handed to the application unchanged (the body replayed), so every error keeps the shape,
code and status the endpoint and the problem handlers give it. Nothing is cached across requests: the
key (revocation) and the person's facts (objections, withdrawals) are read afresh for every request, from the
read replica when KLUIS_READ_DATABASE_URL names one (docs/gate.md#decisions-from-a-replica).
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import nullcontext
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from kluis.access.service import authenticate, bearer_token, key_accepts, split_token
from kluis.gate.api import MAX_DECISIONS
from kluis.gate.batch import decide_all
from kluis.gate.facts import facts_from_rows, facts_statement_pg
from kluis.kit.errors import DomainError
from kluis.kit.heap import cycle_collector_paused
from kluis.wiring import Kluis

PATH = "/api/v1/decisions"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_QUESTION_KEYS = frozenset(("person_id", "purpose"))
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _question(item: Any) -> tuple[str, str] | None:
    """(person id text, purpose) of a well-formed question; None for anything the endpoint should judge."""
    if item.__class__ is not dict or item.keys() != _QUESTION_KEYS:
        return None
    person_id, purpose = item["person_id"], item["purpose"]
    if person_id.__class__ is not str or purpose.__class__ is not str or len(purpose) > 40 \
            or len(person_id) != 36 or _UUID.fullmatch(person_id) is None:
        return None
    return person_id, purpose


def parse(body: bytes) -> tuple[list[tuple[str, str]], bool] | None:
    """The questions and whether it was a single one, or None when the body is not exactly a question or a
    batch of 1 to MAX_DECISIONS questions (the endpoint then explains what is wrong)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if data.__class__ is not dict:
        return None
    if len(data) == 1 and "items" in data:
        items = data["items"]
        if items.__class__ is not list or not 1 <= len(items) <= MAX_DECISIONS:
            return None
        questions = []
        for item in items:
            question = _question(item)
            if question is None:
                return None
            questions.append(question)
        return questions, False
    question = _question(data)
    return ([question], True) if question is not None else None


# One round trip on PostgreSQL: the key row and the facts of the people asked about, two statements sent
# together (psycopg's pipeline); the key is judged in Python exactly as ``authenticate`` judges it. Apart, not
# joined: the facts' statement touches only person-keyed tables and the key table is no outer side of a join
# with them, which a distributed PostgreSQL would refuse or plan badly (docs/scaling.md).
KEY_PG = "SELECT secret_hash, revoked_at IS NOT NULL, CAST(purposes AS TEXT) FROM api_key WHERE prefix = %s"


def answer(kluis: Kluis, token: str, questions: list[tuple[str, str]], single: bool,
           connection: Any = None) -> bytes | None:
    """The endpoint's JSON answer, or None when the key or a purpose is refused (the endpoint says why).
    ``connection``: a PostgreSQL driver connection in autocommit mode, for the one-statement path."""
    known = kluis.policy.purpose_ids
    if any(purpose not in known for _, purpose in questions):
        return None
    ids = [uuid.UUID(pid) for pid, _ in questions]
    if connection is not None:
        parts = split_token(token)
        if parts is None:
            return None
        with connection.pipeline():
            key_cursor = connection.execute(KEY_PG, (parts[0],))
            facts_cursor = connection.execute(*facts_statement_pg(list(set(ids))))
        key, rows = key_cursor.fetchone(), facts_cursor.fetchall()
        if key is None:
            return None
        secret_hash, revoked, purposes_text = key
        if not key_accepts(secret_hash, revoked, parts[1]):
            return None
        allowed = frozenset(json.loads(purposes_text))
        facts = dict(facts_from_rows(rows))
    else:
        with kluis.db.read_sessions() as session:
            try:
                allowed = frozenset(authenticate(session, token).purposes)
            except DomainError:
                return None
            facts = kluis.gate(session, "fastpath").facts(set(ids)) if allowed.issuperset(
                purpose for _, purpose in questions) else {}
    if not allowed.issuperset(purpose for _, purpose in questions):
        return None
    with cycle_collector_paused() if not single else nullcontext():  # see Gate.decide_many
        decisions = decide_all(kluis.policy, [(pid, purpose) for pid, (_, purpose) in zip(ids, questions, strict=True)],
                               facts, kluis.clock.now())
        out = [{"person_id": str(pid), **d.as_dict()} for pid, d in zip(ids, decisions, strict=True)]
    # As starlette's JSONResponse renders it, so the bytes equal the endpoint's.
    return json.dumps(out[0] if single else {"decisions": out}, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()


class DecisionsFastPath:
    """ASGI middleware: answers well-formed decision requests, passes everything else on (see the module)."""

    def __init__(self, app: Any, kluis: Kluis) -> None:
        self.app, self.kluis = app, kluis
        self._connection: Any = None  # PostgreSQL: this process's own autocommit connection, made on first use

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content = self._answer(scope, body)
        if content is None:
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(content)).encode()), *_JSON_HEADERS]})
        await send({"type": "http.response.body", "body": content})

    def _answer(self, scope: dict[str, Any], body: bytes) -> bytes | None:
        token = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization" and token is None:
                token = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        if token is None or content_type is None or content_type.split(b";", 1)[0].strip() != b"application/json":
            return None
        token_text = bearer_token(token.decode("latin-1"))
        parsed = parse(body)
        if parsed is None or token_text is None:
            return None
        # A short, synchronous unit of work on the event loop: a thread hop would cost more than the work.
        if self.kluis.db.dialect != "postgresql":
            return answer(self.kluis, token_text, *parsed)
        try:
            if self._connection is None or self._connection.closed:
                # Autocommit: each request's one statement sees what is committed at that moment (on a replica:
                # what it has applied, which includes every acknowledged decision-changing write).
                self._connection = self.kluis.db.held_connection(reads=True)
            return answer(self.kluis, token_text, *parsed, connection=self._connection)
        except (psycopg.Error, DBAPIError):
            # A broken connection is dropped (the next request makes a new one); this request goes the
            # endpoint's way, which answers or fails as it always has.
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()
            return None

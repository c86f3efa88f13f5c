"""The rules of signing in to Mijn privacy (R-DSR-1): the code's form, life and tries, and the session's limits."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from kluis.rights.rules import CODE_DIGITS, CODE_MAX_TRIES, code_format_ok

CODE_LIFETIME = timedelta(minutes=15)
MAX_TRIES = CODE_MAX_TRIES
# Short sessions: a person reads and changes their own data, then leaves; a forgotten browser does not stay in.
SESSION_IDLE = timedelta(minutes=15)
SESSION_ABSOLUTE = timedelta(hours=1)
# Rows this far past their end are deleted when somebody next signs in.
KEEP_ENDED = timedelta(days=1)

__all__ = ["CODE_DIGITS", "CODE_LIFETIME", "MAX_TRIES", "code_format_ok", "derive_code", "code_digest",
           "session_alive"]


def derive_code(secret: bytes, sign_in_id: uuid.UUID) -> str:
    """The code of one sign-in, recomputable from its id (the outbox keeps only the id), in its own domain: a
    request's code never signs anyone in."""
    mac = hmac.new(secret, b"kluis/mijn/code-value|" + sign_in_id.bytes, hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def code_digest(secret: bytes, sign_in_id: uuid.UUID, code: str) -> str:
    """Only this keyed digest is stored; bound to the sign-in so a code works for no other."""
    return hmac.new(secret, f"kluis/mijn/code|{sign_in_id}|{code}".encode(), hashlib.sha256).hexdigest()


def session_alive(last_seen_at: datetime, expires_at: datetime, ended_at: datetime | None, now: datetime) -> bool:
    """Whether a session still holds: not signed out, not past its absolute end, not idle too long."""
    return ended_at is None and now < expires_at and now < last_seen_at + SESSION_IDLE

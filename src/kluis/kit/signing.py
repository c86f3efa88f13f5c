"""Signed, URL-safe tokens: the server can check them without storing them, nobody can forge them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

MAC_BYTES = 16  # 128-bit tag


class BadToken(ValueError):
    """The token is malformed, forged, for another purpose, or expired."""


@dataclass(frozen=True)
class Claims:
    purpose: str
    subject: uuid.UUID
    scope: str
    issued_at: datetime
    nonce: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: bytes, purpose: str) -> bytes:
    # One derived key per token purpose: an unsubscribe token can never pass as a confirmation token.
    return hmac.new(secret, b"kluis/token/" + purpose.encode(), hashlib.sha256).digest()


def sign(secret: bytes, purpose: str, subject: uuid.UUID, scope: str, issued_at: datetime, nonce: bytes = b"") -> str:
    scope_bytes = scope.encode()
    if len(scope_bytes) > 255 or len(nonce) > 255:
        raise ValueError("scope and nonce are at most 255 bytes")
    body = (subject.bytes + struct.pack(">QB", int(issued_at.timestamp()), len(scope_bytes)) + scope_bytes
            + bytes([len(nonce)]) + nonce)
    tag = hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:MAC_BYTES]
    return _b64(body + tag)


def verify(secret: bytes, purpose: str, token: str, *, now: datetime | None = None,
           max_age_seconds: int | None = None) -> Claims:
    try:
        raw = _unb64(token)
    except (ValueError, TypeError) as exc:
        raise BadToken("malformed") from exc
    if len(raw) < 16 + 9 + 1 + MAC_BYTES or len(token) > 400:
        raise BadToken("malformed")
    body, tag = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(tag, hmac.new(_key(secret, purpose), body, hashlib.sha256).digest()[:MAC_BYTES]):
        raise BadToken("forged or for another purpose")
    seconds, scope_len = struct.unpack(">QB", body[16:25])
    scope_end = 25 + scope_len
    nonce_len = body[scope_end] if len(body) > scope_end else 0
    nonce = body[scope_end + 1:scope_end + 1 + nonce_len]
    issued = datetime.fromtimestamp(seconds, UTC)
    if max_age_seconds is not None and now is not None and (now - issued).total_seconds() > max_age_seconds:
        raise BadToken("expired")
    return Claims(purpose, uuid.UUID(bytes=body[:16]), body[25:scope_end].decode(), issued, nonce)

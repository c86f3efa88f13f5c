"""Identifiers: random, never sequential, so that nobody can guess another person's id."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def token(nbytes: int = 32) -> str:
    """A URL-safe random token (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)

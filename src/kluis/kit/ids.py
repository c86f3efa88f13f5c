"""Identifiers: random, never sequential, so that nobody can guess another person's id."""

from __future__ import annotations

import os
import secrets
import uuid

# The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid.uuid4`` sets them.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` ids as ``new_id`` makes them (random version-4 UUIDs), for a batch: the random bytes are read
    from the operating system in one call, and each UUID is made from its number as the standard library's
    ``UUID._from_int`` (Python 3.12) does, without ``UUID.__init__``'s parsing, most of ``uuid4``'s cost."""
    randomness = os.urandom(16 * count)
    make, assign, number, unknown = object.__new__, object.__setattr__, int.from_bytes, uuid.SafeUUID.unknown
    ids = []
    for at in range(0, 16 * count, 16):
        made = make(uuid.UUID)
        assign(made, "int", (number(randomness[at:at + 16], "big") & _CLEAR) | _SET)
        assign(made, "is_safe", unknown)
        ids.append(made)
    return ids


def token(nbytes: int = 32) -> str:
    """A URL-safe random token (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)

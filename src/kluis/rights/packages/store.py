"""The encrypted store of a built package (R-DSR-3): the ZIP as a sequence of AES-256-GCM chunks in the
database, written and read in constant memory.

Each package has its own random key, kept only wrapped by the person's data key. A chunk holds at most
``CHUNK`` bytes of ZIP; its nonce is a random prefix (stored with the wrapped key) plus the chunk's number and
a last-chunk flag, and its associated data is the package id. So chunks cannot be reordered, dropped, moved
to another package or cut short without the reader noticing.
"""

from __future__ import annotations

import io
import os
import struct
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kluis.rights.models import AccessPackageChunk
from kluis.vault.crypto import Unreadable

if TYPE_CHECKING:
    from typing_extensions import Buffer

CHUNK = 64 * 1024
PREFIX = 7  # random nonce prefix; + 4-byte chunk number + 1-byte last flag = the 12-byte GCM nonce
FORMAT = b"\x01"
READ_BATCH = 4


def new_package_key(dek: bytes, package_id: uuid.UUID) -> tuple[bytes, bytes, bytes]:
    """A fresh (key, nonce prefix), and the form stored: both sealed by the person's key."""
    key, prefix, nonce = AESGCM.generate_key(bit_length=256), os.urandom(PREFIX), os.urandom(12)
    sealed = AESGCM(dek).encrypt(nonce, prefix + key, _key_aad(package_id))
    return key, prefix, FORMAT + nonce + sealed


def open_package_key(dek: bytes, package_id: uuid.UUID, wrapped: bytes) -> tuple[bytes, bytes]:
    """(nonce prefix, key) of a package."""
    if wrapped[:1] != FORMAT:
        raise Unreadable("unknown package key format")
    try:
        opened = AESGCM(dek).decrypt(wrapped[1:13], wrapped[13:], _key_aad(package_id))
    except InvalidTag as exc:
        raise Unreadable("the package key does not open with this person's key") from exc
    return opened[:PREFIX], opened[PREFIX:]


def _key_aad(package_id: uuid.UUID) -> bytes:
    return b"kluis/package-key/v1|" + package_id.bytes


def _nonce(prefix: bytes, seq: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", seq, 1 if last else 0)


class SealedWriter(io.RawIOBase):
    """A write-only stream that encrypts what it is given into chunk rows of the caller's session. Holds
    at most one chunk of plaintext; ``close`` writes the last chunk (flagged, possibly empty)."""

    def __init__(self, session: Session, person_id: uuid.UUID, package_id: uuid.UUID, key: bytes,
                 prefix: bytes) -> None:
        super().__init__()
        self._session, self._package_id, self._aead, self._prefix = session, package_id, AESGCM(key), prefix
        self._person_id = person_id
        self._buffer = bytearray()
        self.seq = 0
        self.size = 0  # bytes of ZIP written
        self.stored = 0  # bytes of ciphertext stored

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer, /) -> int:
        if self.closed:
            raise ValueError("write to a closed package")
        size = memoryview(data).nbytes
        self._buffer += data
        self.size += size
        while len(self._buffer) > CHUNK:  # keep the tail: the last chunk is only known at close
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return size

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()

    def _emit(self, plaintext: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self.seq, last), plaintext, self._package_id.bytes)
        self._session.execute(insert(AccessPackageChunk), [{"person_id": self._person_id,
                                                             "package_id": self._package_id, "seq": self.seq,
                                                             "data": sealed}])
        self.seq += 1
        self.stored += len(sealed)


def read_sealed(session: Session, person_id: uuid.UUID, package_id: uuid.UUID, key: bytes,
                prefix: bytes) -> Iterator[bytes]:
    """The package's ZIP, chunk by chunk, checked: a changed, missing, reordered or cut-off chunk raises."""
    aead = AESGCM(key)
    query = (select(AccessPackageChunk.seq, AccessPackageChunk.data)
             .where(AccessPackageChunk.person_id == person_id, AccessPackageChunk.package_id == package_id)
             .order_by(AccessPackageChunk.seq))
    result = session.execute(query.execution_options(yield_per=READ_BATCH))
    expected, pending, finished = 0, None, False
    try:
        for seq, data in result:
            if pending is not None:
                yield _open(aead, prefix, package_id, *pending, last=False)
            if seq != expected:
                raise Unreadable("a chunk of the package is missing")
            pending, expected = (seq, data), expected + 1
        if pending is not None:
            yield _open(aead, prefix, package_id, *pending, last=True)
            finished = True
    finally:
        result.close()
    if not finished:
        raise Unreadable("the package is empty")


def _open(aead: AESGCM, prefix: bytes, package_id: uuid.UUID, seq: int, data: bytes, last: bool) -> bytes:
    try:
        return aead.decrypt(_nonce(prefix, seq, last), data, package_id.bytes)
    except InvalidTag as exc:
        raise Unreadable("the package was altered or cut short") from exc


def delete_chunks(session: Session, person_id: uuid.UUID, package_id: uuid.UUID) -> None:
    """The package's chunks (no foreign key deletes them with it: ``AccessPackageChunk``)."""
    session.execute(delete(AccessPackageChunk).where(AccessPackageChunk.person_id == person_id,
                                                     AccessPackageChunk.package_id == package_id))

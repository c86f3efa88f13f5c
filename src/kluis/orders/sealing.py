"""Encryption of what an order brings and produces (AES-256-GCM, ``cryptography``).

- The order's document: a random key per order seals it (associated data: the order id). The key is an object
  key in the key store (kind ``order-document``, under the order's id), apart from the data, wrapped by the
  master key and re-wrapped when it rotates; destroying it (the order deleted) shreds the document. The document
  belongs to no one person, so no person's key can hold it.
- Free text (an answer to an informal request, a decision's reasons) is sealed by the master key, bound to its row,
  and sealed anew when the master key rotates (``SEALED`` in ``service``).
- An export: a random 256-bit key per export seals the ZIP (associated data: the export id). The key is put in
  the download link, shown once, and stored nowhere: the database holds only ciphertext it cannot open.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kluis.vault.crypto import KeyRing, Unreadable

FORMAT = b"\x01"
NONCE = 12
DOCUMENT_KEY = "order-document"  # the kind of the document's object key in the key store


def _seal(key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, aad: bytes, sealed: bytes, what: str) -> bytes:
    if sealed[:1] != FORMAT:
        raise Unreadable(f"unknown {what} format")
    try:
        return AESGCM(key).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:], aad)
    except InvalidTag as exc:
        raise Unreadable(f"the {what} does not open: altered, moved, or the wrong key") from exc


def seal_document(key: bytes, order_id: uuid.UUID, pdf: bytes) -> bytes:
    return _seal(key, b"kluis/order-document/v1|" + order_id.bytes, pdf)


def open_document(key: bytes, order_id: uuid.UUID, sealed: bytes) -> bytes:
    return _open(key, b"kluis/order-document/v1|" + order_id.bytes, sealed, "order document")


def text_context(kind: str, row_id: uuid.UUID) -> bytes:
    return f"order-{kind}|".encode() + row_id.bytes


def seal_text(keys: KeyRing, kind: str, row_id: uuid.UUID, text: str) -> bytes:
    return keys.seal_secret(text_context(kind, row_id), text.encode())


def open_text(keys: KeyRing, kind: str, row_id: uuid.UUID, sealed: bytes) -> str:
    return keys.open_secret(text_context(kind, row_id), sealed).decode()


def seal_export(export_id: uuid.UUID, zipped: bytes) -> tuple[bytes, bytes]:
    """(one-time key, ciphertext) of an export."""
    key = AESGCM.generate_key(bit_length=256)
    return key, _seal(key, b"kluis/order-export/v1|" + export_id.bytes, zipped)


def open_export(export_id: uuid.UUID, key: bytes, sealed: bytes) -> bytes:
    return _open(key, b"kluis/order-export/v1|" + export_id.bytes, sealed, "export")

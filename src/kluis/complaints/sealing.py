"""The complaint's own key and its sealed correspondence (R-GOV-2: confidential at rest).

Each complaint gets a random AES-256-GCM key. With a person, it is wrapped by that person's data key (as an
access package's key is), so erasing the person leaves the text unreadable; without one (a letter from
someone Kluis does not hold, an address not in the vault), by the master key. Each message is sealed with
associated data naming the complaint, the message and its kind, so it cannot be moved to another row.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from kluis.complaints.models import Complaint
from kluis.kit.errors import NotFound
from kluis.vault.crypto import Unreadable

if TYPE_CHECKING:
    from kluis.wiring import Kluis

FORMAT = b"\x01"
NONCE = 12


def _key_aad(complaint_id: uuid.UUID) -> bytes:
    return b"kluis/complaint-key/v1|" + complaint_id.bytes


def _message_aad(complaint_id: uuid.UUID, message_id: uuid.UUID, kind: str) -> bytes:
    return b"kluis/complaint-msg/v1|" + complaint_id.bytes + message_id.bytes + kind.encode()


def _person_key(session: Session, kluis: Kluis, person_id: uuid.UUID) -> bytes:
    dek = kluis.keystore.data_keys(session, [person_id]).get(person_id)
    if dek is None:
        raise NotFound("this person's data was erased", code="person_erased")
    return dek


def new_key(session: Session, kluis: Kluis, complaint_id: uuid.UUID, person_id: uuid.UUID | None
            ) -> tuple[bytes, bytes]:
    """(key, wrapped key) of a new complaint, wrapped for ``person_id`` or by the master key."""
    key = AESGCM.generate_key(bit_length=256)
    if person_id is None:
        return key, kluis.keys.seal_secret(_key_aad(complaint_id), key)
    nonce = os.urandom(NONCE)
    return key, FORMAT + nonce + AESGCM(_person_key(session, kluis, person_id)).encrypt(
        nonce, key, _key_aad(complaint_id))


def key_of(session: Session, kluis: Kluis, complaint: Complaint) -> bytes:
    if complaint.key_person_id is None:
        return kluis.keys.open_secret(_key_aad(complaint.id), complaint.wrapped_key)
    wrapped = complaint.wrapped_key
    try:
        return AESGCM(_person_key(session, kluis, complaint.key_person_id)).decrypt(
            wrapped[1:1 + NONCE], wrapped[1 + NONCE:], _key_aad(complaint.id))
    except (InvalidTag, NotFound) as exc:
        raise Unreadable("the complaint's key does not open: the person's key is gone") from exc


def seal(key: bytes, complaint_id: uuid.UUID, message_id: uuid.UUID, kind: str, text: str) -> bytes:
    nonce = os.urandom(NONCE)
    return FORMAT + nonce + AESGCM(key).encrypt(nonce, text.encode(), _message_aad(complaint_id, message_id, kind))


def open_text(key: bytes, complaint_id: uuid.UUID, message_id: uuid.UUID, kind: str, sealed: bytes) -> str:
    if sealed[:1] != FORMAT:
        raise Unreadable("unknown ciphertext format")
    try:
        return AESGCM(key).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:],
                                   _message_aad(complaint_id, message_id, kind)).decode()
    except InvalidTag as exc:
        raise Unreadable("message does not decrypt: altered, or moved to another row") from exc

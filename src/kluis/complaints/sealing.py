"""The complaint's own key and its sealed correspondence (R-GOV-2: confidential at rest).

Each complaint gets a random AES-256-GCM key, wrapped by a data key in the key store (kept apart from the data,
re-wrapped by ``kluis access rotate``): the person's, when there is one at intake (as an access package's key
is), so erasing the person leaves the text unreadable; otherwise a data key made for the complaint alone, stored
under the complaint's id. Each message is sealed with associated data naming the complaint, the message and
its kind, so it cannot be moved to another row.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from kluis.complaints.models import Complaint
from kluis.vault.crypto import Unreadable

if TYPE_CHECKING:
    from kluis.wiring import Kluis

FORMAT = b"\x01"
NONCE = 12


def _key_aad(complaint_id: uuid.UUID) -> bytes:
    return b"kluis/complaint-key/v1|" + complaint_id.bytes


def _message_aad(complaint_id: uuid.UUID, message_id: uuid.UUID, kind: str) -> bytes:
    return b"kluis/complaint-msg/v1|" + complaint_id.bytes + message_id.bytes + kind.encode()


def new_key(session: Session, kluis: Kluis, complaint_id: uuid.UUID, person_id: uuid.UUID | None
            ) -> tuple[bytes, bytes]:
    """(key, wrapped key) of a new complaint: wrapped by the person's data key, or by one made for it."""
    if person_id is None:
        owner_key = kluis.keystore.create(session, [complaint_id], kluis.clock.now())[complaint_id]
    else:
        owner_key = _owner_key(session, kluis, person_id)
    key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(NONCE)
    return key, FORMAT + nonce + AESGCM(owner_key).encrypt(nonce, key, _key_aad(complaint_id))


def _owner_key(session: Session, kluis: Kluis, owner_id: uuid.UUID) -> bytes:
    found = kluis.keystore.data_keys(session, [owner_id]).get(owner_id)
    if found is None:
        raise Unreadable("the complaint's key is gone: the person was erased or the complaint lapsed")
    return found


def key_of(session: Session, kluis: Kluis, complaint: Complaint) -> bytes:
    wrapped = complaint.wrapped_key
    try:
        return AESGCM(_owner_key(session, kluis, complaint.key_owner_id)).decrypt(
            wrapped[1:1 + NONCE], wrapped[1 + NONCE:], _key_aad(complaint.id))
    except InvalidTag as exc:
        raise Unreadable("the complaint's key does not open") from exc


def forget_own_key(session: Session, kluis: Kluis, complaint: Complaint) -> None:
    """Destroy a key made for this complaint alone (never a person's): what it sealed can no longer be read."""
    if complaint.key_owner_id == complaint.id:
        kluis.keystore.destroy(session, [complaint.id], reason="complaint")


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

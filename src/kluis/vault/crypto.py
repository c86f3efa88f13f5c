"""Envelope encryption (R-VLT-1, R-VLT-5) and the keyed blind index (R-VLT-2).

A data key per person (AES-256-GCM) encrypts that person's records; the master key wraps the
data keys; the index key (a separate secret) makes blind-index digests. Associated data binds each
ciphertext to its person, record and category, so a ciphertext copied to another row won't decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kluis.config import Settings
from kluis.kit.errors import ConfigurationError, DomainError
from kluis.kit.secrets import parse_secret

FORMAT = b"\x01"
NONCE = 12


@dataclass
class Unreadable(DomainError):
    """The ciphertext can't be opened: its key was destroyed (shredded) or it was altered or moved."""

    code: str = "unreadable"
    status: int = 410


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kluis/kek-id|" + key).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """The secrets Kluis runs on. Previous master keys are kept only to open what they wrapped or sealed until
    ``kluis access rotate`` has put it under the current master key."""

    master: bytes
    previous: tuple[bytes, ...]
    index: bytes
    secret: bytes

    @property
    def master_id(self) -> str:
        return key_id(self.master)

    def kek(self, kek_id: str) -> bytes:
        for key in (self.master, *self.previous):
            if key_id(key) == kek_id:
                return key
        raise ConfigurationError(
            f"a key is wrapped by master key {kek_id}, which is not configured "
            "(set it in KLUIS_PREVIOUS_MASTER_KEYS and run `kluis access rotate`)")

    def wrap(self, person_id: UUID, dek: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + AESGCM(self.master).encrypt(nonce, dek, _dek_aad(person_id))

    @cached_property
    def _unwrappers(self) -> dict[str, AESGCM]:
        """A cipher per master key by its id, set up once: a batch unwraps a key for each of its people."""
        return {key_id(key): AESGCM(key) for key in (*reversed(self.previous), self.master)}

    def unwrap(self, person_id: UUID, wrapped: bytes, kek_id: str) -> bytes:
        aead = self._unwrappers.get(kek_id) or AESGCM(self.kek(kek_id))  # an unknown id: kek() says which
        try:
            return aead.decrypt(wrapped[1:1 + NONCE], wrapped[1 + NONCE:], _dek_aad(person_id))
        except InvalidTag as exc:
            raise Unreadable("person key does not open with the configured master key") from exc

    def digest(self, kind: str, scope: str, normalised: str) -> bytes:
        """Blind-index digest: equal inputs give equal digests; nothing about the value shows."""
        msg = b"\x1f".join((kind.encode(), scope.encode(), normalised.encode()))
        return hmac.new(self.index, msg, hashlib.sha256).digest()

    def wrap_key(self, kind: str, owner_id: UUID, key: bytes) -> bytes:
        """Wrap a key that belongs to no person (an order's document key), bound to its kind and owner's id."""
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + AESGCM(self.master).encrypt(nonce, key, _key_aad(kind, owner_id))

    def unwrap_key(self, kind: str, owner_id: UUID, wrapped: bytes, kek_id: str) -> bytes:
        try:
            return AESGCM(self.kek(kek_id)).decrypt(wrapped[1:1 + NONCE], wrapped[1 + NONCE:],
                                                    _key_aad(kind, owner_id))
        except InvalidTag as exc:
            raise Unreadable(f"{kind} key does not open with the configured master key") from exc

    def seal_secret(self, context: bytes, plaintext: bytes) -> bytes:
        """Encrypt a small secret that belongs to no person (a staff e-mail, a TOTP seed)."""
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + AESGCM(self.master).encrypt(nonce, plaintext, b"kluis/secret|" + context)

    def open_secret(self, context: bytes, sealed: bytes) -> bytes:
        """The secret, opened by the current master key or, until rotation has re-sealed it, a previous one."""
        for key in (self.master, *self.previous):
            try:
                return AESGCM(key).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:], b"kluis/secret|" + context)
            except InvalidTag:
                continue
        raise Unreadable("sealed value does not open with the configured master keys")

    def reseal_secret(self, context: bytes, sealed: bytes) -> bytes | None:
        """The secret sealed anew by the current master key; None when it is under the current key already."""
        try:
            AESGCM(self.master).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:], b"kluis/secret|" + context)
            return None
        except InvalidTag:
            return self.seal_secret(context, self.open_secret(context, sealed))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _dek_aad(person_id: UUID) -> bytes:
    return b"kluis/dek/v1|" + person_id.bytes


def _key_aad(kind: str, owner_id: UUID) -> bytes:
    return b"kluis/key/v1|" + kind.encode() + b"|" + owner_id.bytes


def _record_aad(person_id: UUID, record_id: UUID, category: str) -> bytes:
    return b"kluis/rec/v1|" + person_id.bytes + record_id.bytes + category.encode()


def seal(dek: bytes, person_id: UUID, record_id: UUID, category: str, plaintext: bytes) -> bytes:
    return RecordCipher(dek).seal(person_id, record_id, category, plaintext)


class RecordCipher:
    """One person's data key, set up once for the many records of a batch."""

    def __init__(self, dek: bytes) -> None:
        self.aead = AESGCM(dek)

    def seal(self, person_id: UUID, record_id: UUID, category: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return FORMAT + nonce + self.aead.encrypt(nonce, plaintext, _record_aad(person_id, record_id, category))


def seal_all(records: Sequence[tuple[RecordCipher, UUID, UUID, str, bytes]]) -> list[bytes]:
    """Seal many records (cipher, person, record, category, plaintext) as ``RecordCipher.seal`` does each, their
    nonces drawn from the operating system's random source in one call rather than one call a record."""
    randomness = os.urandom(NONCE * len(records))
    sealed = []
    for at, (cipher, person_id, record_id, category, plaintext) in enumerate(records):
        nonce = randomness[at * NONCE:(at + 1) * NONCE]
        sealed.append(FORMAT + nonce + cipher.aead.encrypt(nonce, plaintext, _record_aad(person_id, record_id,
                                                                                          category)))
    return sealed


def open_sealed(dek: bytes, person_id: UUID, record_id: UUID, category: str, sealed: bytes) -> bytes:
    if not sealed or sealed[:1] != FORMAT:
        raise Unreadable("unknown ciphertext format")
    try:
        return AESGCM(dek).decrypt(sealed[1:1 + NONCE], sealed[1 + NONCE:],
                                   _record_aad(person_id, record_id, category))
    except InvalidTag as exc:
        raise Unreadable("record does not decrypt: altered, or moved to another row") from exc


def keyring_from_settings(settings: Settings) -> KeyRing:
    missing = [name for name, value in (("KLUIS_MASTER_KEY", settings.master_key),
                                        ("KLUIS_INDEX_KEY", settings.index_key),
                                        ("KLUIS_SECRET_KEY", settings.secret_key)) if value is None]
    if missing:
        if settings.is_sqlite:
            hint = "run `kluis init` to generate local keys"
        else:
            hint = ("Kluis refuses to start against a server database without them; "
                    "set them from your key management (`kluis access new-secret` prints a fresh one)")
        raise ConfigurationError(f"{', '.join(missing)} not configured: {hint}", code="keys_missing")
    assert settings.master_key and settings.index_key and settings.secret_key
    previous = tuple(parse_secret("KLUIS_PREVIOUS_MASTER_KEYS", part)
                     for part in (settings.previous_master_keys.get_secret_value().split(",")
                                  if settings.previous_master_keys else []) if part.strip())
    return KeyRing(master=parse_secret("KLUIS_MASTER_KEY", settings.master_key.get_secret_value()),
                   previous=previous,
                   index=parse_secret("KLUIS_INDEX_KEY", settings.index_key.get_secret_value()),
                   secret=parse_secret("KLUIS_SECRET_KEY", settings.secret_key.get_secret_value()))

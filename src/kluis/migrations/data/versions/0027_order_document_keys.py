"""order documents' keys move to the key store: each order's document key, kept wrapped by the master key on the
order's row until now, becomes an object key in the key store (kind ``order-document``, under the order's id), so a
backup of the data database alone opens no document, and deleting an order shreds its document
(docs/orders.md, docs/adr/0001-key-store.md)

The key store is migrated first (keys 0003 made ``object_key``); ``kluis migrate`` hands this step the key store's
connection and the master keys (``KLUIS_MASTER_KEY``, then ``KLUIS_PREVIOUS_MASTER_KEYS``). A key already in the
key store (a run stopped after the key store committed) is not moved twice.

Revision ID: 0027_order_document_keys
Revises: 0025_audit_verification
Create Date: 2026-12-02 13:20:00
"""

import hashlib
import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import kluis.db

revision: str = "0027_order_document_keys"
down_revision: str | None = "0025_audit_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = "order-document"
_orders = sa.table("authority_order", sa.column("id", sa.Uuid()), sa.column("document_key", sa.LargeBinary()),
                   sa.column("recorded_at", kluis.db.UTCDateTime()))
_object_keys = sa.table("object_key", sa.column("id", sa.Uuid()), sa.column("kind", sa.String()),
                        sa.column("wrapped", sa.LargeBinary()), sa.column("kek_id", sa.String()),
                        sa.column("created_at", kluis.db.UTCDateTime()))


# The formats as they were when this step was written (kluis.vault.crypto): a migration does not follow later code.
def _kek_id(master: bytes) -> str:
    return hashlib.sha256(b"kluis/kek-id|" + master).hexdigest()[:16]


def _secret_aad(order_id: bytes) -> bytes:
    return b"kluis/secret|order-document-key|" + order_id


def _key_aad(order_id: bytes) -> bytes:
    return b"kluis/key/v1|" + KIND.encode() + b"|" + order_id


def _seal(master: bytes, aad: bytes, plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(master).encrypt(nonce, plaintext, aad)


def _open(masters: Sequence[bytes], aad: bytes, sealed: bytes) -> tuple[bytes, bytes]:
    """(plaintext, the master key that opened it)."""
    for master in masters:
        try:
            return AESGCM(master).decrypt(sealed[1:13], sealed[13:], aad), master
        except InvalidTag:
            continue
    raise RuntimeError("an order's document key does not open with the configured master keys: set the key it was "
                       "wrapped by in KLUIS_MASTER_KEY or KLUIS_PREVIOUS_MASTER_KEYS and run `kluis migrate` again")


def _key_store() -> tuple[sa.Connection, tuple[bytes, ...]]:
    attributes = context.config.attributes
    keys, masters = attributes.get("key_connection"), tuple(attributes.get("master_keys") or ())
    if keys is None or not masters:
        raise RuntimeError("orders' document keys move to the key store: run `kluis migrate` with the master key "
                           "configured (KLUIS_MASTER_KEY)")
    return keys, masters


def upgrade() -> None:
    rows = op.get_bind().execute(sa.select(_orders.c.id, _orders.c.document_key, _orders.c.recorded_at)).all()
    if rows:
        keys, masters = _key_store()
        moved = set(keys.execute(sa.select(_object_keys.c.id).where(_object_keys.c.kind == KIND)).scalars())
        current = masters[0]
        todo = [{"id": order_id, "kind": KIND, "kek_id": _kek_id(current), "created_at": recorded_at,
                 "wrapped": _seal(current, _key_aad(order_id.bytes),
                                  _open(masters, _secret_aad(order_id.bytes), wrapped)[0])}
                for order_id, wrapped, recorded_at in rows if order_id not in moved]
        if todo:
            keys.execute(_object_keys.insert(), todo)
    # A plain DROP COLUMN (SQLite 3.35 and later): rebuilding the table would drop the rows that refer to it.
    op.drop_column("authority_order", "document_key")


def downgrade() -> None:
    op.add_column("authority_order", sa.Column("document_key", sa.LargeBinary(), nullable=True))
    ids = list(op.get_bind().execute(sa.select(_orders.c.id)).scalars())
    if ids:
        keys, masters = _key_store()
        found = {row.id: row for row in keys.execute(sa.select(_object_keys).where(_object_keys.c.kind == KIND))}
        for order_id in ids:
            row = found.get(order_id)
            if row is None:
                continue  # shredded: the document no longer opens either way
            key = _open(masters, _key_aad(order_id.bytes), row.wrapped)[0]
            op.get_bind().execute(_orders.update().where(_orders.c.id == order_id).values(
                document_key=_seal(masters[0], _secret_aad(order_id.bytes), key)))

"""Values in the data database sealed by the master key itself (``KeyRing.seal_secret``: staff e-mail addresses
and TOTP seeds, a breach's free text, an order's reasons), sealed anew under the current master key when it
rotates (``kluis access rotate``), so that a previous master key can then be dropped.

Each domain names its sealed columns (``SEALED`` in its service) and the context each value was sealed with.
Rows are read in id order, a batch per transaction: a stopped run resumes with nothing lost, since a value
already under the current key is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, update

from kluis.db import Database
from kluis.vault.crypto import KeyRing


@dataclass(frozen=True)
class SealedColumn:
    """A column whose values ``KeyRing.seal_secret`` sealed, with the context it used for a row's id."""

    column: Any  # the mapped attribute, e.g. ``StaffAccount.email_ciphertext``
    context: Callable[[UUID], bytes]

    @property
    def _id(self) -> ColumnElement[UUID]:
        return self.column.class_.id


def count(db: Database, columns: Iterable[SealedColumn]) -> int:
    """How many values the columns hold (the work of a rotation, for its progress)."""
    with db.sessions() as session:
        return sum(int(session.scalar(select(func.count()).where(c.column.is_not(None))) or 0) for c in columns)


def reseal(db: Database, keys: KeyRing, columns: Iterable[SealedColumn], batch: int = 1000,
           on_batch: Callable[[int], None] | None = None) -> int:
    """Seal every value not under the current master key anew; ``on_batch`` hears how many values each batch
    looked at. How many were sealed anew."""
    done = 0
    for sealed in columns:
        after: UUID | None = None
        while True:
            with db.transaction() as session:
                query = select(sealed._id, sealed.column).where(sealed.column.is_not(None))
                if after is not None:
                    query = query.where(sealed._id > after)
                rows = session.execute(query.order_by(sealed._id).limit(batch)).all()
                for row_id, value in rows:
                    anew = keys.reseal_secret(sealed.context(row_id), value)
                    if anew is not None:
                        session.execute(update(sealed.column.class_).where(sealed._id == row_id)
                                        .values({sealed.column.key: anew}))
                        done += 1
            if on_batch and rows:
                on_batch(len(rows))
            if len(rows) < batch:
                break
            after = rows[-1][0]
    return done

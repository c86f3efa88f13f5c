from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Sequence, String
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime

GENESIS_HASH = "0" * 64
# PostgreSQL numbers events from this sequence inside the appending transaction; SQLite's ``seq`` is the
# rowid, numbered by its one writer.
EVENT_SEQUENCE = Sequence("audit_event_seq", metadata=Base.metadata)


class AuditEvent(Base):
    """One audited operation. ``details`` holds ids, counts, categories and reasons: never values.

    Rows are written once, by the transaction whose change they record, and never updated: the sealer links
    them in ``audit_link``. ``prev_hash`` and ``hash`` are the unkeyed links of events written before
    sealing existed (migration 0020); they are still verified as before."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_ids: Mapped[list[str]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditLink(Base):
    """The sealed link of event ``seq``: a MAC under the audit key (kept outside the database) over the event,
    the number of sequence numbers skipped just before it (rolled-back transactions), and the link before."""

    __tablename__ = "audit_link"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    gap_before: Mapped[int] = mapped_column(Integer)
    mac: Mapped[str] = mapped_column(String(64))


class AuditSeal(Base):
    """The sealer's one row: the watermark (last sealed event and its link, MACed with the key so that it
    cannot be rewound without it), the key's id, and the PostgreSQL horizons still waiting for their
    transactions to end before the events below them can be sealed."""

    __tablename__ = "audit_seal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sealed_mac: Mapped[str] = mapped_column(String(64))
    safe_to: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    horizons: Mapped[list[Any]] = mapped_column(JSON)
    key_id: Mapped[str | None] = mapped_column(String(32))
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mac: Mapped[str | None] = mapped_column(String(64))

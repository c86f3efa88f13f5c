from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, Sequence, String
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


class AuditVerification(Base):
    """One run of verification (the worker's, on its schedule, or `kluis audit verify`): when, how far it got,
    and what it found. The console shows the newest instead of walking the log per page. Each row is MACed with
    the audit key, so the next run may start from its ``through_seq`` / ``through_mac`` (an incremental run) and
    treat them as an anchor; a row written without the key is not trusted."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the run ended
    by: Mapped[str] = mapped_column(String(16))  # "worker" or "cli"
    full: Mapped[bool] = mapped_column(Boolean)  # walked from the first event, not from an earlier run
    from_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    through_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    through_mac: Mapped[str] = mapped_column(String(64))
    checked: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    broken_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    reason: Mapped[str] = mapped_column(String(400))
    unsealed: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    full_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the last full walk this run builds on
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64))

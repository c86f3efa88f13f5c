"""Tables of authority orders. Free text that may name people (a contact, an answer, a decision's reasons) and
the order's document are kept as ciphertext (the document's key lives in the key store); the rest is ids, dates,
the authority and the order's legal basis."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class AuthorityRefusal(Base):
    """An informal request by an authority (no written order), refused. Nothing about the person it concerned."""

    __tablename__ = "authority_refusal"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority: Mapped[str] = mapped_column(String(120))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuthorityOrder(Base):
    """A written order (a court order, a public prosecutor's demand) and the DPO's decision on it."""

    __tablename__ = "authority_order"
    __table_args__ = (CheckConstraint("state IN ('recorded', 'approved', 'rejected')", name="state"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(12))
    party: Mapped[str] = mapped_column(String(80))  # recipient:<id> of the policy, or authority:<name>
    legal_basis: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(80))
    order_date: Mapped[date] = mapped_column(Date)
    defer_until: Mapped[date | None] = mapped_column(Date)  # the person is told from this day (Amsterdam)
    categories: Mapped[list[str]] = mapped_column(JSON)
    # Sealed by the order's object key in the key store; empty once the order was deleted (kept as proof).
    document_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    document_size: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reasons_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    disclosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def deleted(self) -> bool:
        """Deleted, and kept only as the disclosure log's reference: its document is gone."""
        return not self.document_ciphertext


class AuthorityOrderPerson(Base):
    """A person an order names. Erasing the person removes the link; the order itself stays. Keyed on the person
    first, as all of a person's rows (issue 20, R-VLT-1); an order finds its people by the index."""

    __tablename__ = "authority_order_person"
    __table_args__ = (PrimaryKeyConstraint("person_id", "order_id"),
                      Index("ix_authority_order_person_order_id", "order_id", "person_id"))

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authority_order.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))


class OrderExport(Base):
    """The data an approved order produced: a ZIP encrypted with a key that exists only in its download link.
    Once expired, the ciphertext is deleted and the row stays as proof."""

    __tablename__ = "authority_order_export"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authority_order.id", ondelete="CASCADE"), index=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    downloads: Mapped[int] = mapped_column(Integer)
    last_download_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

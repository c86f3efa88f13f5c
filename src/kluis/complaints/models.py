"""Complaint tables. What a person wrote and what benVitaal answered is held only sealed (``sealing``); the
rows themselves carry ids, dates and states."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class Complaint(Base):
    """One complaint (R-GOV-2), from the privacy centre, a service's account page or registered by staff."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_state_deadline", "state", "deadline_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # privacy_centre | account | staff
    state: Mapped[str] = mapped_column(String(12))  # unverified | open | answered | lapsed
    lang: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_on: Mapped[date] = mapped_column(Date)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whose complaint it is; a privacy-centre complaint is theirs only once its code is confirmed.
    # The person's id without a foreign key: a register of complaints stays a local table where the person's
    # tables are spread by person (issue 20 item 3, migration 0036). People are never deleted, only erased.
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    claimed_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The intake's keyed digest of the address given (``rights.intake``), while a code may still be asked.
    address_key: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("data_subject_request.id", ondelete="SET NULL"), index=True)
    breach_ref: Mapped[str | None] = mapped_column(String(64))  # the breach register's id, kept opaque
    staff_reference: Mapped[str | None] = mapped_column(String(80))
    handler_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_account.id", ondelete="SET NULL"))
    # The complaint's own key, wrapped by a data key in the key store: the person's (``key_owner_id`` is the
    # person's id) or, without a person, one made for this complaint (``key_owner_id`` is the complaint's id).
    key_owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    reminders_sent: Mapped[list[int]] = mapped_column(JSON, default=list)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintMessage(Base):
    """The correspondence of a complaint, sealed by its key: the complaint itself, notes, the answer."""

    __tablename__ = "complaint_message"
    __table_args__ = (UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # its place in the complaint's correspondence, from 1
    kind: Mapped[str] = mapped_column(String(12))  # complaint | note | answer
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    by: Mapped[str] = mapped_column(String(64))  # person | key:<id> | staff:<id>
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintCode(Base):
    """A 6-digit code confirming a privacy-centre complaint, stored as a keyed digest only (as for requests)."""

    __tablename__ = "complaint_code"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

"""Request tables. Ids and codes only: no address, name or other personal value is stored here."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class DataSubjectRequest(Base):
    """One request by a person about their data (R-DSR-1, R-DSR-2, R-DSR-8)."""

    __tablename__ = "data_subject_request"
    __table_args__ = (Index("ix_dsr_state_deadline", "state", "deadline_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_on: Mapped[date] = mapped_column(Date)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # Who the address given in the privacy centre belongs to; the request is theirs only once verified.
    claimed_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(16))  # code | account | staff
    verification_note: Mapped[str | None] = mapped_column(String(200))
    staff_reference: Mapped[str | None] = mapped_column(String(80))
    processor_role: Mapped[bool] = mapped_column(Boolean, default=False)
    forwarded_employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    employer_instruction: Mapped[str | None] = mapped_column(Text)
    instruction_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    reminders_sent: Mapped[list[int]] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VerificationCode(Base):
    """A 6-digit code, stored as a keyed digest only; 30 minutes, 5 tries (R-DSR-1)."""

    __tablename__ = "dsr_verification_code"
    __table_args__ = (Index("ix_dsr_code_request_created", "request_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_subject_request.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

"""Which agreement reminders went out: one row per processor, agreement (reference and last day) and reminder, so
each is sent once whichever worker runs it. No personal data: the register's ids and dates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class AgreementReminder(Base):
    __tablename__ = "agreement_reminder"

    processor: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(80), primary_key=True)
    ends: Mapped[date] = mapped_column(Date, primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())

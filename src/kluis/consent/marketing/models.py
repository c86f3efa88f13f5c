"""Tables of marketing: who may not be mailed again, interest profiles, campaigns, used one-time tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class Suppression(Base):
    """An opted-out address as its blind-index digest (keyed hash): it outlives erasure and re-import."""

    __tablename__ = "suppression"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    route: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InterestProfile(Base):
    """Interests from clicks (profiling, legitimate interest), sealed with the person's key."""

    __tablename__ = "interest_profile"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))


class UsedToken(Base):
    """A one-time token (opt-in confirmation) that was used: a second use changes nothing."""

    __tablename__ = "used_token"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime())

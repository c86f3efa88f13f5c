"""One row per disclosure of a person's data to a party of the policy. No personal data: ids, the party's
reference, category and purpose ids, a time and the caller's reference. A disclosure by an authority's order
(R-SHR-3) names the order, and is withheld from the person until ``withheld_until`` when the order defers it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class Disclosure(Base):
    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_person_at", "person_id", "at"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party: Mapped[str] = mapped_column(String(80))  # recipient:<id> or processor:<id>
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(80))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("authority_order.id"), index=True)
    withheld_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PartyNotice(Base):
    """One Art. 19 notice to a recipient or processor that received the person's data (R-DSR-5, R-DSR-6, Art. 18):
    which of the party's disclosures (ids) and categories it concerns, what caused it (a rectification, an erasure
    job, a restriction request, by id) and how it goes: ``mail`` (``outbox_id``), ``other`` (no contact: staff tell
    the party another way and mark it handled) or ``not_individually`` (public readers). No personal value."""

    __tablename__ = "party_notice"
    __table_args__ = (Index("ix_party_notice_channel_handled", "channel", "handled_at"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party: Mapped[str] = mapped_column(String(80))
    cause: Mapped[str] = mapped_column(String(16))  # rectification | erasure | restriction
    cause_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    categories: Mapped[list[str]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)  # a rectification's field ids, never their values
    disclosures: Mapped[list[str]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(2))
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(120))

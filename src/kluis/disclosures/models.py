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

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(String(80))  # recipient:<id> or processor:<id>
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(80))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("authority_order.id"), index=True)
    withheld_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

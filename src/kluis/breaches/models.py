"""Breach register tables (R-GOV-3). Plain columns hold what the rules and the AP form count with (instants,
natures, category and subject-type ids, employer ids, counts); every free text is sealed under the master key,
bound to its breach, so the database holds no description of what happened in plaintext."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
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


class Breach(Base):
    """One incident in the register (Art. 33(5)): kept whether or not anyone was notified."""

    __tablename__ = "breach"
    __table_args__ = (
        CheckConstraint("risk IS NULL OR risk IN ('no_risk', 'risk', 'high_risk')", name="risk"),
        CheckConstraint("notify_state IS NULL OR notify_state IN ('running', 'done')", name="notify_state"),
        # The reminder poller looks for breaches whose deadline nears and that are not filed.
        Index("ix_breach_open_deadline", "ap_filed_at", "deadline_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime())
    aware_offset_minutes: Mapped[int] = mapped_column(Integer)  # the offset it was reported with, for display
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    happened_from: Mapped[datetime] = mapped_column(UTCDateTime())
    happened_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nature: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    subject_types: Mapped[list[str]] = mapped_column(JSON)
    employer_ids: Mapped[list[str]] = mapped_column(JSON)  # empty: every employer and people without one
    cross_border: Mapped[bool] = mapped_column(Boolean, default=False)
    # summary, systems, consequences, measures: one sealed JSON object (rules.seal_texts).
    texts: Mapped[bytes] = mapped_column(LargeBinary)
    reported_by: Mapped[str] = mapped_column(String(120))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    risk: Mapped[str | None] = mapped_column(String(12))
    risk_reason: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    affected: Mapped[int | None] = mapped_column(Integer)  # the snapshot's size, frozen with the decision
    ap_filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Notifying the people concerned (Art. 34): a job that walks the snapshot in person-id order.
    notify_state: Mapped[str | None] = mapped_column(String(12))
    notify_after: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the last person id handled
    notified: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    notify_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notify_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BreachPerson(Base):
    """The affected people, frozen when the DPO decides: ids only. Keyed on the person first, as all of a person's
    rows (issue 20, R-VLT-1): it goes with the person's other tables; a breach finds its people by the index."""

    __tablename__ = "breach_person"
    __table_args__ = (PrimaryKeyConstraint("person_id", "breach_id"),
                      Index("ix_breach_person_breach_id", "breach_id", "person_id"))

    breach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("breach.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))


class BreachFiling(Base):
    """A notification to the AP as filed: the first, or a follow-up when facts changed (Art. 33(4))."""

    __tablename__ = "breach_filing"
    __table_args__ = (CheckConstraint("kind IN ('initial', 'follow_up')", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    breach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("breach.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_by: Mapped[str] = mapped_column(String(120))
    ap_reference: Mapped[str] = mapped_column(String(80))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # The reasons for the delay (Art. 33(1)), what changed (a follow-up) and the form as filed: sealed.
    late_reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    changes: Mapped[bytes | None] = mapped_column(LargeBinary)
    form: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

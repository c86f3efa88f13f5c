"""Retention tables: the trigger events services report, legal holds, and one row per sweep run.

A record's own retention columns (``rule_id``, ``due_at``) live on ``record`` itself, so the sweep reads
one indexed column.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class TriggerEvent(Base):
    """Something that starts a retention term: a contract or application procedure that ended (for the
    whole person), or a claim that was settled (for one record). The latest report of a kind counts."""

    __tablename__ = "retention_event"
    __table_args__ = (Index("ix_retention_event_person_kind", "person_id", "kind"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Set when the event concerns one record (a settled claim); the record may since have been swept.
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The person agreed to the rule's longer term (an applicant kept for future vacancies).
    with_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Hold(Base):
    """A legal hold: while active, what it covers is neither swept nor erased on request (R-RET-3)."""

    __tablename__ = "legal_hold"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    scope: Mapped[str] = mapped_column(String(12))  # person | category | employer
    # No foreign key: the register of holds stays a local table where the person's tables are spread by person
    # (issue 20 item 3, migration 0036).
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    reason: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(80))
    recorded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(120))


class SweepRun(Base):
    """One run of the sweep: started, and (unless it was stopped) finished with its totals per rule."""

    __tablename__ = "retention_sweep"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    actor: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    records: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    # rule id -> {"records": n, "earliest": iso, "latest": iso}
    per_rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Due records left because a legal hold covers them, counted when the run finished (see sweep.HeldTally).
    held: Mapped[dict[str, Any] | None] = mapped_column(JSON)

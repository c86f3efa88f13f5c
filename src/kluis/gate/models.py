"""What the gate decides from: objections, restrictions, relations, and one row of current facts per person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime

# An objection's assessment by the DPO (Art. 21(1)); none for one that holds as recorded.
PENDING, UPHELD, OVERRIDDEN = "pending", "upheld", "overridden"


class Objection(Base):
    """An objection (Art. 21) to one purpose, or to every purpose on legitimate interest ('legitimate_interest').

    ``at`` is when it reached benVitaal. An objection to processing on legitimate interest made by request waits
    for the DPO's assessment (``assessment`` 'pending'), and the gate refuses meanwhile; the DPO upholds it or
    records compelling legitimate grounds (``grounds``), which lifts it. Absolute objections (direct marketing,
    profiling) and those recorded as in force need no assessment (``assessment`` empty)."""

    __tablename__ = "objection"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(120))
    on_behalf_of: Mapped[str] = mapped_column(String(12))  # person | staff
    reference: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessment: Mapped[str | None] = mapped_column(String(12))  # pending | upheld | overridden
    grounds: Mapped[str | None] = mapped_column(Text)  # the DPO's reasons, told to the person
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessed_by: Mapped[str | None] = mapped_column(String(120))
    lifted_by: Mapped[str | None] = mapped_column(String(12))  # person | staff | dpo (compelling grounds)
    # Staff withdrawing it on the person's word: where that word is recorded (their e-mail or letter).
    lift_reference: Mapped[str | None] = mapped_column(String(80))


class Restriction(Base):
    """Restriction of processing (Art. 18): while active the person's data may only be stored."""

    __tablename__ = "restriction"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(120))
    on_behalf_of: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Relation(Base):
    """A contract-like relation that makes contract purposes necessary: employment with a client, an
    account, an order, an application procedure."""

    __tablename__ = "relation"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(120))


class GateState(Base):
    """The current facts of one person, rewritten in the same transaction as every change to them, so a
    decision reads one row (the event tables above and consent events remain the proof)."""

    __tablename__ = "gate_state"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    restricted: Mapped[bool] = mapped_column(Boolean)
    objections: Mapped[list[str]] = mapped_column(JSON)
    # purpose -> {"id": consent event id, "policy_version": n, "at": iso}
    consents: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"kind": ..., "employer_id": ..., "starts_at": iso, "ends_at": iso|None}]
    relations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

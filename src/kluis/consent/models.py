"""Consent events: append-only, each with the proof of how and under which notice it was given."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, Sequence, String, Text, Uuid
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

from kluis.db import Base, UTCDateTime


class ConsentNotice(Base):
    """The exact text a person was shown when asked, kept once per distinct text."""

    __tablename__ = "consent_notice"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    lang: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The numbers of ``consent_event.seq`` on PostgreSQL (the sequence the column had as the table's key).
CONSENT_SEQUENCE = Sequence("consent_event_seq_seq", metadata=Base.metadata)


class next_consent_seq(FunctionElement[int]):
    """The next ``consent_event.seq``, taken by the INSERT itself: PostgreSQL's sequence; on SQLite, whose writers
    take the database's one write lock at BEGIN, one more than the highest so far. Events are added one at a
    time (``ConsentService._record``), so no two rows of one statement share a number."""

    type = BigInteger()
    inherit_cache = True


@compiles(next_consent_seq, "postgresql")
def _next_consent_seq_pg(element: next_consent_seq, compiler: Any, **kw: Any) -> str:
    return f"nextval('{CONSENT_SEQUENCE.name}')"


@compiles(next_consent_seq)
def _next_consent_seq(element: next_consent_seq, compiler: Any, **kw: Any) -> str:
    return "(SELECT COALESCE(MAX(seq), 0) + 1 FROM consent_event)"


class ConsentEvent(Base):
    """Given or withdrawn (R-CONS-1). Rows are only ever added; the latest per purpose (by ``seq``) is current."""

    __tablename__ = "consent_event"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # The order events were written in. Not the key, which is the person's (docs/architecture.md, "Keyed on the
    # person"): numbered by the INSERT (``next_consent_seq``).
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=next_consent_seq())
    purpose: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10))  # given | withdrawn
    method: Mapped[str] = mapped_column(String(30))
    # When it took effect: for a message to the DPO, when that message reached benVitaal (R-CONS-2).
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it was written down here (later than ``at`` for a registered e-mail); null on rows before 0016.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language of the notice or page the person used (nl/en): part of the proof, and of the reply.
    lang: Mapped[str | None] = mapped_column(String(2))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    notice_hash: Mapped[str | None] = mapped_column(ForeignKey("consent_notice.hash"))
    recorded_by: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(80))
    # Truncated IP (and nothing else), sealed with the person's key: proof that dies with erasure.
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)


class ConsentState(Base):
    """Current consents, one row per person and purpose, rewritten with the gate's facts: lets the audience
    be a plain indexed join instead of reading JSON."""

    __tablename__ = "consent_state"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)

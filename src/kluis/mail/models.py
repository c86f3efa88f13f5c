"""The outbox: mail written in the business transaction, sent by a worker after commit.

Nothing personal is stored here: the recipient is a person or staff id, resolved (and the address
decrypted) only at send time; ``context`` holds ids and codes; ``last_error`` holds an error code.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, Integer, LargeBinary, Sequence, String, Uuid
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from kluis import jobs
from kluis.db import Base, UTCDateTime
from kluis.mail import rules

# The order messages were written in: PostgreSQL numbers them from this sequence as they are inserted; SQLite's one
# writer takes the next number after the highest (as it numbers rowids), found at once in ``ix_outbox_seq``.
OUTBOX_SEQUENCE = Sequence("outbox_seq", metadata=Base.metadata)


class _NextSeq(FunctionElement[int]):
    """The number of the message being inserted, computed in its INSERT (each row of a multi-row one its own)."""

    type = BigInteger()
    inherit_cache = True


@compiles(_NextSeq)
def _next_seq(element: _NextSeq, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(OUTBOX_SEQUENCE.next_value(), **kw)


@compiles(_NextSeq, "sqlite")
def _next_seq_sqlite(element: _NextSeq, compiler: SQLCompiler, **kw: Any) -> str:
    return "(SELECT coalesce(max(seq), 0) + 1 FROM outbox)"


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('administrative', 'marketing')", name="kind"),
        CheckConstraint("lang IN ('nl', 'en')", name="lang"),
        CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')", name="state"),
        # One recipient: a person, a staff account or a party; or an address given for this message alone, sealed
        # in ``sealed_to`` until the message is sent, failed or cancelled (then nothing of it is left).
        CheckConstraint("(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN staff_id IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN party IS NULL THEN 0 ELSE 1 END) = 1"
                        " OR (person_id IS NULL AND staff_id IS NULL AND party IS NULL"
                        " AND (sealed_to IS NOT NULL OR state IN ('sent', 'failed', 'cancelled')))",
                        name="one_recipient"),
        # Workers look for due rows: queued ones whose attempt is due, sending ones whose lease ran out
        # (a claim moves next_attempt_at to the end of the lease, so one range scan finds both).
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_seq", "seq", unique=True),
        # Without RETURNING, rows flushed together are inserted one by one (executemany): a multi-row INSERT would
        # read SQLite's highest number once for all its rows. ``seq`` is read back only when asked for.
        {"implicit_returning": False},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    # No foreign keys: the outbox must not hold back erasure; an erased person's mail is cancelled at send time.
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # A recipient or processor from the policy (``recipient:<id>``): its contact is read from the policy when sent.
    party: Mapped[str | None] = mapped_column(String(80))
    lang: Mapped[str] = mapped_column(String(2))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    list_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A random token per claim: only the worker holding the current claim may record the outcome.
    locked_by: Mapped[str | None] = mapped_column(String(32))
    # Set at the first claim from the row id, and kept for every retry so that receivers can deduplicate.
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))
    # The order written: messages due at one instant (all of one transaction) are claimed, and so sent, in it. Their
    # next_attempt_at is equal and their ids random, so nothing else tells a request's steps apart (R-DSR-2).
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=_NextSeq())
    # For the last notice to a person whose addresses are being erased, or an address given for this message alone:
    # the address, sealed with a key derived from the secret key (bound to the person's id, else the message's),
    # and cleared as soon as the message is sent, failed or cancelled.
    sealed_to: Mapped[bytes | None] = mapped_column(LargeBinary)


# Outbox rows as jobs: a claim makes a message ``sending`` and counts an attempt (docs/mail.md).
OUTBOX_JOBS = jobs.JobKind(Outbox, waiting=(rules.QUEUED,), running=rules.SENDING, backoff=rules.RETRY,
                           tiebreak="seq")

"""Request tables. Ids and codes only: no address, name or other personal value is stored here."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from kluis import jobs
from kluis.db import Base, UTCDateTime
from kluis.rights import rules


class DataSubjectRequest(Base):
    """One request by a person about their data (R-DSR-1, R-DSR-2, R-DSR-8)."""

    __tablename__ = "data_subject_request"
    __table_args__ = (Index("ix_dsr_state_deadline", "state", "deadline_at"),
                      Index("ix_dsr_state_received", "state", "received_at"))

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
    # Who the address given in the privacy centre belongs to; the request is theirs only once verified. No foreign
    # key into the person-keyed tables here or on ``person_id`` (a queue stays a local table, docs/architecture.md,
    # "Keyed on the person"): a person's row is never deleted, only marked erased, so the ids stay valid.
    claimed_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The intake's keyed digest of that address (``rights.intake``), so a new code counts against the address's
    # limit; kept only while the request waits for its code: cleared on verification and on expiry.
    address_key: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(16))  # code | account | staff
    verification_note: Mapped[str | None] = mapped_column(String(200))
    staff_reference: Mapped[str | None] = mapped_column(String(80))
    # The staff member the request is assigned to (issue 19 §2): the queue filters on it, so it is indexed.
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_account.id", ondelete="SET NULL"),
                                                          index=True)
    processor_role: Mapped[bool] = mapped_column(Boolean, default=False)
    forwarded_employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the request was mailed to the employer's privacy contact; empty while the employer has none (the
    # console lists those) or while nothing is held for an employer.
    employer_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The employer's instruction, sealed with the person's data key like their records (``rights.instructions``).
    instruction_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    instruction_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    instruction_by: Mapped[str | None] = mapped_column(String(120))
    # On an erasure request, what the instruction decided for the employer's data: erase | keep (R-DSR-8).
    employer_decision: Mapped[str | None] = mapped_column(String(8))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    # What carrying out a restriction or objection request recorded in the gate (R-DSR-7).
    restriction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    objection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reminders_sent: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The deadline the DPOs were mailed about once the request had passed it (R-DSR-2): once per missed deadline.
    overdue_notice_for: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IntakeLimit(Base):
    """One rate-limit window of the public intake (R-DSR-1): the key is a keyed digest of the client's network
    or of the target address (``rights.intake``), never the address itself. Rows whose window has passed are
    deleted by the worker (``UnverifiedPoller``)."""

    __tablename__ = "intake_limit"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_hit: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The hits still inside the window, oldest first, as ISO instants (at most the limit's worth): a sliding log.
    hits: Mapped[list[str]] = mapped_column(JSON)


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


class AccessPackage(Base):
    """An access or portability package as a job (R-DSR-3, R-DSR-4): queued, built by the worker into
    encrypted chunks, downloadable until ``expires_at``, then deleted. The chunks' key is a random package
    key, stored here only wrapped by the person's data key (and dropped on expiry), so shredding the person
    or expiring the package leaves nothing readable."""

    __tablename__ = "access_package"  # the encrypted ZIP itself: access_package_chunk
    __table_args__ = (Index("ix_access_package_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_subject_request.id", ondelete="CASCADE"),
                                                  index=True)
    # A job stays a local table, with no foreign key into the person-keyed ones (see ``DataSubjectRequest``).
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    portability: Mapped[bool] = mapped_column(Boolean)
    # R-DSR-8: queued before the employer's instruction, so it leaves out the records held for the employer.
    controller_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lang: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(12))  # queued | building | ready | expired | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))
    locked_by: Mapped[str | None] = mapped_column(String(32))  # the claim of the worker building it
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(BigInteger)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Packages as jobs: a claim makes a package ``building`` and counts an attempt (docs/access-package.md).
PACKAGE_JOBS = jobs.JobKind(AccessPackage, waiting=(rules.PackageState.QUEUED,), running=rules.PackageState.BUILDING,
                            backoff=rules.PACKAGE_RETRY)


class AccessPackageChunk(Base):
    """One encrypted chunk (AES-256-GCM, at most 64 KiB of ZIP each) of a package, in order. Kept in the
    database so that every ``serve`` and ``worker`` process sees the same packages without a shared disk.
    Keyed on the person, like the records it was made from; the package (a job, a local table) is named without
    a foreign key: its chunks are deleted with it by ``packages.store.delete_chunks``."""

    __tablename__ = "access_package_chunk"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    package_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Rectification(Base):
    """One correction of a record (R-DSR-5): by the person from the profile (``request_id`` empty) or by staff
    carrying out a request. ``fields`` names what changed (never the values); ``told`` lists the recipients and
    processors told of it (Art. 19): ``[{"party": "recipient:group_companies", "channel": "mail"|"other"}]``."""

    __tablename__ = "rectification"
    # The record is the same person's: deleting it (sweep, erasure) cascades here, one indexed lookup each.
    __table_args__ = (ForeignKeyConstraint(["person_id", "record_id"], ["record.person_id", "record.id"],
                                           ondelete="CASCADE"),
                      Index("ix_rectification_person_record", "person_id", "record_id"))

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # The request it carried out (a queue, a local table: no foreign key, see ``DataSubjectRequest``); requests
    # that were verified, the only ones that correct anything, are never deleted.
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    category: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSON)
    by: Mapped[str] = mapped_column(String(12))  # person | staff
    told: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())

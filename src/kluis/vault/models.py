"""Vault tables. Plain columns hold only what rules need; everything personal is ciphertext."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, KeyBase, UTCDateTime


class Employer(Base):
    """A client of benVitaal, and the controller of the data benVitaal processes for it (R-DSR-8). Its name, its
    privacy contact's address and its service agreement are company data, not personal data: still, the contact
    is never written to a log or an audit event (it may be a named person's work address)."""

    __tablename__ = "employer"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Where requests about the data held for the employer are forwarded; without one they wait on the console.
    privacy_contact: Mapped[str | None] = mapped_column(String(254))
    # The service agreement under which benVitaal acts as the employer's processor (Art. 28(3)).
    agreement_reference: Mapped[str | None] = mapped_column(String(80))
    agreement_signed_on: Mapped[date | None] = mapped_column(Date)
    agreement_ends_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Person(Base):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject_types: Mapped[list[str]] = mapped_column(JSON)
    employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Erasure done (R-DSR-6); what a legal obligation keeps stays, restricted, until its term ends.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Data key destroyed: nothing of the person can be read any more (R-VLT-5).
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The latest due date among the person's records (kluis.retention.keep): the sweep finds the people it
    # may erase entirely through this index instead of probing everyone who lost a record.
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The person's own last activity (R-RET-1): data they gave, or an activity of theirs a marketing rule counts.
    # Records from anyone else kept from the last activity run from this, not from their own arrival.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Identifier(Base):
    """One of a person's identifiers (R-VLT-2): its blind-index digest, the value itself only as ciphertext.
    Keyed on the person like all their data (docs/architecture.md, "Keyed on the person"); who an identifier
    belongs to is answered by ``IdentifierLookup``, which also keeps it unique."""

    __tablename__ = "identifier"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str] = mapped_column(String(64))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdentifierLookup(Base):
    """The blind index itself (R-VLT-2): one row per identifier, keyed by its digest, naming its person. A
    lookup by address reads this one row, wherever the person's own rows are kept; the key makes an identifier
    belong to one person at most. Written and deleted with the ``identifier`` row by ``vault.repository`` (no
    foreign key: the rows are keyed by digest, not by person, and may be placed apart from them); an erased
    person's rows go with their identifiers, so an erased address is no longer confirmable (R-VLT-5)."""

    __tablename__ = "identifier_lookup"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class Record(Base):
    """One piece of personal data (R-VLT-3)."""

    __tablename__ = "record"
    # ix_record_due: the retention sweep's walk, (due_at, person_id, id) in key order: a batch reads its rows'
    # keys from the index alone, without sorting everything still due (kluis.retention.sweep).
    __table_args__ = (Index("ix_record_person_category", "person_id", "category"),
                      Index("ix_record_due", "due_at", "person_id", "id"))

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    purposes: Mapped[list[str]] = mapped_column(JSON)
    legal_basis: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))
    controller: Mapped[str] = mapped_column(String(12))
    controller_employer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employer.id"))
    content_kind: Mapped[str] = mapped_column(String(8))
    media_type: Mapped[str | None] = mapped_column(String(100))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    policy_version: Mapped[int | None]
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The retention rule that keeps this record and the instant it is due for erasure (R-RET-1); no due
    # date yet while its trigger (a settlement, the end of a contract or procedure) has not happened.
    rule_id: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PersonKey(KeyBase):
    """A person's data key, wrapped by a master key; destroying it is crypto-shredding (R-VLT-5)."""

    __tablename__ = "person_key"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ObjectKey(KeyBase):
    """The key of a thing that is no person's (an order's document), wrapped by a master key and bound to its
    kind and id; kept here, apart from the data it opens, so destroying it shreds that data (R-VLT-5)."""

    __tablename__ = "object_key"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ErasureLogEntry(KeyBase):
    """One erasure fact a restored backup would undo (docs/adr/0010-erasure-log.md): a key destroyed or replaced,
    an address's digest put on or taken off the suppression list. Ids and keyed digests only; never deleted.
    Kept in the key store, written in the transaction that makes the change there."""

    __tablename__ = "erasure_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    # Names the entry in the operator's copy too (KLUIS_ERASURE_LOG_FILE), so the two can be merged.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # key_destroyed, key_replaced, suppressed or unsuppressed
    action: Mapped[str] = mapped_column(String(16))
    # The key's id: a person's id for a person's key, else the erasure job or complaint it was made for.
    key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(40))
    list_id: Mapped[str | None] = mapped_column(String(40))
    # Suppression entries: the addresses' keyed digests (hex), with no person named.
    digests: Mapped[list[str] | None] = mapped_column(JSON)
    # key_replaced: when the replacing key was made, which tells it from the key it replaced.
    key_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

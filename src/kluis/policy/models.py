"""Versions of the policy: every consent and notice refers to the version that was shown (R-POL-3); a version
takes effect at its moment, and its material changes are told to the people they affect first (R-GOV-4)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime
from kluis.policy.schemas import version_label


class PolicyVersion(Base):
    """One content of the policy, numbered 1, 2, 3, ... in the order it was registered or published."""

    __tablename__ = "policy_version"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(255))
    # The validated policy as canonical JSON (the text its content hash is taken of), so every process can
    # enforce it from its moment on and show it at /privacy?version=N. Empty for versions stored before 0024.
    content: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str | None] = mapped_column(String(120))
    # Once in force, the records' due dates are worked out again under its retention rules (``restamp``): the
    # last record id done, and when all were.
    restamp_after: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    restamped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def label(self) -> str:
        """How people see this version: ``3 (sha256:abcd1234…)``."""
        return version_label(self.content_hash, self.seq)


class PolicyAnnouncement(Base):
    """Telling the people affected by a version's material changes, before it takes effect (R-GOV-4): one batch
    of people per transaction, the cursor (``after``, the last person id handled) moved in the same one."""

    __tablename__ = "policy_announcement"
    __table_args__ = (CheckConstraint("state IN ('running', 'done')", name="state"),)

    seq: Mapped[int] = mapped_column(ForeignKey("policy_version.seq"), primary_key=True)
    state: Mapped[str] = mapped_column(String(12))
    after: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    mailed: Mapped[int] = mapped_column(Integer, default=0)
    renewals: Mapped[int] = mapped_column(Integer, default=0)  # of the mailed: those asked for consent again
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # erased people: never mailed
    unreachable: Mapped[int] = mapped_column(Integer, default=0)  # no e-mail address in the vault
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

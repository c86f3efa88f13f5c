"""Versions of the policy: every consent and notice refers to the version that was shown (R-POL-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime
from kluis.policy.schemas import version_label


class PolicyVersion(Base):
    """One registered content of the policy file, numbered 1, 2, 3, ... in the order it was loaded."""

    __tablename__ = "policy_version"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(255))

    @property
    def label(self) -> str:
        """How people see this version: ``3 (sha256:abcd1234…)``."""
        return version_label(self.content_hash, self.seq)

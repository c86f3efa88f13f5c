"""Cookie consent receipts and the banner revisions they refer to (R-CONS-4).

A receipt holds no personal data in plaintext: the visitor is a keyed hash of a random id that lives
only in the visitor's consent cookie, and no IP address or user agent is kept.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Uuid, event
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime
from kluis.kit.errors import Conflict


class CookieBannerRevision(Base):
    """The exact categories and texts of one banner revision, kept once, so a receipt proves what was shown."""

    __tablename__ = "cookie_banner_revision"

    revision: Mapped[str] = mapped_column(String(16), primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CookieReceipt(Base):
    """One choice a visitor made in the banner. Rows are only ever added; the newest per page is current."""

    __tablename__ = "cookie_receipt"
    __table_args__ = (
        CheckConstraint("scope IN ('page', 'site')", name="scope"),
        CheckConstraint("action IN ('accept_all', 'reject_all', 'choose')", name="action"),
        CheckConstraint("reason IN ('choice', 'gpc')", name="reason"),
        Index("ix_cookie_receipt_visitor", "site", "visitor_digest", "given_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    # HMAC of the random id in the visitor's consent cookie (keys.digest("cookie_visitor", site, id)).
    visitor_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    path: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(4))
    action: Mapped[str] = mapped_column(String(10))
    granted: Mapped[list[str]] = mapped_column(JSON)
    refused: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(6))
    gpc_sources: Mapped[list[str]] = mapped_column(JSON)
    objects_to_profiling: Mapped[bool] = mapped_column(Boolean)
    revision: Mapped[str] = mapped_column(ForeignKey("cookie_banner_revision.revision"))
    language: Mapped[str] = mapped_column(String(2))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())


@event.listens_for(CookieReceipt, "before_update")
@event.listens_for(CookieReceipt, "before_delete")
def _append_only(*_: Any) -> None:
    raise Conflict("cookie receipts are proof and are never changed or removed; record a new choice instead",
                   code="receipt_append_only")

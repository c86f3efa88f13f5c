"""Staff tables. The e-mail address is kept as a keyed digest (to find the account) and as ciphertext."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class StaffAccount(Base):
    """A member of benVitaal's staff who signs in to the console."""

    __tablename__ = "staff_account"
    __table_args__ = (CheckConstraint("role IN ('dpo', 'support', 'marketing', 'auditor')", name="role"),
                      CheckConstraint("language IN ('nl', 'en')", name="language"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    email_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The 30-second step of the last accepted code: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The console's and the staff mails' language as the staff member chose it (the switch, or the CLI); None until
    # then: the console follows the browser, mails the deployment's KLUIS_STAFF_LANGUAGE (docs/i18n.md).
    language: Mapped[str | None] = mapped_column(String(2))


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here,
    so a copy of the database does not let anyone take over a session."""

    __tablename__ = "staff_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

"""Sign-in codes and sessions of Mijn privacy. Ids, digests and times only: no address, code or token is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from kluis.db import Base, UTCDateTime


class PersonSignIn(Base):
    """One code asked for on the sign-in form. The browser that asked holds a random token in a cookie; only its
    keyed digest is here, so the code works in that browser alone. ``person_id`` is filled (after the answer) only
    when the address given is known; the code itself is derived from the id again when the mail is built."""

    __tablename__ = "person_sign_in"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    browser_key: Mapped[str] = mapped_column(String(64), unique=True)
    # A sign-in code is a queue's row, a local table: no foreign key into the person-keyed tables
    # (docs/architecture.md, "Keyed on the person"). People are never deleted, and the rows expire (``SignIn._prune``).
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    digest: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(2))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PersonSession(Base):
    """A signed-in person's session: the cookie holds a random token, this row its keyed digest. It ends when
    idle too long, at its absolute end, or when the person signs out (``ended_at``)."""

    __tablename__ = "person_session"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    token_key: Mapped[str] = mapped_column(String(64), unique=True)
    # No foreign key: sessions are found by their token, not by person, and stay a local table where the person's
    # tables are spread by person (issue 20 item 3, migration 0036).
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

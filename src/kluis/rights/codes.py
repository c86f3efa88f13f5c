"""Issuing a sign-in code of a request. A request's own codes and the codes for its access package share one
table and one limit (three an hour), so a package cannot be used to send a person more codes than the request may."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kluis.kit.errors import Conflict
from kluis.kit.ids import new_id
from kluis.rights import rules
from kluis.rights.models import VerificationCode


def issue_code(session: Session, secret: bytes, request_id: uuid.UUID, subject: str, now: datetime) -> uuid.UUID:
    """A new code for ``subject`` (what the code signs in to); the code itself is derived again from the id
    when the mail is built, so only its digest is stored."""
    issued = session.scalar(select(func.count()).select_from(VerificationCode).where(
        VerificationCode.request_id == request_id, VerificationCode.created_at > now - timedelta(hours=1))) or 0
    if not rules.may_issue_code(issued):
        raise Conflict("three codes were sent in the last hour; try again later", code="code_rate_limited",
                       status=429)
    code_id = new_id()
    code = rules.derive_code(secret, code_id)
    session.add(VerificationCode(id=code_id, request_id=request_id, tries=0, created_at=now,
                                 expires_at=now + rules.CODE_LIFETIME, digest=rules.code_digest(secret, subject, code)))
    session.flush()
    return code_id

"""Requests for the console's queue and dashboard tests: registered as staff register them, with past receipts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights
from kluis.wiring import Kluis


def request(kluis: Kluis, kind: str, days_ago: int, reference: str, state: str | None = None) -> uuid.UUID:
    """A request that reached benVitaal ``days_ago`` days ago; ``state`` set as its handling would leave it."""
    with kluis.db.transaction() as session:
        made = Rights(session, kluis, "test").register_by_staff(
            kind, kluis.clock.now() - timedelta(days=days_ago), reference,
            scope="marketing" if kind == "objection" else None)
        if state is not None:
            session.execute(update(DataSubjectRequest).where(DataSubjectRequest.id == made.request.id)
                            .values(state=state))
        return made.request.id

"""How consent reacts to what other domains tell it (``kluis.kit.events``; who reacts to what:
``kluis.subscriptions``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kluis.consent.marketing.service import PROFILING, delete_profile
from kluis.gate.events import INTEREST_PROFILE_DELETED, ObjectionRecorded


def objection_recorded(session: Session, event: ObjectionRecorded) -> dict[str, bool]:
    """Art. 21(3): once a person objects to profiling, their interest profile goes at once."""
    if PROFILING not in event.purposes:
        return {}
    return {INTEREST_PROFILE_DELETED: delete_profile(session, event.person_id)}

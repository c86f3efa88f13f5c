"""The notices mail sends when other domains tell it something happened (``kluis.kit.events``; who reacts to
what: ``kluis.subscriptions``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kluis.gate.events import RestrictionLifted
from kluis.mail.notices import ACCOUNT_NOTICE
from kluis.mail.service import enqueue


def restriction_lifted(session: Session, event: RestrictionLifted) -> None:
    """Art. 18(3): the person is told before their restriction is lifted, in the same transaction (a request's
    own path tells them itself, ``tell_person=False``)."""
    if event.tell_person:
        enqueue(session, event.clock, template=ACCOUNT_NOTICE, person_id=event.person_id, lang="nl",
                context={"notice": "restriction_lifted", "reference": str(event.restriction_id)}, actor=event.actor)

"""Mail whose recipient is decided after the answer that queued it (R-DSR-1): a code asked for on a public form.

The form's answer must take as long for a known address as for an unknown one, so it cannot look the address up
first; yet once the person has been told to check their mail, the code must go even if the process dies right after
answering. So the answer's own transaction queues the code's message *held*, to the address given, sealed
(``seal_address`` under the message's id): the same row for every address. The message's *step*, registered by the
domain for its template, runs after the answer: it decides who the message goes to (the person the address belongs
to, who the request or sign-in then claims) or that it goes to nobody. ``address`` runs it once: the page's
background task runs it at once, the worker (``kluis.mail.tasks``) any that a crash left waiting. Either way the
seal is cleared: a message with a person goes out through the outbox as any other; one without is cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.kit.clock import Clock
from kluis.kit.ids import new_id
from kluis.mail import rules, service
from kluis.mail.models import Outbox
from kluis.mail.templates import Cancelled

# (session, kluis, the held message, the address given: "" when none was, actor) -> the person it goes to, or None
# when it goes to nobody. Raises ``Cancelled`` when what it is about is gone. Runs in the caller's transaction.
Step = Callable[[Session, Any, Outbox, str, str], uuid.UUID | None]
UNKNOWN = "address_unknown"

_STEPS: dict[str, Step] = {}


def register_step(template: str, step: Step) -> None:
    """Declare how a held message of ``template`` finds its recipient (the domain's module does, when imported)."""
    _STEPS[template] = step


def hold(session: Session, clock: Clock, secret: bytes, *, template: str, lang: str, context: Mapping[str, Any],
         address: str, actor: str) -> uuid.UUID:
    """Queue a message of a template with a step, held and sealed to ``address`` (``""``: none given, the step
    knows whom): the same write for every address. Its id, for ``address`` after the answer."""
    outbox_id = new_id()
    service.enqueue(session, clock, template=template, lang=lang, context=context, actor=actor, outbox_id=outbox_id,
                    sealed_to=service.seal_address(secret, outbox_id, address), held=True)
    return outbox_id


def _waiting() -> Select[Any]:
    """Held messages whose step has not run: still sealed, to nobody yet."""
    return select(Outbox).where(Outbox.state == rules.QUEUED, Outbox.next_attempt_at >= rules.HELD_UNTIL,
                                Outbox.template.in_(sorted(_STEPS)), Outbox.person_id.is_(None),
                                Outbox.staff_id.is_(None), Outbox.party.is_(None), Outbox.sealed_to.is_not(None))


def waiting(session: Session, limit: int) -> list[uuid.UUID]:
    """The oldest messages whose step has not run (a crash after the answer, or a step that failed)."""
    return list(session.scalars(_waiting().with_only_columns(Outbox.id).order_by(Outbox.created_at).limit(limit)))


def address(session: Session, kluis: Any, outbox_id: uuid.UUID, actor: str) -> bool:
    """Run the step of one held message, in the caller's transaction, unless it ran already or another transaction
    is running it (its row locked: ``jobs.unclaimed``): once, whoever comes first. False when there was nothing to
    do. Addressed, the message is due now; to nobody, it is cancelled; either way its seal is gone."""
    row = session.scalars(jobs.unclaimed(_waiting().where(Outbox.id == outbox_id))).one_or_none()
    if row is None:
        return False
    assert row.sealed_to is not None
    given = service.open_address(kluis.keys.secret, row.id, row.sealed_to)
    try:
        person_id, reason = _STEPS[row.template](session, kluis, row, given, actor), UNKNOWN
    except Cancelled as gone:
        person_id, reason = None, gone.reason
    row.sealed_to = None
    if person_id is None:
        row.state, row.last_error = rules.CANCELLED, reason[:64]
        audit.append(session, kluis.clock, actor=actor, action="mail.cancelled", object_type="mail",
                     object_ids=[row.id], details={"template": row.template, "kind": row.kind, "reason": reason[:64]})
    else:
        row.person_id, row.next_attempt_at = person_id, kluis.clock.now()
        audit.append(session, kluis.clock, actor=actor, action="mail.addressed", object_type="mail",
                     object_ids=[row.id], details={"template": row.template, "person_id": str(person_id)})
    session.flush()
    return True

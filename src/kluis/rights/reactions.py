"""How requests follow their erasure (``kluis.kit.events``; who reacts to what: ``kluis.subscriptions``).

The erasure runs below the requests: it announces what happened, and the request it serves is told here, in the
same transaction, in the person's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kluis.erasure.events import PERSON_NOTICE, ControllerPartErased, ErasureCertified, ErasureHeld, PersonErased
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.rights import mail as rights_mail
from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights


def erasure_held(session: Session, event: ErasureHeld) -> None:
    """R-RET-3: the person is told that a legal hold keeps their data (the mail reads the holds when it leaves)."""
    request = session.get(DataSubjectRequest, event.request_id)
    if request is None:
        return
    _tell(session, event, request, "erasure_held")


def person_erased(session: Session, event: PersonErased) -> dict[str, Any] | None:
    """The person's last notice, with their address sealed in it, held until the certificate is signed."""
    request = session.get(DataSubjectRequest, event.request_id)
    if request is None or event.address is None:
        return None
    row = _tell(session, event, request, "erased", held=True,
                sealed_to=mail.seal_address(event.kluis.keys.secret, event.person_id, event.address))
    return {PERSON_NOTICE: str(row.id)}


def controller_part_erased(session: Session, event: ControllerPartErased) -> None:
    """R-DSR-8: the person is told what benVitaal's own part erased and that the rest is with their employer."""
    request = session.get(DataSubjectRequest, event.request_id)
    if request is None:
        return
    _tell(session, event, request, "own_part_erased")
    if request.employer_decision == "keep":  # the employer said so before this part ran: the request closes now
        _tell(session, event, request, "employer_kept", job=False)


def erasure_certified(session: Session, event: ErasureCertified) -> None:
    """The erasure request is done (its person was told by the erasure's own notice)."""
    if event.request_id is not None:
        Rights(session, event.kluis, event.actor).complete_erasure(event.request_id)


def _tell(session: Session, event: ErasureHeld | PersonErased | ControllerPartErased, request: DataSubjectRequest,
          notice: str, *, job: bool = True, **options: Any) -> Outbox:
    """The person of ``request`` told ``notice`` in their language (with the erasure job's id, unless ``job`` is
    false); ``options``: how the mail is held or sealed."""
    context = {"notice": notice, "request_id": str(request.id)} | ({"job_id": str(event.job_id)} if job else {})
    return mail.enqueue(session, event.kluis.clock, template=rights_mail.NOTICE_TEMPLATE, person_id=event.person_id,
                        lang=request.lang, context=context, actor=event.actor, **options)

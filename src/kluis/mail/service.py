"""Outbox use cases: queue in the caller's transaction; claim, and record each outcome, for the worker.

Services never commit. ``enqueue`` rides the business transaction, so a message exists exactly when
the change that causes it commits. The worker calls ``claim`` and the outcome functions each in its
own short transaction (see ``kluis.mail.worker``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kluis import jobs
from kluis.audit import service as audit
from kluis.kit.clock import Clock, as_utc
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_id
from kluis.mail import rules
from kluis.mail.models import OUTBOX_JOBS, Outbox
from kluis.mail.notices import ACCOUNT_NOTICE, MARKETING_UNSUBSCRIBED
from kluis.mail.rules import one_click_url_allowed, unsubscribe_headers
from kluis.mail.templates import (
    Attachment,
    Cancelled,
    MessageContext,
    Undeliverable,
    context_id,
    message_type,
    register_template,
    subject_of,
)

# What other domains use, so that they import mail through this module only.
__all__ = ["ACCOUNT_NOTICE", "MARKETING_UNSUBSCRIBED", "Attachment", "Cancelled", "MessageContext", "Undeliverable",
           "claim", "context_id", "defer", "enqueue", "mark_cancelled", "mark_failed", "mark_sent",
           "one_click_url_allowed", "open_address", "register_template", "release", "seal_address", "stuck",
           "subject_of", "unsubscribe_headers"]

log = logging.getLogger("kluis.mail")
WORKER = "worker"


def enqueue(session: Session, clock: Clock, *, template: str, person_id: uuid.UUID | None = None,
            staff_id: uuid.UUID | None = None, lang: str = "nl", context: Mapping[str, Any] | None = None,
            kind: str = rules.ADMINISTRATIVE, list_id: str | None = None, actor: str,
            party: str | None = None, sealed_to: bytes | None = None, held: bool = False,
            outbox_id: uuid.UUID | None = None) -> Outbox:
    """Queue one message in the caller's transaction (with its audit event): it is sent after that
    transaction commits, and never if it rolls back. ``context`` holds ids and codes only. The recipient
    is a person, a staff account, or a ``party`` of the policy (``recipient:<id>``, ``processor:<id>``).
    ``sealed_to`` (from ``seal_address``) carries the address of a person whose identifiers are erased
    before the message leaves; it is cleared once the message is sent, failed or cancelled. A ``held`` message
    waits, queued, until ``release`` (its cause is not finished yet: an erasure's certificate, say). ``sealed_to``
    without a recipient: mail to an address given for this message alone, sealed with ``seal_address`` under the
    message's own id (``outbox_id``, chosen by the caller), and cleared as for a person."""
    found = message_type(template)
    body = dict(context or {})
    problems: list[Problem] = []
    if kind != found.kind:
        problems.append(Problem("kind", "mail_kind_mismatch", f"template {template!r} is {found.kind} mail"))
    if lang not in rules.LANGS:
        problems.append(Problem("lang", "lang_unknown", f"one of: {', '.join(rules.LANGS)}"))
    alone = sealed_to is not None and person_id is None
    problems += rules.check_recipient(kind, person_id, staff_id, list_id, party, alone)
    if alone and outbox_id is None:
        problems.append(Problem("outbox_id", "outbox_id_required", "an address alone is sealed under the message's id"))
    problems += rules.check_context(body)
    if found.check is not None and not problems:
        problems += found.check(body)
    if problems:
        raise Invalid("the message was not queued", code="mail_invalid", problems=problems)
    now = clock.now()
    row = Outbox(id=outbox_id or new_id(), template=template, kind=kind, person_id=person_id, staff_id=staff_id,
                 party=party, lang=lang,
                 context=body, list_id=list_id, state=rules.QUEUED, attempts=0,
                 next_attempt_at=rules.HELD_UNTIL if held else now,
                 created_at=now, sealed_to=sealed_to)
    session.add(row)
    session.flush()
    details: dict[str, Any] = {"template": template, "kind": kind, "lang": lang}
    details |= ({"person_id": str(person_id)} if person_id else {"party": party} if party
                else {"staff_id": str(staff_id)} if staff_id else {"to": "address"})
    if list_id:
        details["list_id"] = list_id
    audit.append(session, clock, actor=actor, action="mail.queued", object_type="mail", object_ids=[row.id],
                 details=details)
    return row


def release(session: Session, clock: Clock, outbox_id: uuid.UUID) -> bool:
    """Let a held message go now; False when it is not (or no longer) held. Safe to repeat."""
    row = session.get(Outbox, outbox_id)
    if row is None or row.state != rules.QUEUED or as_utc(row.next_attempt_at) < rules.HELD_UNTIL:
        return False
    row.next_attempt_at = clock.now()
    return True


def claim(session: Session, clock: Clock, *, limit: int, lease: timedelta, max_attempts: int,
          domain: str, owner: str | None = None) -> jobs.Claim[Outbox]:
    """Take up to ``limit`` due messages for this worker (``owner``, a fresh token by default): queued ones whose
    attempt is due, and sending ones whose worker's lease ran out (it died, perhaps after the relay had accepted the
    message: the retry carries the same Message-ID). The shared lease (``kluis.jobs``) claims them; those taken are
    ``sending``, and an abandoned row that already used all its attempts comes back ``failed``."""
    now = clock.now()
    found = jobs.claim(session, OUTBOX_JOBS, now, owner or jobs.new_owner(), lease, limit=limit,
                       max_attempts=max_attempts)
    for row in found.abandoned:
        _fail(session, clock, row, "abandoned")
    for row in found.taken:
        row.message_id = row.message_id or rules.message_id(row.id, domain)
    session.flush()
    return found


def mark_sent(session: Session, clock: Clock, claimed: Outbox) -> bool:
    row = _still_ours(session, claimed)
    if row is None:
        return False
    row.state, row.sent_at, row.last_error, row.sealed_to = rules.SENT, clock.now(), None, None
    jobs.release(row)
    audit.append(session, clock, actor=WORKER, action="mail.sent", object_type="mail", object_ids=[row.id],
                 details={"template": row.template, "kind": row.kind, "attempts": row.attempts})
    return True


def mark_failed(session: Session, clock: Clock, claimed: Outbox, code: str) -> bool:
    row = _still_ours(session, claimed)
    if row is None:
        return False
    _fail(session, clock, row, code)
    return True


def mark_cancelled(session: Session, clock: Clock, claimed: Outbox, reason: str) -> bool:
    row = _still_ours(session, claimed)
    if row is None:
        return False
    row.state, row.last_error, row.sealed_to = rules.CANCELLED, reason[:64], None
    jobs.release(row)
    audit.append(session, clock, actor=WORKER, action="mail.cancelled", object_type="mail", object_ids=[row.id],
                 details={"template": row.template, "kind": row.kind, "reason": reason[:64]})
    return True


def defer(session: Session, clock: Clock, claimed: Outbox, code: str, *, max_attempts: int,
          random: Callable[[], float]) -> str | None:
    """A temporary failure: try again after a backoff, or fail once the attempts are used up.
    Returns the new state (None when the claim was lost)."""
    row = _still_ours(session, claimed)
    if row is None:
        return None
    if jobs.used_up(row, max_attempts):
        _fail(session, clock, row, code)
        return rules.FAILED
    row.last_error = code[:64]
    jobs.retry(row, OUTBOX_JOBS, clock.now(), rules.QUEUED, random)
    return rules.QUEUED


def _fail(session: Session, clock: Clock, row: Outbox, code: str) -> None:
    row.state, row.last_error, row.sealed_to = rules.FAILED, code[:64], None
    jobs.release(row)
    audit.append(session, clock, actor=WORKER, action="mail.failed", object_type="mail", object_ids=[row.id],
                 details={"template": row.template, "kind": row.kind, "error": code[:64], "attempts": row.attempts})


def _still_ours(session: Session, claimed: Outbox) -> Outbox | None:
    """The row, locked, if this worker's claim still holds. A worker that overran its lease finds
    another worker's claim (or its outcome) and leaves the row alone."""
    row: Outbox | None = jobs.held(session, OUTBOX_JOBS, claimed.id, claimed.locked_by)
    if row is None:
        log.warning("mail %s: the claim was lost (lease expired); its outcome is left to the current holder",
                    claimed.id)
        return None
    return row


def stuck(session: Session, now: datetime, *, limit: int = 50) -> tuple[int, list[Outbox]]:
    """Mail staff should look at: waiting after a failed attempt, or failed in the last ``STUCK_DAYS`` days.
    How many, and the latest ``limit`` of them (ids, template, state, attempts and an error code only)."""
    query = select(Outbox).where(or_(
        and_(Outbox.state.in_((rules.QUEUED, rules.SENDING)), Outbox.last_error.is_not(None)),
        and_(Outbox.state == rules.FAILED, Outbox.created_at >= now - timedelta(days=rules.STUCK_DAYS))))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Outbox.created_at.desc(), Outbox.id).limit(limit)))
    return count, rows


def _address_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"kluis/mail/sealed-to", hashlib.sha256).digest()


def seal_address(secret: bytes, person_id: uuid.UUID, address: str) -> bytes:
    """The address sealed for the outbox, bound to the person's id (or, for an address alone, the message's)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_address_key(secret)).encrypt(nonce, address.encode(), person_id.bytes)


def open_address(secret: bytes, person_id: uuid.UUID, sealed: bytes) -> str:
    return AESGCM(_address_key(secret)).decrypt(sealed[:12], sealed[12:], person_id.bytes).decode()

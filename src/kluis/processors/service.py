"""The processors register as use cases (R-SHR-2): the agreements as the console lists them, the DPOs reminded before
an agreement ends, and the list of a service's sub-processors mailed to an address on request.

The register itself is the policy (``policy/``: ``agreements`` holds the pure rules); what happens because of it is
kept here: which reminders went out, and the mail queued in the caller's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kluis.audit import service as audit
from kluis.kit.errors import Invalid, Problem
from kluis.kit.ids import new_id
from kluis.mail import service as mail
from kluis.policy.agreements import AgreementState, agreements, amsterdam_day, reminders_due
from kluis.processors.models import AgreementReminder
from kluis.staff import service as staff_service

if TYPE_CHECKING:
    from kluis.wiring import Kluis

REMINDER_TEMPLATE = "agreement_ending"
LIST_TEMPLATE = "sub_processors"
# The choice in the privacy centre's form that asks for every service's sub-processors.
ALL_SERVICES = "all"
_EMAIL = TypeAdapter(EmailStr)


def agreement_states(kluis: Kluis) -> list[AgreementState]:
    """Every processor's agreement today (Amsterdam), those ending soonest first."""
    return agreements(kluis.policy, amsterdam_day(kluis.clock.now()))


def reminders_sent(session: Session) -> dict[tuple[str, str, date], list[int]]:
    """(processor, reference, last day) -> the reminders sent for that agreement (days before its end)."""
    sent: dict[tuple[str, str, date], list[int]] = {}
    for row in session.scalars(select(AgreementReminder).order_by(AgreementReminder.days_before.desc())):
        sent.setdefault((row.processor, row.reference, row.ends), []).append(row.days_before)
    return sent


def send_reminders(session: Session, kluis: Kluis, actor: str) -> int:
    """Mail every DPO when an agreement's reminder day has come (60 and 14 days before its last day): each reminder
    is recorded in the transaction that queues its mails, and a reminder already recorded is not sent again, so it
    goes out once whichever worker runs this, and a renewed agreement (another reference or end) starts afresh."""
    now = kluis.clock.now()
    due = reminders_due(kluis.policy, amsterdam_day(now))
    if not due:
        return 0
    dpos = None
    sent = 0
    for processor, agreement, before in due:
        assert agreement.ends is not None  # reminders_due gives agreements with an end only
        if not _record(session, AgreementReminder(processor=processor.id, reference=agreement.reference,
                                                  ends=agreement.ends, days_before=before, sent_at=now)):
            continue
        if dpos is None:
            dpos = staff_service.active_dpos(session, now)
        audit.append(session, kluis.clock, actor=actor, action="processor.agreement_reminded",
                     object_type="processor", object_ids=[processor.id],
                     details={"reference": agreement.reference, "ends": agreement.ends.isoformat(),
                              "days_before": before, "staff": len(dpos)})
        for dpo in dpos:  # each in the language they chose (docs/i18n.md)
            mail.enqueue(session, kluis.clock, template=REMINDER_TEMPLATE, staff_id=dpo.id,
                         lang=staff_service.mail_language(dpo, kluis.settings), actor=actor,
                         context={"processor": processor.id, "reference": agreement.reference,
                                  "ends": agreement.ends.isoformat(), "days_before": before})
        sent += 1
    return sent


def _record(session: Session, reminder: AgreementReminder) -> bool:
    """Record a reminder unless it is recorded already (by this or another worker); whether this call recorded it."""
    values = {"processor": reminder.processor, "reference": reminder.reference, "ends": reminder.ends,
              "days_before": reminder.days_before, "sent_at": reminder.sent_at}
    keys = ["processor", "reference", "ends", "days_before"]
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (insert(AgreementReminder).values(values).on_conflict_do_nothing(index_elements=keys)
                     .returning(AgreementReminder.days_before))
        return session.execute(statement).first() is not None
    if session.get(AgreementReminder, tuple(values[k] for k in keys)) is not None:
        return False
    session.add(reminder)
    session.flush()
    return True


def services(kluis: Kluis) -> list[str]:
    """What the privacy centre's form offers: each processor's id (its service is shown), and every service."""
    return [*(p.id for p in kluis.policy.processors), ALL_SERVICES]


def request_list(session: Session, kluis: Kluis, actor: str, *, email: str, service: str, lang: str) -> None:
    """R-SHR-2: mail the sub-processors of ``service`` (a processor's id, or ``all``) to ``email``, from the register
    as it is when the mail leaves. The list is no one's personal data, so anyone may have it: the answer goes only
    to the address given, which is all the verification it needs. The address is sealed in the outbox until sent."""
    problems = []
    try:
        address = str(_EMAIL.validate_python(email.strip()))
    except ValidationError:
        address = ""
        problems.append(Problem("email", "address_invalid", "give an e-mail address, such as naam@example.nl"))
    if service not in services(kluis):
        problems.append(Problem("service", "service_unknown", f"one of: {', '.join(services(kluis))}"))
    if lang not in ("nl", "en"):
        problems.append(Problem("lang", "lang_unknown", "nl or en"))
    if problems:
        raise Invalid("the list was not requested", code="sub_processors_invalid", problems=problems)
    outbox_id = new_id()
    mail.enqueue(session, kluis.clock, template=LIST_TEMPLATE, lang=lang, actor=actor, context={"service": service},
                 outbox_id=outbox_id, sealed_to=mail.seal_address(kluis.keys.secret, outbox_id, address))
    audit.append(session, kluis.clock, actor=actor, action="processor.sub_processors_requested",
                 object_type="mail", object_ids=[outbox_id], details={"service": service, "lang": lang})

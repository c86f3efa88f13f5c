"""The messages of complaint handling (R-GOV-2): the code confirming a privacy-centre complaint, the
acknowledgement with the deadline, the written answer, and the staff reminders.

Context holds ids only; the builder reads the complaint at send time (the answer is opened from its seal
only then). Acknowledgement and answer name the right to complain to the Autoriteit Persoonsgegevens with its
address, read from the policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.complaints import repository, rules, sealing
from kluis.complaints.models import Complaint
from kluis.kit import i18n
from kluis.kit.errors import Problem
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id, subject_of
from kluis.rights import rules as request_rules

if TYPE_CHECKING:
    from kluis.wiring import Kluis

CODE_TEMPLATE = "complaint_code"
ACK_TEMPLATE = "complaint_ack"
ANSWER_TEMPLATE = "complaint_answer"
REMINDER_TEMPLATE = "complaint_reminder"


def check_complaint(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "complaint_id") else [Problem("context.complaint_id", "complaint_required",
                                                                     "the complaint's id")]


def check_code(context: Mapping[str, Any]) -> list[Problem]:
    if context_id(context, "code_id") is None:
        return [Problem("context.code_id", "code_invalid", "the issued code's id and the complaint's id")]
    return check_complaint(context)


def check_reminder(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("days") not in (*rules.REMINDER_DAYS, rules.OVERDUE):
        return [Problem("context.days", "reminder_invalid", "the days left, or 0 when overdue")]
    return check_complaint(context)


def _common(kluis: Kluis, complaint: Complaint, lang: str) -> dict[str, Any]:
    authority = kluis.policy.supervisory_authority
    address = authority.address
    return {"reference": rules.short_reference(complaint.id), "deadline": i18n.day(complaint.deadline_on, lang),
            "authority": authority.name.get("en" if lang == "en" else "nl"), "authority_url": authority.website,
            "authority_address": f"{address.street}, {address.postcode} {address.city}",
            "dpo": str(kluis.policy.dpo.email)}


def build_code(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    complaint = subject_of(session, Complaint, row, "complaint_id")
    code = request_rules.derive_code(kluis.keys.secret, uuid.UUID(str(row.context["code_id"])))
    return mail.MessageContext(values={"reference": rules.short_reference(complaint.id), "code": code,
                                       "minutes": int(request_rules.CODE_LIFETIME.total_seconds() // 60)})


def build_ack(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    return mail.MessageContext(values=_common(kluis, subject_of(session, Complaint, row, "complaint_id"), row.lang))


def build_answer(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    complaint = subject_of(session, Complaint, row, "complaint_id")
    key = sealing.key_of(session, kluis, complaint)
    answers = repository.messages(session, complaint.id, "answer")
    if not answers:
        raise mail.Cancelled("no_answer")
    last = answers[-1]
    return mail.MessageContext(values={**_common(kluis, complaint, row.lang),
                                       "answer": sealing.open_text(key, complaint.id, last.id, last.kind,
                                                                   last.sealed)})


def build_reminder(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    complaint = subject_of(session, Complaint, row, "complaint_id")
    if complaint.state != rules.State.OPEN:
        raise mail.Cancelled("complaint_closed")
    return mail.MessageContext(values={
        "reference": rules.short_reference(complaint.id), "deadline": i18n.day(complaint.deadline_on, row.lang),
        "days": row.context["days"],
        "console_url": f"{kluis.settings.base_url.rstrip('/')}/console/complaints/{complaint.id}"})


mail.register_template(CODE_TEMPLATE, build_code, "administrative", check=check_code)
mail.register_template(ACK_TEMPLATE, build_ack, "administrative", check=check_complaint)
mail.register_template(ANSWER_TEMPLATE, build_answer, "administrative", check=check_complaint)
mail.register_template(REMINDER_TEMPLATE, build_reminder, "administrative", check=check_reminder)

"""The breach register's messages: the deadline reminders to the DPOs, and the notice to each person concerned
by a high-risk breach (Art. 34(2): what happened, the likely consequences, the measures, the DPO's contact).

The outbox holds the breach's id only; the builders open the register's texts at send time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.breaches import rules
from kluis.breaches.models import Breach
from kluis.breaches.service import PERSON_TEMPLATE, REMINDER_TEMPLATE, Breaches, reference
from kluis.kit.errors import Problem
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.templates import context_id, subject_of

if TYPE_CHECKING:
    from kluis.policy.schemas import Lang
    from kluis.wiring import Kluis

WORKER = "worker"
REMINDER_TEXT = {"24h": "is due within 24 hours", "4h": "is due within 4 hours",
                 "passed": "has passed and the AP has not been notified"}


def check_person(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "breach_id") else [Problem("context.breach_id", "breach_required",
                                                                  "the breach's id")]


def check_reminder(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("reminder") not in REMINDER_TEXT or not context_id(context, "breach_id"):
        return [Problem("context", "reminder_invalid", "the breach's id and the reminder (24h, 4h, passed)")]
    return []


def build_reminder(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    breach = subject_of(session, Breach, row, "breach_id")
    if breach.ap_filed_at is not None:
        raise mail.Cancelled("breach_filed")
    return mail.MessageContext(values={
        "reference": reference(breach.id), "state": REMINDER_TEXT[str(row.context["reminder"])],
        "deadline": rules.amsterdam(breach.deadline_at), "countdown": rules.countdown(breach.deadline_at,
                                                                                      kluis.clock.now()),
        "console_url": f"{kluis.settings.base_url.rstrip('/')}/console/breaches/{breach.id}"})


def build_person(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """Read at send time: the texts as the DPO last wrote them, the DPO's contact from the policy."""
    breach = subject_of(session, Breach, row, "breach_id")
    texts = Breaches(session, kluis, WORKER).texts(breach)
    lang: Lang = "en" if row.lang == "en" else "nl"
    dpo = kluis.policy.dpo
    return mail.MessageContext(values={
        "reference": reference(breach.id), "summary": texts.get("summary", ""),
        "consequences": texts.get("consequences", ""), "measures": texts.get("measures", ""),
        "categories": [kluis.policy.category(c).name.get(lang) for c in breach.categories],
        "dpo_title": dpo.title.get(lang), "dpo_email": str(dpo.email),
        "authority": kluis.policy.supervisory_authority.name.get(lang),
        "authority_url": kluis.policy.supervisory_authority.website})


mail.register_template(REMINDER_TEMPLATE, build_reminder, "administrative", check=check_reminder)
mail.register_template(PERSON_TEMPLATE, build_person, "administrative", check=check_person)

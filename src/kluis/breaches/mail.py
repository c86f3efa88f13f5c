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
from kluis.kit import i18n
from kluis.kit.errors import Problem
from kluis.kit.i18n import N_
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.mail.service import context_id, subject_of

if TYPE_CHECKING:
    from kluis.policy.schemas import Lang
    from kluis.wiring import Kluis

WORKER = "worker"
# reminder -> (subject, opening sentence): English, said in the DPO's language when the mail is built.
REMINDER_TEXT = {
    "24h": (N_("Kluis: the AP deadline of breach %(reference)s is due within 24 hours"),
            N_("The deadline for notifying the Autoriteit Persoonsgegevens of breach %(reference)s is due within 24 "
               "hours.")),
    "4h": (N_("Kluis: the AP deadline of breach %(reference)s is due within 4 hours"),
           N_("The deadline for notifying the Autoriteit Persoonsgegevens of breach %(reference)s is due within 4 "
              "hours.")),
    "passed": (N_("Kluis: the AP deadline of breach %(reference)s has passed and the AP has not been notified"),
               N_("The deadline for notifying the Autoriteit Persoonsgegevens of breach %(reference)s has passed and "
                  "the AP has not been notified.")),
}


def check_person(context: Mapping[str, Any]) -> list[Problem]:
    return [] if context_id(context, "breach_id") else [Problem("context.breach_id", "breach_required",
                                                                  "the breach's id")]


def check_reminder(context: Mapping[str, Any]) -> list[Problem]:
    if context.get("reminder") not in REMINDER_TEXT or not context_id(context, "breach_id"):
        return [Problem("context", "reminder_invalid", "the breach's id and the reminder (24h, 4h, passed)")]
    return []


def build_reminder(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """In the DPO's language (the row's): the deadline written out in Amsterdam time, the countdown as the console
    words it."""
    breach = subject_of(session, Breach, row, "breach_id")
    if breach.ap_filed_at is not None:
        raise mail.Cancelled("breach_filed")
    subject, opening = REMINDER_TEXT[str(row.context["reminder"])]
    ref = reference(breach.id)
    with i18n.speaking(row.lang) as lang:
        return mail.MessageContext(values={
            "reference": ref, "headline": i18n.translate(subject) % {"reference": ref},
            "opening": i18n.translate(opening) % {"reference": ref},
            "deadline": i18n.long_when(breach.deadline_at, lang),
            "countdown": rules.countdown_words(breach.deadline_at, kluis.clock.now()),
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

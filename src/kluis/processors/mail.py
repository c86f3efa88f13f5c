"""The processors register's messages: the reminder to the DPOs that an agreement ends, and the list of a service's
sub-processors to whoever asked (NL/EN). The outbox holds the register's ids only; the builders read the register
in force when the message leaves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kluis.kit import i18n
from kluis.kit.errors import Problem
from kluis.kit.messages import N_
from kluis.mail import service as mail
from kluis.mail.models import Outbox
from kluis.policy.agreements import amsterdam_day, days_left
from kluis.policy.render import country_name, labels, safeguard_text
from kluis.policy.schemas import Lang, Processor, Text, UnknownPolicyId
from kluis.processors.service import ALL_SERVICES, LIST_TEMPLATE, REMINDER_TEMPLATE

if TYPE_CHECKING:
    from kluis.wiring import Kluis


def check_reminder(context: Mapping[str, Any]) -> list[Problem]:
    if not all(isinstance(context.get(k), str) for k in ("processor", "reference", "ends")) \
            or not isinstance(context.get("days_before"), int):
        return [Problem("context", "reminder_invalid", "the processor, the agreement's reference and end, the days")]
    return []


def check_list(context: Mapping[str, Any]) -> list[Problem]:
    return [] if isinstance(context.get("service"), str) else [Problem("context.service", "service_required",
                                                                       "the service asked about")]


def build_reminder(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """In the DPO's language, the last day written out. Cancelled when the register no longer holds that agreement
    as it was (renewed, or the processor gone)."""
    try:
        processor = kluis.policy.processor(str(row.context["processor"]))
    except UnknownPolicyId:
        raise mail.Cancelled("processor_gone") from None
    agreement = processor.agreement
    if agreement is None or agreement.reference != row.context["reference"] or agreement.ends is None \
            or agreement.ends.isoformat() != row.context["ends"]:
        raise mail.Cancelled("agreement_changed")
    left = days_left(agreement, amsterdam_day(kluis.clock.now()))
    lang: Lang = "en" if row.lang == "en" else "nl"  # the DPO's language (docs/i18n.md)
    return mail.MessageContext(values={
        "processor": processor.name, "service": processor.service.get(lang), "reference": agreement.reference,
        "ends": i18n.long_day(agreement.ends, lang), "days_left": left,
        "console_url": f"{kluis.settings.base_url.rstrip('/')}/console/processors"})


def build_list(session: Session, kluis: Kluis, row: Outbox) -> mail.MessageContext:
    """The register's processors for the service (or all), each with its sub-processors, countries and safeguards.
    Example (demo) entries are not sent as if they were real: a notice takes their place."""
    lang: Lang = "en" if row.lang == "en" else "nl"
    policy = kluis.policy
    service = str(row.context["service"])
    chosen = [p for p in policy.processors if service in (ALL_SERVICES, p.id)]
    shown = [p for p in chosen if not p.demo]
    return mail.MessageContext(values={
        "service": _service(chosen, service, lang),
        "processors": [_processor(p, lang) for p in shown],
        "demo_notice": labels(lang)["demo_register" if not shown else "demo_entries"]
        if any(p.demo for p in chosen) else "",
        "dpo_email": str(policy.dpo.email),
        "today": i18n.long_day(_today(kluis), lang)})


def _today(kluis: Kluis) -> date:
    return amsterdam_day(kluis.clock.now())


def _service(chosen: list[Processor], service: str, lang: Lang) -> str:
    if service == ALL_SERVICES or not chosen:
        return i18n.say(N_("every service"), lang)
    return chosen[0].service.get(lang)


def _processor(processor: Processor, lang: Lang) -> dict[str, Any]:
    def t(text: Text) -> str:
        return text.get(lang)

    return {"name": processor.name, "service": t(processor.service),
            "country": country_name(processor.country, lang),
            "safeguard": safeguard_text(processor.transfer, processor.scc_version, lang),
            "subs": [{"name": s.name, "service": t(s.service), "country": country_name(s.country, lang),
                      "safeguard": safeguard_text(s.transfer, s.scc_version, lang)} for s in processor.sub_processors]}


mail.register_template(REMINDER_TEMPLATE, build_reminder, "administrative", check=check_reminder)
mail.register_template(LIST_TEMPLATE, build_list, "administrative", check=check_list)

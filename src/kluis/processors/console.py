"""The processors register in the staff console (R-SHR-2): every data-processing agreement with its dates, country,
transfer safeguard and sub-processors, those ending within 60 days highlighted, and the reminders sent. For the roles
that check the controls (the DPO and the auditor). The register is the policy: it is changed by publishing a new
version, not here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kluis.kit.i18n import gettext as _
from kluis.kit.i18n import language, translate
from kluis.policy.agreements import ENDING_WITHIN_DAYS, REMINDER_DAYS
from kluis.policy.render import country_name, safeguard_text
from kluis.policy.schemas import Lang
from kluis.processors.service import agreement_states, reminders_sent
from kluis.staff.rules import Permission
from kluis.web import console
from kluis.web.deps import kluis_of

router = APIRouter(prefix="/console/processors", route_class=console.ConsoleRoute, include_in_schema=False)


@router.get("")
def agreements_page(request: Request) -> Response:
    kluis = kluis_of(request)
    with kluis.db.sessions() as session:
        staff = console.require(request, session, Permission.AUDIT_READ)
        sent = reminders_sent(session)
    states = agreement_states(kluis)
    lang: Lang = "nl" if language() == "nl" else "en"
    rows = []
    for state in states:
        processor, agreement = state.processor, state.processor.agreement
        key = (processor.id, agreement.reference, agreement.ends) if agreement and agreement.ends else None
        rows.append({
            "state": state, "processor": processor, "agreement": agreement,
            "country": country_name(processor.country, lang),
            "safeguard": safeguard_text(processor.transfer, processor.scc_version, lang),
            "subs": [f"{s.name} ({country_name(s.country, lang)}; {safeguard_text(s.transfer, s.scc_version, lang)})"
                     for s in processor.sub_processors],
            "refusal": translate(state.refusal.reason) if state.refusal else None,
            "reminded": sent.get(key, []) if key else []})
    return console.page(request, "processors/console_agreements.html", _("Processors and agreements"), staff,
                        active="processors", rows=rows, within=ENDING_WITHIN_DAYS, reminder_days=REMINDER_DAYS,
                        soon=sum(1 for state in states if state.ending_soon))

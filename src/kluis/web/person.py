"""What the console's person page shows (issue 19 §2; R-VLT-3, R-CONS-1, R-RET-1, R-RET-3, R-DSR-*, R-SHR-*): each
record's provenance, the gate's decision on every purpose and why, consents with their proof, legal holds,
requests, disclosures and one timeline of it all. Ids, dates and terms only: record contents stay sealed.

The page reads one person, so each part is one query bounded by what is held about that person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kluis.disclosures.models import Disclosure
from kluis.gate.rules import Decision
from kluis.kit.clock import as_utc
from kluis.kit.i18n import N_
from kluis.kit.i18n import gettext as _
from kluis.retention import holds as retention_holds
from kluis.retention.models import Hold
from kluis.rights.models import DataSubjectRequest
from kluis.rights.rules import CLOSED
from kluis.vault.models import Employer, Person, Record
from kluis.wiring import Kluis

BENVITAAL = "benVitaal"
# Why the gate decided as it did (``kluis.gate.rules.decide``), for staff.
REASONS = {
    "purpose_unknown": N_("the policy has no such purpose"),
    "person_unknown": N_("no such person"),
    "person_erased": N_("the person's data is erased"),
    "legal_obligation": N_("allowed: a legal obligation"),
    "restricted": N_("refused: processing is restricted (Art. 18)"),
    "objected": N_("refused: the person objected (Art. 21)"),
    "objection_pending": N_("refused while the person's objection is being assessed"),
    "no_employer_instruction": N_("refused: the employer gave no instruction"),
    "no_consent": N_("refused: no consent given"),
    "consent_withdrawn": N_("refused: consent withdrawn"),
    "consent_renewal_needed": N_("refused: consent must be asked again for the new statement"),
    "consent": N_("allowed: consent given"),
    "no_active_relation": N_("refused: no current contract or relation"),
    "contract": N_("allowed: needed for the contract"),
    "legitimate_interest": N_("allowed: legitimate interest"),
}


@dataclass(frozen=True)
class Provenance:
    record: Record
    controller: str  # benVitaal, or the employer's name


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str


@dataclass(frozen=True)
class PersonView:
    records: list[Provenance]
    decisions: list[tuple[str, Decision, str]]  # purpose, decision, reason in words
    holds: list[Hold]
    requests: list[DataSubjectRequest]
    disclosures: list[Disclosure]
    timeline: list[Moment]

    def allowed(self, purpose: str) -> bool:
        """The gate's answer on ``purpose``, as decided for the page (False for a purpose the policy lacks)."""
        return any(decision.allowed for name, decision, _why in self.decisions if name == purpose)


def gather(session: Session, kluis: Kluis, actor: str, person: Person, consents: list[dict[str, Any]],
           term: Any) -> PersonView:
    """Everything the page shows of ``person`` but identifiers and consents (passed in, read already)."""
    records = list(session.scalars(select(Record).where(Record.person_id == person.id)
                                   .order_by(Record.collected_at, Record.id)))
    names = _employer_names(session, {r.controller_employer_id for r in records if r.controller_employer_id})
    provenance = [Provenance(r, names.get(r.controller_employer_id, BENVITAAL)
                             if r.controller_employer_id else BENVITAAL) for r in records]
    purposes = [p.id for p in kluis.policy.purposes]
    found = kluis.gate(session, actor).decide_many([(person.id, p) for p in purposes])
    decisions = [(d.purpose, d, _(REASONS[d.reason]) if d.reason in REASONS else d.reason) for d in found]
    # The records just read name their categories and controllers: the holds are one query, not four.
    holds = retention_holds.holds_covering(
        session, kluis.clock.now(), person.id, {person.employer_id, *(r.controller_employer_id for r in records)},
        {r.category for r in records}, active_only=False)
    requests = list(session.scalars(select(DataSubjectRequest).where(DataSubjectRequest.person_id == person.id)
                                    .order_by(DataSubjectRequest.received_at, DataSubjectRequest.id)))
    disclosures = list(session.scalars(select(Disclosure).where(Disclosure.person_id == person.id)
                                       .order_by(Disclosure.at, Disclosure.id)))
    return PersonView(provenance, decisions, holds, requests, disclosures,
                      timeline(person, provenance, consents, holds, requests, disclosures, term))


def timeline(person: Person, records: list[Provenance], consents: list[dict[str, Any]], holds: list[Hold],
             requests: list[DataSubjectRequest], disclosures: list[Disclosure], term: Any) -> list[Moment]:
    """What happened to the person's data, latest first."""
    moments = [Moment(person.created_at, _("Entered the vault"))]
    moments += [Moment(p.record.collected_at, _("Record collected: %(category)s, from %(source)s, for %(controller)s")
                       % {"category": p.record.category, "source": p.record.source, "controller": p.controller})
                for p in records]
    for event in consents:
        text = (_("Consent given for %(purpose)s (%(method)s)") if event["action"] == "given"
                else _("Consent withdrawn for %(purpose)s (%(method)s)"))
        moments.append(Moment(datetime.fromisoformat(event["at"]),
                              text % {"purpose": event["purpose"], "method": term(event["method"])}))
    for request in requests:
        moments.append(Moment(request.received_at, _("Request received: %(type)s") % {"type": term(request.type)}))
        if request.closed_at is not None and request.state in CLOSED:
            moments.append(Moment(request.closed_at, _("Request closed: %(type)s, %(state)s")
                                  % {"type": term(request.type), "state": term(request.state)}))
    moments += [Moment(d.at, _("Disclosed to %(party)s for %(purpose)s: %(categories)s")
                       % {"party": d.party, "purpose": d.purpose, "categories": ", ".join(d.categories)})
                for d in disclosures]
    for hold in holds:
        moments.append(Moment(hold.created_at, _("Legal hold placed: %(reason)s") % {"reason": term(hold.reason)}))
        if hold.released_at is not None:
            moments.append(Moment(hold.released_at, _("Legal hold released")))
    return sorted(moments, key=lambda m: as_utc(m.at), reverse=True)


def _employer_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {employer_id: name for employer_id, name in
            session.execute(select(Employer.id, Employer.name).where(Employer.id.in_(ids)))}

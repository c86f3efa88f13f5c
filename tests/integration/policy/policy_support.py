"""Shared by the policy-version tests: changed policies, people with data and consent, publishing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from kluis.policy.publish import Published, publish
from kluis.policy.schemas import LegalBasis, Policy, Term
from kluis.vault.schemas import IdentifierIn, PersonIn, RecordIn
from kluis.wiring import Kluis

NOTICE = "Ja, stuur mij marketing-e-mail van benVitaal."
# A purpose on legitimate interest that uses each category, to hold test data by.
PURPOSE_OF = {"basic": "lead_management", "interests": "lead_management", "web_traffic": "security"}


def with_rule(policy: Policy, rule_id: str, **update: Any) -> Policy:
    return policy.model_copy(update={"retention": [r.model_copy(update=update) if r.id == rule_id else r
                                                   for r in policy.retention]})


def with_purpose(policy: Policy, purpose_id: str, **update: Any) -> Policy:
    return policy.model_copy(update={"purposes": [p.model_copy(update=update) if p.id == purpose_id else p
                                                  for p in policy.purposes]})


def wording(policy: Policy) -> Policy:
    """Not material: web traffic kept a month shorter."""
    return with_rule(policy, "web_traffic", term=Term(months=5))


def marketing_longer(policy: Policy, months: int = 48) -> Policy:
    """Material, on consent: marketing contacts kept longer (consent for marketing e-mail is asked again)."""
    return with_rule(policy, "marketing_contacts", term=Term(months=months))


def profiling_on_consent(policy: Policy) -> Policy:
    """Material: profiling moves from legitimate interest to consent."""
    return with_purpose(policy, "profiling", basis=LegalBasis.CONSENT, interest=None,
                        withdrawal=["account_preferences", "dpo_email"])


def person(kluis: Kluis, email: str, categories: tuple[str, ...] = ("basic",), *, consent: str | None = None,
           lang: str = "nl", account: bool = True) -> uuid.UUID:
    """A lead with a record of each category (for marketing), optionally consent given in ``lang``."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        made = vault.create_person(PersonIn(subject_types=["lead"], identifiers=[IdentifierIn(kind="email",
                                                                                              value=email)]))
        vault.add_records(made.id, [RecordIn(category=c, purposes=[PURPOSE_OF[c]], legal_basis="legitimate_interest",
                                             source="direct", content={"note": "contact"}) for c in categories])
        if account:
            kluis.gate(session, "test").add_relation(made.id, "account")
        if consent:
            kluis.consents(session, "test").give(made.id, consent, method="form", notice_text=NOTICE, lang=lang)
        return made.id


def publish_at(kluis: Kluis, policy: Policy, at: datetime, actor: str = "staff:dpo") -> Published:
    with kluis.db.transaction() as session:
        published = publish(session, kluis.clock, policy, effective_at=at, actor=actor, source="next.yaml")
    kluis.timeline.forget()
    return published


def days(n: float) -> timedelta:
    return timedelta(days=n)

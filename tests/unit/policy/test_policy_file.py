"""R-POL-1: the shipped policy file states what the statement says, with the ids other code uses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kluis.policy.loader import check_policy
from kluis.policy.schemas import LegalBasis, Policy, Role, Term, Transfer, Trigger, UnknownPolicyId


def test_r_pol_1_shipped_policy_loads_and_passes(shipped_policy: Policy, shipped_path: Path) -> None:
    assert check_policy(shipped_path) == []
    assert shipped_policy.meta.effective_from == date(2025, 6, 1)


def test_r_pol_1_agreed_ids(shipped_policy: Policy) -> None:
    assert list(shipped_policy.category_ids) == ["basic", "account", "web_traffic", "financial", "content",
                                           "application", "interests"]
    assert list(shipped_policy.subject_ids) == ["employee", "lead", "webinar_attendee", "community_member",
                                          "applicant", "website_visitor", "customer_contact"]
    assert list(shipped_policy.source_ids) == ["direct", "employer", "partner_company", "cookies", "aggregator",
                                         "marketing_partner", "public_source", "social_network"]
    groups = {g.id: [p.id for p in shipped_policy.purposes_in_group(g.id)] for g in shipped_policy.purpose_groups}
    assert groups == {
        "purchase_delivery": ["orders", "service_delivery", "quotes", "accounts", "expense_claims",
                              "fiscal_retention"],
        "support_improvement": ["improvement", "support", "community"],
        "security": ["security"],
        "marketing": ["marketing_email", "profiling", "lead_management", "webinars"],
        "recruitment": ["recruitment"],
    }


def test_r_pol_1_bases_and_roles_as_the_statement_says(shipped_policy: Policy) -> None:
    purpose = shipped_policy.purpose
    assert purpose("marketing_email").basis == LegalBasis.CONSENT
    assert purpose("profiling").basis == LegalBasis.LEGITIMATE_INTEREST
    assert purpose("lead_management").basis == LegalBasis.LEGITIMATE_INTEREST
    assert purpose("webinars").basis == LegalBasis.LEGITIMATE_INTEREST
    assert purpose("recruitment").basis == LegalBasis.CONTRACT
    assert purpose("fiscal_retention").basis == LegalBasis.LEGAL_OBLIGATION
    assert purpose("expense_claims").role == Role.PROCESSOR
    assert purpose("orders").role == Role.CONTROLLER
    assert {p.basis for p in shipped_policy.purposes} == set(LegalBasis)


def test_r_pol_1_retention_defaults(shipped_policy: Policy) -> None:
    claims = shipped_policy.retention_rules_for("financial", "expense_claims")
    assert [(r.trigger, r.term) for r in claims] == [(Trigger.FISCAL_YEAR_END_OF_SETTLEMENT, Term(years=7))]
    assert claims[0].keep_on_erasure
    (marketing,) = shipped_policy.retention_rules_for("basic", "marketing_email")
    assert (marketing.trigger, marketing.term) == (Trigger.LAST_ACTIVITY, Term(months=36))
    assert marketing.activities == ["click", "form", "login", "purchase", "webinar_attendance"]
    not_by_person = {a.id for a in shipped_policy.activities if not a.by_person}
    assert not_by_person == {"mail_sent", "mail_opened"}
    (applications,) = shipped_policy.retention_rules_for("application", "recruitment")
    assert (applications.trigger, applications.term, applications.with_consent) == (
        Trigger.PROCEDURE_END, Term(weeks=4), Term(years=1))
    (traffic,) = shipped_policy.retention_rules_for("web_traffic", "security")
    assert (traffic.trigger, traffic.term) == (Trigger.COLLECTED, Term(months=6))
    (accounts,) = shipped_policy.retention_rules_for("account", "accounts")
    assert (accounts.trigger, accounts.term) == (Trigger.CONTRACT_END, Term(years=1))


def test_r_pol_1_contacts_rights_and_routes(shipped_policy: Policy) -> None:
    assert shipped_policy.dpo.email == "dpo@benvitaal.nl"
    controller = shipped_policy.controller
    assert controller.name.nl == "benVitaal en haar dochterondernemingen"
    assert (controller.address.street, controller.address.postcode) == ("Australiëlaan 75", "6199AA")
    assert controller.phone == "+31 43 306 80 66"
    assert shipped_policy.supervisory_authority.name.nl == "Autoriteit Persoonsgegevens"
    opt_out = shipped_policy.right("marketing_opt_out")
    letters = [shipped_policy.withdrawal_route(r).letter for r in opt_out.routes]
    assert letters == ["a", "b", "c", "d"]
    assert {r.id for r in shipped_policy.rights} >= {"access", "portability", "rectification", "erasure",
                                                      "restriction", "objection", "complaint"}
    assert [c.id for c in shipped_policy.cookie_categories] == ["necessary", "analytics", "marketing"]
    assert shipped_policy.recipient("authorities").requires_order


def test_r_pol_1_processors_state_country_agreement_and_mechanism(shipped_policy: Policy) -> None:
    mechanisms = {p.transfer for p in shipped_policy.processors}
    assert mechanisms == {Transfer.EEA, Transfer.ADEQUACY, Transfer.SCC}
    assert all(p.agreement is not None for p in shipped_policy.processors)
    assert any(p.sub_processors for p in shipped_policy.processors)


def test_r_pol_1_no_special_categories_and_markers_for_the_guard(shipped_policy: Policy) -> None:
    assert all(c.special is False for c in shipped_policy.categories)
    ids = {s.id for s in shipped_policy.special_categories}
    assert ids == {"health", "religion", "ethnicity", "political_opinion", "trade_union", "sexual_orientation",
                   "biometric_genetic", "criminal_record"}
    health = next(s for s in shipped_policy.special_categories if s.id == "health")
    assert {"ziek", "ziekte", "diagnose", "zwanger", "medicatie", "burn-out"} <= set(health.markers.nl)
    assert {"sick leave", "diagnosis"} <= set(health.markers.en)


def test_r_pol_1_self_editable_fields(shipped_policy: Policy) -> None:
    assert shipped_policy.category("basic").self_editable == ["name", "address", "phone", "email",
                                                             "demographics"]
    assert shipped_policy.category("web_traffic").self_editable == []


def test_r_pol_1_unknown_id_lookup_suggests(shipped_policy: Policy) -> None:
    with pytest.raises(UnknownPolicyId, match="did you mean 'marketing_email'"):
        shipped_policy.purpose("marketing_mail")


def test_r_pol_1_retention_rules_for_any_purpose(shipped_policy: Policy) -> None:
    ids = {r.id for r in shipped_policy.retention_rules_for("basic")}
    assert ids == {"expense_claims", "marketing_contacts", "job_applications", "accounts"}
    assert shipped_policy.retention_rules_for("basic", "no_such_purpose") == []


@pytest.mark.parametrize(("term", "start", "end"), [
    (Term(months=1), date(2025, 1, 31), date(2025, 2, 28)),
    (Term(months=36), date(2024, 2, 29), date(2027, 2, 28)),
    (Term(years=7), date(2025, 12, 31), date(2032, 12, 31)),
    (Term(weeks=4), date(2025, 3, 1), date(2025, 3, 29)),
])
def test_r_pol_1_term_end_dates(term: Term, start: date, end: date) -> None:
    assert term.after(start) == end


def test_r_pol_3_a_changed_copy_gets_its_own_hash_and_lookups(shipped_policy):
    """Derived lookups are cached per policy object; a copy with other content must not inherit them."""
    before = (shipped_policy.content_hash, shipped_policy.purpose_ids, shipped_policy.purpose("profiling").id)
    fewer = shipped_policy.model_copy(update={"purposes": [p for p in shipped_policy.purposes if p.id != "quotes"]})
    assert fewer.content_hash != before[0] and "quotes" not in fewer.purpose_ids and "quotes" in before[1]

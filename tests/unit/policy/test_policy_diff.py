"""R-GOV-4: changes between policy versions are found, classified as material or not, and said in NL and EN."""

from __future__ import annotations

from typing import Any

import pytest

from kluis.policy.diff import Change, describe, diff, material, transfers
from kluis.policy.schemas import Category, DataField, LegalBasis, Policy, Processor, Recipient, Role, Term, Text


def with_rule(policy: Policy, rule_id: str, **update: Any) -> Policy:
    rules = [r.model_copy(update=update) if r.id == rule_id else r for r in policy.retention]
    return policy.model_copy(update={"retention": rules})


def with_purpose(policy: Policy, purpose_id: str, **update: Any) -> Policy:
    purposes = [p.model_copy(update=update) if p.id == purpose_id else p for p in policy.purposes]
    return policy.model_copy(update={"purposes": purposes})


def kinds(changes: tuple[Change, ...]) -> list[tuple[str, str, bool]]:
    return [(c.kind, c.subject, c.material) for c in changes]


def test_r_gov_4_same_policy_has_no_changes(shipped_policy: Policy) -> None:
    assert diff(shipped_policy, shipped_policy.model_copy()) == ()


def test_r_gov_4_shorter_retention_is_not_material(shipped_policy: Policy) -> None:
    changes = diff(shipped_policy, with_rule(shipped_policy, "marketing_contacts", term=Term(months=24)))
    assert kinds(changes) == [("retention_shorter", "marketing_contacts", False)]
    assert material(changes) == ()


def test_r_gov_4_longer_retention_is_material_and_asks_consent_again(shipped_policy: Policy) -> None:
    new = with_rule(shipped_policy, "marketing_contacts", term=Term(months=48))
    [change] = diff(shipped_policy, new)
    assert (change.key, change.material) == ("retention_longer:marketing_contacts", True)
    assert change.categories == ("basic", "interests", "account")
    assert change.renew == ("marketing_email",)  # the only consent purpose the rule keeps data for
    assert describe(change, shipped_policy, new, "nl") == (
        "Contactinformatie voor marketing, ook van potentiële klanten en geïnteresseerden: we bewaren langer, "
        "48 maanden na uw laatste geregistreerde activiteit (was: 36 maanden na uw laatste geregistreerde "
        "activiteit).")
    assert describe(change, shipped_policy, new, "en").startswith(
        "Contact information kept for marketing, including prospects and interested parties: we keep it longer, "
        "48 months after your last registered activity (was: 36 months")


def test_r_gov_4_longer_term_with_consent_is_material(shipped_policy: Policy) -> None:
    new = with_rule(shipped_policy, "job_applications", with_consent=Term(years=2))
    [change] = diff(shipped_policy, new)
    assert (change.key, change.material, change.renew) == ("retention_longer:job_applications.with_consent",
                                                           True, ())
    assert "2 jaar na afloop van de sollicitatieprocedure (met uw toestemming)" in describe(
        change, shipped_policy, new, "nl")


def test_r_gov_4_new_purpose_on_consent(shipped_policy: Policy) -> None:
    sms = shipped_policy.purpose("marketing_email").model_copy(update={
        "id": "sms_marketing", "name": Text(nl="Marketing per sms", en="Marketing by text message")})
    new = shipped_policy.model_copy(update={"purposes": [*shipped_policy.purposes, sms]})
    [change] = diff(shipped_policy, new)
    assert (change.key, change.material, change.categories, change.renew) == (
        "purpose_added:sms_marketing", True, ("basic",), ("sms_marketing",))
    assert describe(change, shipped_policy, new, "nl") == "Nieuw doel: Marketing per sms. Grondslag: uw toestemming."
    assert describe(change, shipped_policy, new, "en") == ("New purpose: Marketing by text message. "
                                                           "Legal basis: your consent.")


def test_r_gov_4_another_legal_basis(shipped_policy: Policy) -> None:
    new = with_purpose(shipped_policy, "profiling", basis=LegalBasis.CONSENT)
    [change] = diff(shipped_policy, new)
    assert (change.key, change.material, change.renew) == ("basis_changed:profiling", True, ("profiling",))
    assert describe(change, shipped_policy, new, "en") == (
        "Interest profiles (profiling): the legal basis becomes your consent (was: legitimate interest).")


def test_r_gov_4_new_category_for_a_purpose(shipped_policy: Policy) -> None:
    health = Category(id="location", name=Text(nl="Locatiegegevens", en="Location data"), special=False,
                      fields=[DataField(id="gps", name=Text(nl="GPS-positie", en="GPS position"))])
    new = with_purpose(shipped_policy.model_copy(update={"categories": [*shipped_policy.categories, health]}),
                       "marketing_email", categories=["basic", "location"])
    changes = diff(shipped_policy, new)
    assert kinds(changes) == [("purpose_categories_added", "marketing_email.location", True),
                              ("category_added", "location", True)]
    # Everyone whose data serves the purpose is told: their location would be used for it too.
    assert changes[0].categories == ("basic", "location") and changes[0].renew == ("marketing_email",)
    assert describe(changes[0], shipped_policy, new, "nl") == (
        "Marketingmails: hiervoor gebruiken we voortaan ook locatiegegevens.")


def test_r_gov_4_new_processor_in_a_new_country(shipped_policy: Policy) -> None:
    crm = Processor(id="crm", name="Klantbeheer KK", service=Text(nl="Klantbeheer", en="Customer management"),
                    country="JP", transfer="adequacy", categories=["basic", "account"])
    new = shipped_policy.model_copy(update={"processors": [*shipped_policy.processors, crm]})
    changes = diff(shipped_policy, new)
    assert kinds(changes) == [("processor_added", "crm", True), ("country_added", "JP", True)]
    assert changes[1].categories == ("basic", "account") and changes[1].renew == ()
    assert describe(changes[0], shipped_policy, new, "en") == (
        "A new processor: Klantbeheer KK (Customer management, Japan), for basic personal information and user "
        "information.")
    assert describe(changes[1], shipped_policy, new, "nl") == (
        "Gegevens gaan voortaan ook naar Japan: persoonlijke basisinformatie en gebruikersinformatie.")
    assert "JP" in transfers(new) and "JP" not in transfers(shipped_policy)


def test_r_gov_4_new_recipient_and_more_categories_for_one(shipped_policy: Policy) -> None:
    press = Recipient(id="press", name=Text(nl="Pers", en="Press"), description=Text(nl="x", en="x"),
                      kind="public", categories=["content"])
    recipients = [r.model_copy(update={"categories": [*r.categories, "financial"]}) if r.id == "group_companies"
                  else r for r in shipped_policy.recipients]
    new = shipped_policy.model_copy(update={"recipients": [*recipients, press]})
    assert kinds(diff(shipped_policy, new)) == [("recipient_categories_added", "group_companies", True),
                                                ("recipient_added", "press", True)]


def test_r_gov_4_removals_and_wording_are_not_material(shipped_policy: Policy) -> None:
    texts = shipped_policy.texts.model_copy(update={"intro": Text(nl="Nieuwe inleiding.", en="A new intro.")})
    new = shipped_policy.model_copy(update={"texts": texts, "processors": shipped_policy.processors[:-1]})
    changes = diff(shipped_policy, new)
    assert kinds(changes) == [("processor_removed", "web_analytics", False), ("reworded", "texts", False)]
    assert describe(changes[1], shipped_policy, new, "nl") == "Tekst aangepast: toelichting."
    assert describe(changes[0], shipped_policy, new, "en") == "An example processor is no longer our processor."


def test_r_gov_4_reworded_purpose_next_to_a_changed_one(shipped_policy: Policy) -> None:
    new = with_purpose(with_purpose(shipped_policy, "profiling", basis=LegalBasis.CONSENT), "orders",
                       description=Text(nl="Anders gezegd.", en="Put differently."))
    assert kinds(diff(shipped_policy, new)) == [("basis_changed", "profiling", True), ("reworded", "purposes", False)]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_gov_4_every_change_is_said_in_plain_words(shipped_policy: Policy, lang: str) -> None:
    new = with_rule(with_purpose(shipped_policy, "orders", role=Role.PROCESSOR), "web_traffic", term=Term(months=9))
    new = new.model_copy(update={"purposes": [p for p in new.purposes if p.id != "webinars"],
                                 "retention": [*new.retention[:-1]], "recipients": new.recipients[1:]})
    changes = diff(shipped_policy, new)
    assert {c.kind for c in changes} >= {"role_changed", "retention_longer", "purpose_removed", "rule_removed",
                                         "recipient_removed"}
    for change in changes:
        text = describe(change, shipped_policy, new, lang)  # type: ignore[arg-type]
        assert text and "{" not in text and "_" not in text, (change, text)

"""Due dates from the policy's retention rules, in Amsterdam calendar days (R-RET-1)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kluis.kit.clock import AMSTERDAM
from kluis.policy.loader import load_policy
from kluis.policy.schemas import Policy, Trigger
from kluis.retention import rules

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "benvitaal.yaml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SHIPPED)


def _rule(policy: Policy, rule_id: str):
    return next(r for r in policy.retention if r.id == rule_id)


def _ams(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=AMSTERDAM)


def test_r_ret_1_claim_settled_15_march_2024_is_due_1_january_2032(policy):
    rule = _rule(policy, "expense_claims")
    assert rules.due_on(rule, _ams(2024, 3, 15, 10)) == date(2032, 1, 1)
    assert rules.RuleBook(policy).due_at(rule, _ams(2024, 3, 15, 10)) == _ams(2032, 1, 1, 0)


def test_r_ret_1_fiscal_year_is_the_amsterdam_calendar_year_at_the_year_end(policy):
    """Settled at 23:30 UTC on 31 December is already 1 January in Amsterdam: the next fiscal year."""
    rule = _rule(policy, "expense_claims")
    assert rules.due_on(rule, _ams(2024, 12, 31, 23, 59)) == date(2032, 1, 1)
    assert rules.due_on(rule, datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == date(2033, 1, 1)
    assert rules.due_on(rule, _ams(2025, 1, 1, 0, 0)) == date(2033, 1, 1)


def test_r_ret_1_marketing_36_months_after_last_activity_with_month_end_clamping(policy):
    rule = _rule(policy, "marketing_contacts")
    assert rules.due_on(rule, _ams(2023, 3, 10, 14)) == date(2026, 3, 10)
    # A leap day plus 36 months: February 2027 has no 29th, so its last day.
    assert rules.due_on(rule, _ams(2024, 2, 29, 9)) == date(2027, 2, 28)
    assert rules.due_on(rule, _ams(2022, 8, 31, 9)) == date(2025, 8, 31)


def test_r_ret_1_due_at_is_midnight_amsterdam_in_winter_and_summer(policy):
    book = rules.RuleBook(policy)
    rule = _rule(policy, "marketing_contacts")
    winter = book.due_at(rule, _ams(2023, 1, 15, 12))
    summer = book.due_at(rule, _ams(2023, 7, 15, 12))
    assert winter == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)
    assert summer == datetime(2026, 7, 14, 22, 0, tzinfo=UTC)


def test_r_ret_1_web_traffic_six_months_after_collection(policy):
    rule = _rule(policy, "web_traffic")
    assert rule.trigger == Trigger.COLLECTED
    assert rules.due_on(rule, _ams(2025, 8, 31, 8)) == date(2026, 2, 28)
    assert rules.due_on(rule, _ams(2023, 8, 31, 8)) == date(2024, 2, 29)


def test_r_ret_1_applications_four_weeks_or_one_year_with_consent(policy):
    rule = _rule(policy, "job_applications")
    book = rules.RuleBook(policy)
    ended = _ams(2026, 3, 2, 17)
    assert book.due_at(rule, ended) == _ams(2026, 3, 30, 0)
    assert book.due_at(rule, ended, with_consent=True) == _ams(2027, 3, 2, 0)


def test_r_ret_1_accounts_one_year_after_contract_end_across_a_leap_day(policy):
    rule = _rule(policy, "accounts")
    assert rules.due_on(rule, _ams(2024, 2, 29, 17)) == date(2025, 2, 28)
    assert rules.due_on(rule, _ams(2023, 12, 31, 17)) == date(2024, 12, 31)


def test_r_ret_1_the_rule_follows_category_and_purpose(policy):
    book = rules.RuleBook(policy)
    assert book.rule("financial", ["expense_claims"]).id == "expense_claims"
    assert book.rule("basic", ["fiscal_retention"]).id == "expense_claims"
    assert book.rule("basic", ["marketing_email"]).id == "marketing_contacts"
    assert book.rule("basic", ["accounts"]).id == "accounts"
    assert book.rule("application", ["recruitment"]).id == "job_applications"
    assert book.rule("web_traffic", ["security"]).id == "web_traffic"
    # Kept for an account and for marketing: the first rule of the policy that covers it decides.
    assert book.rule("basic", ["accounts", "marketing_email"]).id == "marketing_contacts"
    assert book.rule("interests", ["accounts"]) is None


def test_r_ret_1_a_changed_term_gives_a_new_due_date(policy):
    rule = _rule(policy, "web_traffic")
    shorter = rule.model_copy(update={"term": rule.term.model_copy(update={"months": 3})})
    book = rules.RuleBook(policy)
    assert book.due_at(rule, _ams(2026, 1, 10, 9)) == _ams(2026, 7, 10, 0)
    assert book.due_at(shorter, _ams(2026, 1, 10, 9)) == _ams(2026, 4, 10, 0)


def test_r_ret_3_a_legal_obligation_comes_before_marketing_whatever_the_policy_order(policy):
    """A record kept for a legal obligation and for marketing is kept under the obligation, even when the policy
    lists the marketing rule first; without an obligation the policy order decides."""
    book = rules.RuleBook(policy.model_copy(update={"retention": list(reversed(policy.retention))}))
    assert book.rule("basic", ["lead_management", "fiscal_retention"]).id == "expense_claims"
    assert book.rule("basic", ["marketing_email", "expense_claims"]).id == "expense_claims"
    assert book.rule("basic", ["accounts", "marketing_email"]).id == "accounts"


def test_r_ret_1_only_a_source_that_is_the_person_counts_as_their_activity(policy):
    assert rules.RuleBook(policy).own_sources == {"direct"}
    since, collected = _ams(2026, 1, 15, 9), _ams(2025, 12, 31, 23)
    assert rules.inherited_activity(_ams(2024, 2, 29, 9), since, collected) == _ams(2024, 2, 29, 9)
    assert rules.inherited_activity(None, since, collected) == collected
    assert rules.inherited_activity(None, since, _ams(2026, 8, 1, 9)) == since

"""The policy's complaint term (R-GOV-2): 28 days shipped, four weeks when absent, refused outside 1–90."""

from __future__ import annotations

from kluis.policy.loader import load_policy


def test_r_gov_2_shipped_policy_answers_within_28_days(shipped_policy) -> None:
    assert shipped_policy.complaints.answer_within_days == 28


def test_r_gov_2_absent_term_defaults_to_four_weeks(lab) -> None:
    del lab.data["complaints"]
    assert load_policy(lab.write()).complaints.answer_within_days == 28


def test_r_gov_2_term_outside_one_to_ninety_days_is_refused(lab) -> None:
    for days in (0, 91, "vier weken"):
        lab.data["complaints"] = {"answer_within_days": days}
        assert lab.problem("complaints.answer_within_days")
    lab.data["complaints"] = {"answer_within_days": 14, "remind": True}
    assert lab.refused()

"""R-POL-3: every sentence that states a retention term takes it from the rule, in both languages; a term
written by hand in a text is refused (R-POL-2)."""

from __future__ import annotations

import json

import pytest

from kluis.policy.loader import load_policy
from kluis.policy.records import derive
from kluis.policy.render import render_statement
from kluis.policy.schemas import Policy

OLD = {"nl": "36 maanden", "en": "36 months"}
NEW = {"nl": "24 maanden", "en": "24 months"}


def everything_said(policy: Policy, lang: str) -> str:
    """All a person or an auditor reads of the policy in one language: the statement in both formats and the
    records of processing."""
    statements = [render_statement(policy, lang, fmt) for fmt in ("html", "md")]  # type: ignore[arg-type]
    records = derive(policy, lang, "1").registers()  # type: ignore[arg-type]
    return " ".join(" ".join(text.split()) for text in [*statements, json.dumps(records, ensure_ascii=False)])


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_pol_3_marketing_term_36_to_24_months_changes_every_sentence(shipped_policy: Policy, lab,
                                                                       lang: str) -> None:
    before = everything_said(shipped_policy, lang)
    stated = before.count(OLD[lang])
    # The statement's table, the rule's own reason sentence (HTML and Markdown) and the Art. 30 rows.
    assert stated >= 4
    lab.item("retention", "marketing_contacts")["term"] = {"months": 24}
    after = everything_said(load_policy(lab.write()), lang)
    assert OLD[lang] not in after
    assert after.count(NEW[lang]) == stated + before.count(NEW[lang])


def test_r_pol_3_reason_sentences_follow_their_rule(shipped_policy: Policy) -> None:
    shown = render_statement(shipped_policy, "nl", "md") + render_statement(shipped_policy, "en", "md")
    flat = " ".join(shown.split())
    assert "uiterlijk 36 maanden na de laatste geregistreerde activiteit vernietigd" in flat
    assert "destroyed at the latest 36 months after the last registered activity" in flat
    assert "bewaren we uw sollicitatie 1 jaar voor toekomstige vacatures" in flat
    assert "fiscale bewaarplicht van 7 jaar" in flat and "keep records for 7 years" in flat
    assert "{term:" not in flat and "{with_consent:" not in flat


@pytest.mark.parametrize("text", ["Bewaard tot 36 maanden na uw laatste activiteit.", "Kept for 7 years.",
                                  "Na 4 weken verwijderd."])
def test_r_pol_2_term_written_by_hand_refused(lab, text: str) -> None:
    lab.item("retention", "marketing_contacts")["reason"] = {"nl": text, "en": "Kept {term:marketing_contacts}."}
    problem = lab.problem("retention.marketing_contacts.reason.nl")
    assert problem.code == "term_by_hand"
    assert "{term:RULE}" in problem.message


def test_r_pol_2_term_placeholder_of_an_unknown_rule_refused(lab) -> None:
    lab.item("retention", "marketing_contacts")["reason"] = {"nl": "Na {term:marketing}.", "en": "After {term:x}."}
    problem = lab.problem("retention.marketing_contacts.reason.nl")
    assert problem.code == "unknown_placeholder"
    assert "term:marketing_contacts" in problem.message  # did you mean


def test_r_pol_2_with_consent_placeholder_needs_a_term_with_consent(lab) -> None:
    lab.item("retention", "web_traffic")["reason"] = {"nl": "{with_consent:web_traffic}", "en": "x"}
    assert lab.problem("retention.web_traffic.reason.nl").code == "unknown_placeholder"

"""The report in an access package (R-DSR-3): every Art. 15 fact, in Dutch and in English, from the policy."""

import io
from datetime import UTC, datetime

import pytest

from kluis.config import DEFAULT_POLICY_FILE
from kluis.policy.loader import load_policy
from kluis.policy.render import term_text
from kluis.rights.packages.report import ReportFacts, render_report_html, render_report_pdf, report_view

POLICY = load_policy(DEFAULT_POLICY_FILE)


def _facts(**changes):
    facts = {"counts": {"basic": 2, "financial": 1}, "purposes": {"expense_claims", "accounts"},
             "sources": {"basic": {"direct"}, "financial": {"employer"}},
             "made_at": datetime(2026, 7, 1, 22, 30, tzinfo=UTC), "policy_version": "3 (sha256:abcd1234…)"}
    return ReportFacts(**(facts | changes))


def _text(view):
    parts = [view["title"], *view["header"]]
    for section in view["sections"]:
        parts += [section["heading"], *section["paragraphs"], *section["after"]]
        if section["table"]:
            parts += [cell for row in [section["table"]["header"], *section["table"]["rows"]] for cell in row]
    return "\n".join(parts)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_dsr_3_report_names_purposes_categories_retention_and_authority(lang):
    text = _text(report_view(POLICY, lang, _facts()))
    for purpose in ("expense_claims", "accounts"):
        assert POLICY.purpose(purpose).name.get(lang) in text
    for category in ("basic", "financial"):
        assert POLICY.category(category).name.get(lang) in text
    rule = next(r for r in POLICY.retention if r.id == "expense_claims")
    assert term_text(rule.term, lang) in text and rule.name.get(lang) in text
    assert "Autoriteit Persoonsgegevens" in text and "dpo@benvitaal.nl" in text
    assert "3 (sha256:abcd1234…)" in text


def test_r_dsr_3_made_at_is_shown_in_amsterdam_time():
    assert "2 juli 2026 00:30" in _text(report_view(POLICY, "nl", _facts()))
    assert "2 July 2026 00:30" in _text(report_view(POLICY, "en", _facts()))


def test_r_dsr_3_your_purposes_lists_only_the_purposes_on_records():
    view = report_view(POLICY, "en", _facts(purposes={"accounts"}))
    mine = next(s for s in view["sections"] if s["heading"] == "What we use your data for")
    assert [row[0] for row in mine["table"]["rows"]] == [POLICY.purpose("accounts").name.en]
    everything = next(s for s in view["sections"] if s["heading"] == "All purposes in our privacy statement")
    assert len(everything["table"]["rows"]) == len(POLICY.purposes)


def test_r_dsr_3_no_disclosures_and_no_consents_are_said_plainly():
    text = _text(report_view(POLICY, "nl", _facts()))
    assert "Er zijn geen verstrekkingen van uw gegevens aan anderen vastgelegd." in text
    assert "U heeft geen toestemming gegeven of ingetrokken." in text


def test_r_dsr_3_html_escapes_and_pdf_is_a_pdf():
    view = report_view(POLICY, "en", _facts(consents=[
        {"purpose": "marketing_email", "action": "given", "at": "2026-01-01T10:00:00+00:00",
         "method": "<form>"}]))
    html = render_report_html(view)
    assert "&lt;form&gt;" in html and "<form>" not in html
    out = io.BytesIO()
    render_report_pdf(view, out)
    assert out.getvalue().startswith(b"%PDF") and out.getvalue().rstrip().endswith(b"%%EOF")


def test_r_dsr_3_retention_shows_the_rules_for_the_purposes_the_data_is_held_for():
    view = report_view(POLICY, "en", _facts(counts={"basic": 1}, category_purposes={"basic": {"accounts"}}))
    retention = next(s for s in view["sections"] if s["heading"] == "How long we keep your data")
    [(category, terms, erased)] = retention["table"]["rows"]
    assert category == POLICY.category("basic").name.en
    assert "1 year after the end of the contract" in terms and "36 months" not in terms
    assert erased == ""  # no due dates gathered in these facts: nothing to say


def test_r_dsr_3_retention_names_the_erasure_day_or_range_or_why_not_dated():
    """R-DSR-3: per category, the day Kluis erases it, or the first and last day, or why it cannot be dated."""
    view = report_view(POLICY, "nl", _facts(
        counts={"basic": 3, "web_traffic": 2}, category_purposes={"basic": {"accounts"}},
        erasure_dates=[{"category": "basic", "rule": "accounts", "first": None, "last": None, "undated": 3},
                       {"category": "web_traffic", "rule": "web_traffic", "first": "2027-02-28",
                        "last": "2027-02-28", "undated": 0}],
        holds=[{"scope": "category", "category": "web_traffic", "reason": "investigation",
                "created_at": "2026-11-01T09:00:00+00:00", "until": None}]))
    retention = next(s for s in view["sections"] if s["heading"] == "Hoe lang we uw gegevens bewaren")
    rows = {row[0]: row[2] for row in retention["table"]["rows"]}
    assert rows[POLICY.category("basic").name.nl] == (
        "3 nog niet te dateren: de termijn is 1 jaar na het einde van de overeenkomst, en dat is nog niet gebeurd.")
    assert rows[POLICY.category("web_traffic").name.nl].splitlines() == [
        "Op 28 februari 2027.",
        "Een juridische blokkade (legal hold) houdt ze nu vast, zonder einddatum; daarna verwijderen we ze "
        "volgens de termijn hierboven."]

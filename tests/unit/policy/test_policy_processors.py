"""R-SHR-2: the processors register as pure rules. An inconsistent register is refused with a clear reason; whether a
processor may receive data is decided per Amsterdam day; the statement shows no example company as real and states
its transfers from the register itself (R-POL-3)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kluis.kit.i18n import speaking, translate
from kluis.policy.agreements import agreements, amsterdam_day, reminders_due, share_refusal
from kluis.policy.diff import describe, diff
from kluis.policy.loader import load_policy
from kluis.policy.render import render_statement, transfers_text
from kluis.policy.schemas import Agreement, Policy, Processor, Transfer


def _real(policy: Policy, **update: object) -> Policy:
    """The shipped register with its entries taken as real."""
    return policy.model_copy(update={"processors": [p.model_copy(update={"demo": False, **update})
                                                    for p in policy.processors]})


def _processor(policy: Policy, processor_id: str, **update: object) -> Processor:
    return policy.processor(processor_id).model_copy(update=update)


@pytest.mark.parametrize(("change", "path", "code"), [
    (lambda p: p["agreement"].update(ends="2023-01-31"), "processors.hosting.agreement.ends",
     "agreement_ends_before_signed"),
    (lambda p: p.update(country="US", transfer="scc"), "processors.hosting.scc_version", "scc_without_version"),
    (lambda p: p.update(scc_version="2021/914"), "processors.hosting.scc_version", "unused_scc_version"),
    (lambda p: p.update(country="US", transfer="eea"), "processors.hosting.transfer", "transfer_without_safeguard"),
    (lambda p: p.update(country="XY"), "processors.hosting.country", "unknown_country"),
    (lambda p: p["sub_processors"][0].update(country="US", transfer="scc"),
     "processors.hosting.sub_processors.0.scc_version", "scc_without_version"),
])
def test_r_shr_2_an_inconsistent_register_is_refused_with_a_clear_reason(lab, change, path, code) -> None:
    change(lab.item("processors", "hosting"))
    problem = lab.problem(path)
    assert problem.code == code and problem.line is not None


def test_r_shr_2_the_scc_version_must_look_like_a_commission_decision(lab) -> None:
    lab.item("processors", "webinar_platform")["scc_version"] = "2021"
    assert lab.problem("processors.webinar_platform.scc_version").code.startswith("schema_")


def test_r_shr_2_an_unsigned_agreement_with_an_end_is_a_consistent_register(lab) -> None:
    lab.item("processors", "hosting")["agreement"] = {"reference": "VWO-2026-001", "ends": "2028-12-31"}
    assert load_policy(lab.write()).processor("hosting").agreement.signed is None


def test_r_shr_2_sharing_is_decided_per_amsterdam_day(shipped_policy: Policy) -> None:
    agreement = Agreement(reference="VWO-1", signed=date(2024, 3, 11), ends=date(2027, 3, 31))
    processor = _processor(shipped_policy, "hosting", agreement=agreement)
    assert share_refusal(processor, date(2024, 3, 10)).code == "agreement_not_in_force"
    assert share_refusal(processor, date(2024, 3, 11)) is None
    assert share_refusal(processor, date(2027, 3, 31)) is None
    assert share_refusal(processor, date(2027, 4, 1)).code == "agreement_expired"
    # 31 March 2027, 23:30 in Amsterdam (CEST) is still the last day; 22:00 UTC is midnight there.
    assert amsterdam_day(datetime(2027, 3, 31, 21, 30, tzinfo=UTC)) == date(2027, 3, 31)
    assert amsterdam_day(datetime(2027, 3, 31, 22, 0, tzinfo=UTC)) == date(2027, 4, 1)


@pytest.mark.parametrize(("update", "code"), [
    ({"agreement": None}, "agreement_missing"),
    ({"agreement": Agreement(reference="VWO-2")}, "agreement_unsigned"),
    ({"country": "US", "transfer": Transfer.EEA}, "transfer_without_safeguard"),
    ({"country": "CN", "transfer": Transfer.ADEQUACY}, "transfer_without_safeguard"),
    ({"country": "US", "transfer": Transfer.SCC}, "scc_without_version"),
])
def test_r_shr_2_no_agreement_or_no_lawful_transfer_refuses_the_share(shipped_policy: Policy, update, code) -> None:
    refusal = share_refusal(_processor(shipped_policy, "hosting", **update), date(2026, 11, 25))
    assert refusal is not None and refusal.code == code and refusal.reason


def test_r_shr_2_lawful_transfers_outside_the_eea_are_allowed(shipped_policy: Policy) -> None:
    day = date(2026, 11, 25)
    assert share_refusal(shipped_policy.processor("webinar_platform"), day) is None  # US, SCC 2021/914
    assert share_refusal(shipped_policy.processor("recruitment_system"), day) is None  # GB, adequacy


def test_r_shr_2_reminders_fall_60_and_14_days_before_the_last_day(shipped_policy: Policy) -> None:
    ends = Agreement(reference="VWO-3", signed=date(2024, 1, 1), ends=date(2027, 3, 31))
    policy = shipped_policy.model_copy(update={"processors": [_processor(shipped_policy, "hosting", agreement=ends)]})
    assert reminders_due(policy, date(2027, 1, 29)) == []  # 61 days left
    assert [d for _, _, d in reminders_due(policy, date(2027, 1, 30))] == [60]
    assert [d for _, _, d in reminders_due(policy, date(2027, 3, 16))] == [60]
    assert [d for _, _, d in reminders_due(policy, date(2027, 3, 17))] == [14]
    assert [d for _, _, d in reminders_due(policy, date(2027, 3, 31))] == [14]
    assert reminders_due(policy, date(2027, 4, 1)) == []  # ended


def test_r_shr_2_agreements_ending_soonest_come_first(shipped_policy: Policy) -> None:
    states = agreements(shipped_policy, date(2030, 11, 25))
    assert states[0].processor.id == "webinar_platform" and states[0].days_left == 51 and states[0].ending_soon
    assert not states[1].ending_soon
    assert states[-1].days_left is None and not states[-1].ending_soon


@pytest.mark.parametrize(("lang", "notice", "fact"), [
    ("nl", "Het register van verwerkers bevat nog voorbeeldgegevens en wordt daarom hier niet getoond.",
     "nog niet vastgesteld"),
    ("en", "The register of processors still holds example data, so it is not shown here.", "not yet established"),
])
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_r_shr_2_a_demo_register_is_not_shown_as_real_companies(shipped_policy: Policy, lang, notice, fact,
                                                                  fmt) -> None:
    text = " ".join(render_statement(shipped_policy, lang, fmt).split())
    assert notice in text and fact in text
    for processor in shipped_policy.processors:
        assert processor.name not in text
        assert all(sub.name not in text for sub in processor.sub_processors)


def test_r_shr_2_only_the_demo_entries_of_a_partly_real_register_are_left_out(shipped_policy: Policy) -> None:
    policy = shipped_policy.model_copy(update={"processors": [
        p.model_copy(update={"demo": p.id != "hosting"}) for p in shipped_policy.processors]})
    text = " ".join(render_statement(policy, "en", "html").split())
    assert "Datacenter Zuid B.V." in text and "WebinarStream" not in text
    assert "Entries that are still example data are not shown here." in text


def test_r_pol_3_the_transfer_sentence_follows_the_register(shipped_policy: Policy) -> None:
    real = _real(shipped_policy)
    assert transfers_text(real, "en") == ("United Kingdom (EU adequacy decision) and United States (EU model clauses "
                                          "(SCC), version 2021/914)")
    assert transfers_text(real, "nl") == ("Verenigd Koninkrijk (adequaatheidsbesluit van de EU) en Verenigde Staten "
                                          "(modelclausules van de EU (SCC), versie 2021/914)")
    moved = real.model_copy(update={"processors": [
        p.model_copy(update={"country": "JP", "transfer": Transfer.ADEQUACY, "scc_version": None})
        if p.id == "webinar_platform" else p for p in real.processors]})
    assert "Japan (EU adequacy decision)" in " ".join(render_statement(moved, "en", "md").split())
    inside = real.model_copy(update={"processors": [real.processor("hosting")]})
    assert transfers_text(inside, "en").startswith("none")


def test_r_pol_3_fields_added_to_the_register_leave_the_content_of_older_versions_alone(shipped_policy: Policy
                                                                                        ) -> None:
    """A stored version's content hash is computed again when it is read: unset new fields are not part of it."""
    dumped = shipped_policy.processor("web_analytics").model_copy(update={"demo": False}).model_dump(mode="json")
    assert "demo" not in dumped and "scc_version" not in dumped and "ends" not in dumped["agreement"]


def test_r_shr_2_the_history_does_not_name_a_demo_processor_as_a_company(shipped_policy: Policy) -> None:
    old = shipped_policy.model_copy(update={"processors": [p for p in shipped_policy.processors
                                                           if p.id != "webinar_platform"]})
    said = [describe(c, old, shipped_policy, "en") for c in diff(old, shipped_policy)]
    assert any("An example processor" in text for text in said), said
    assert not any("WebinarStream" in text for text in said)
    real = _real(shipped_policy)
    said = [describe(c, _real(old), real, "en") for c in diff(_real(old), real)]
    assert any("WebinarStream Inc." in text for text in said)


@pytest.mark.parametrize(("update", "dutch"), [
    ({"country": "US", "transfer": Transfer.EEA}, "'US' ligt buiten de EER"),
    ({"country": "CN", "transfer": Transfer.ADEQUACY}, "geen adequaatheidsbesluit van de EU geldt voor 'CN'"),
    ({"country": "US", "transfer": Transfer.SCC}, "bij doorgifte 'scc' hoort de versie"),
])
def test_r_shr_2_a_transfer_gap_refusal_is_said_in_dutch_on_dutch_pages(shipped_policy: Policy, update,
                                                                        dutch) -> None:
    """Issue 17 §3 / R-SHR-2: the refusal of a share for a transfer gap (and a sub-processor's) is a marked message:
    the API keeps the English, a Dutch console page says it in Dutch."""
    refusal = share_refusal(_processor(shipped_policy, "hosting", **update), date(2026, 6, 1))
    sub = shipped_policy.processor("hosting").sub_processors[0].model_copy(update=update)
    of_sub = share_refusal(_processor(shipped_policy, "hosting", sub_processors=[sub]), date(2026, 6, 1))
    assert refusal is not None and of_sub is not None
    assert "EEA" in refusal.reason or "EU" in refusal.reason  # English as stored and on the API
    with speaking("nl"):
        assert dutch in translate(refusal.reason)
        assert translate(of_sub.reason).startswith(f"subverwerker {sub.name}: ") and dutch in translate(of_sub.reason)

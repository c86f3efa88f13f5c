"""The gate's decision from the policy and a person's facts (R-GATE-1, R-DSR-7)."""

from datetime import UTC, datetime, timedelta

import pytest

from kluis.config import DEFAULT_POLICY_FILE
from kluis.gate.rules import PENDING, Facts, decide, is_absolute
from kluis.policy.loader import load_policy

POLICY = load_policy(DEFAULT_POLICY_FILE)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
EMPLOYMENT = {"kind": "employment", "employer_id": "e1", "starts_at": NOW - timedelta(days=300), "ends_at": None}
ACCOUNT = {"kind": "account", "employer_id": None, "starts_at": NOW - timedelta(days=30), "ends_at": None}


def given(purpose="marketing_email"):
    return {purpose: {"id": "c1", "state": "given", "policy_version": 1}}


def test_r_gate_1_consent_needs_a_current_consent():
    assert decide(POLICY, "marketing_email", Facts(), NOW).reason == "no_consent"
    ok = decide(POLICY, "marketing_email", Facts(consents=given()), NOW)
    assert ok.allowed and ok.reason == "consent" and ok.facts["consent_id"] == "c1"
    withdrawn = {"marketing_email": {"id": "c2", "state": "withdrawn", "policy_version": 1}}
    assert decide(POLICY, "marketing_email", Facts(consents=withdrawn), NOW).reason == "consent_withdrawn"


@pytest.mark.parametrize("scope", ["profiling", "legitimate_interest", "marketing"])
def test_r_gate_1_legitimate_interest_refused_after_objection(scope):
    assert decide(POLICY, "profiling", Facts(), NOW).allowed
    refused = decide(POLICY, "profiling", Facts(objections=frozenset({scope})), NOW)
    assert not refused.allowed and refused.reason == "objected" and refused.facts["objection"] == scope


def test_r_gate_1_an_objection_being_assessed_refuses_with_its_own_reason():
    """R-GATE-1 / R-DSR-7 (Art. 21(1)): stopped while the DPO assesses; an objection in force says so first."""
    pending = Facts(objections=frozenset({PENDING + "legitimate_interest"}))
    refused = decide(POLICY, "security", pending, NOW)
    assert (refused.allowed, refused.reason, refused.facts["objection"]) == (False, "objection_pending",
                                                                              "legitimate_interest")
    both = Facts(objections=frozenset({PENDING + "legitimate_interest", "profiling"}))
    assert decide(POLICY, "profiling", both, NOW).reason == "objected"
    assert decide(POLICY, "accounts", pending, NOW).reason == "no_active_relation"


def test_r_gate_1_objections_to_direct_marketing_and_profiling_are_absolute():
    assert is_absolute(POLICY, "marketing") and is_absolute(POLICY, "profiling")
    assert not is_absolute(POLICY, "legitimate_interest") and not is_absolute(POLICY, "security")


def test_r_gate_1_objection_to_one_purpose_leaves_others():
    facts = Facts(objections=frozenset({"profiling"}))
    assert decide(POLICY, "security", facts, NOW).allowed
    assert decide(POLICY, "support", facts, NOW).allowed


def test_r_gate_1_marketing_objection_is_absolute_even_with_consent():
    facts = Facts(objections=frozenset({"marketing"}), consents=given())
    assert decide(POLICY, "marketing_email", facts, NOW).reason == "objected"


def test_r_gate_1_contract_needs_an_active_relation():
    assert decide(POLICY, "accounts", Facts(), NOW).reason == "no_active_relation"
    assert decide(POLICY, "accounts", Facts(relations=(ACCOUNT,)), NOW).allowed
    ended = dict(ACCOUNT, ends_at=NOW)
    assert decide(POLICY, "accounts", Facts(relations=(ended,)), NOW).reason == "no_active_relation"
    future = dict(ACCOUNT, starts_at=NOW + timedelta(seconds=1))
    assert not decide(POLICY, "accounts", Facts(relations=(future,)), NOW).allowed


def test_r_gate_1_processor_data_only_on_the_employers_instruction():
    assert decide(POLICY, "expense_claims", Facts(relations=(ACCOUNT,)), NOW).reason == "no_employer_instruction"
    ok = decide(POLICY, "expense_claims", Facts(relations=(EMPLOYMENT,)), NOW)
    assert ok.allowed and ok.role == "processor" and ok.facts["relation"] == "employment"


def test_r_dsr_7_restricted_person_may_only_be_stored():
    facts = Facts(restricted=True, relations=(EMPLOYMENT, ACCOUNT), consents=given())
    for purpose in ("accounts", "marketing_email", "security", "expense_claims", "profiling"):
        decision = decide(POLICY, purpose, facts, NOW)
        assert not decision.allowed and decision.reason == "restricted", purpose


def test_r_gate_1_legal_obligation_allowed_for_its_own_purpose_only():
    facts = Facts(restricted=True, objections=frozenset({"legitimate_interest"}))
    assert decide(POLICY, "fiscal_retention", facts, NOW).allowed
    assert decide(POLICY, "fiscal_retention", facts, NOW).reason == "legal_obligation"
    assert not decide(POLICY, "expense_claims", facts, NOW).allowed


def test_r_gate_1_unknown_purpose_person_and_erased_person_refused():
    assert decide(POLICY, "marketng", Facts(), NOW).reason == "purpose_unknown"
    assert decide(POLICY, "security", Facts(exists=False), NOW).reason == "person_unknown"
    assert decide(POLICY, "fiscal_retention", Facts(erased=True), NOW).reason == "person_erased"


def test_r_gate_1_facts_read_as_stored_text_decide_as_decoded_facts():
    """Facts built from the stored JSON text (decoded only when a decision needs it) decide as decoded ones."""
    import json

    stored = [{**r, "starts_at": r["starts_at"].isoformat(), "ends_at": None} for r in (EMPLOYMENT, ACCOUNT)]
    consents = {**given(), **given("profiling")}
    for objections in (frozenset(), frozenset({"profiling"}), frozenset({"marketing"})):
        decoded = Facts(objections=objections, consents=consents, relations=(EMPLOYMENT, ACCOUNT))
        for purpose in POLICY.purpose_ids:
            text = Facts(objections=json.dumps(sorted(objections)), consents=json.dumps(consents),
                         relations=json.dumps(stored))
            assert decide(POLICY, purpose, text, NOW) == decide(POLICY, purpose, decoded, NOW)
    empty = Facts(objections="[]", consents="{}", relations="[]")
    assert (empty.objections, dict(empty.consents), empty.relations) == (frozenset(), {}, ())


def test_r_gate_1_a_batch_leaves_the_cycle_collector_as_it_found_it():
    """decide_many holds Python's cycle collector off during a batch only: afterwards it is on again, or
    still off when the caller had turned it off."""
    import gc

    from kluis.kit.heap import cycle_collector_paused

    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), cycle_collector_paused():
        raise RuntimeError("a failing batch")
    assert gc.isenabled()


def test_r_gate_1_batches_in_two_threads_that_interleave_leave_the_collector_on():
    """Two server threads deciding batches at once: the first to end must not turn the collector back on
    while the other still runs, and the last to end must not leave it off for good."""
    import gc
    import threading

    from kluis.kit.heap import cycle_collector_paused

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with cycle_collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with cycle_collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first batch ended; this one still runs

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()

"""Erasure meets retention (R-RET-3, R-DSR-6): the fiscal duty keeps settled claims until 1 January of the
8th year, restricted, and the sweep erases them then without a new request; legal holds win over erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from tests.integration.erasure.erasure_support import person_with_everything, records_of

from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.rules import JobState, Reason
from kluis.retention import holds
from kluis.retention import service as retention
from kluis.retention.sweep import sweep
from kluis.vault.models import Person, Record


def settle_claims(kluis, person_id, at):
    with kluis.db.transaction() as session:
        claims = list(session.scalars(select(Record.id).where(Record.person_id == person_id,
                                                              Record.category == "financial")))
        retention.record_event(session, kluis.clock, kluis.policy, "test", person_id, "settled", at=at,
                               record_ids=claims)


def erase(kluis, person_id):
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.REQUEST, "test").id
    return erasure.Runner(kluis, "test").run(job_id)


def test_claims_kept_until_the_fiscal_term_then_swept_and_the_person_shredded_r_ret_3(kluis, clock):
    """R-RET-3: settled 15 March 2025 -> kept until 1 January 2033 (7 years after the fiscal year), restricted;
    on that day the sweep erases them and, nothing being left, destroys the person's key."""
    person_id, _ = person_with_everything(kluis, claims=2)
    settle_claims(kluis, person_id, datetime(2025, 3, 15, 10, 0, tzinfo=UTC))
    job = erase(kluis, person_id)
    facts = certificate.verify(job.certificate)
    assert [(k["category"], k["records"], k["until"]) for k in facts["kept"]] == [("financial", 2, "2033-01-01")]
    clock.set(datetime(2032, 12, 31, 22, 59, tzinfo=UTC))  # 23:59 in Amsterdam: still 2032
    assert sweep(kluis, "test").records == 0
    assert len(records_of(kluis, person_id)) == 2
    clock.set(datetime(2032, 12, 31, 23, 0, tzinfo=UTC))  # midnight in Amsterdam: 1 January 2033
    assert sweep(kluis, "test").records == 2
    assert records_of(kluis, person_id) == []
    with kluis.db.sessions() as session:
        assert session.get(Person, person_id).shredded_at is not None
        assert kluis.keystore.data_keys(session, [person_id]) == {}


def test_a_claim_past_its_fiscal_term_is_erased_with_the_rest_r_ret_3(kluis):
    """R-RET-3: the obligation keeps a claim only until its term ends (settled 2017 -> due 1 January 2025)."""
    person_id, _ = person_with_everything(kluis, claims=1, settled=datetime(2017, 6, 1, tzinfo=UTC))
    settle_claims(kluis, person_id, datetime(2017, 6, 1, tzinfo=UTC))
    job = erase(kluis, person_id)
    assert certificate.verify(job.certificate)["kept"] == []
    assert records_of(kluis, person_id) == []
    with kluis.db.sessions() as session:
        assert session.get(Person, person_id).shredded_at is not None


def test_a_hold_on_the_person_stops_the_erasure_until_released_r_ret_3(kluis):
    """R-RET-3: a legal hold on the person: the job waits and says why; nothing is erased; after release it runs."""
    person_id, _ = person_with_everything(kluis, claims=0)
    held = len(records_of(kluis, person_id))
    with kluis.db.transaction() as session:
        hold_id = holds.place(session, kluis.clock, kluis.policy, "dpo", scope="person", reason="litigation",
                              person_id=person_id, reference="zaak 2026/114").id
    job = erase(kluis, person_id)
    assert job.state == JobState.WAITING and "litigation" in job.last_error and "zaak 2026/114" in job.last_error
    assert len(records_of(kluis, person_id)) == held
    with kluis.db.transaction() as session:
        holds.release(session, kluis.clock, "dpo", hold_id)
    assert erasure.Runner(kluis, "test").run(job.id).state == JobState.DONE
    assert records_of(kluis, person_id) == []


def test_a_hold_on_a_category_keeps_that_category_restricted_r_ret_3(kluis):
    """R-RET-3: a hold on one category keeps those records (restricted, reported with the hold's reason);
    the rest is erased."""
    person_id, _ = person_with_everything(kluis, claims=0)
    with kluis.db.transaction() as session:
        holds.place(session, kluis.clock, kluis.policy, "dpo", scope="category", reason="investigation",
                    category="interests", until=datetime(2027, 6, 30, 22, 0, tzinfo=UTC))
    job = erase(kluis, person_id)
    facts = certificate.verify(job.certificate)
    assert [(k["category"], k["rule"], k["until"]) for k in facts["kept"]] == [
        ("interests", "legal_hold", "2027-07-01")]
    assert [r.category for r in records_of(kluis, person_id)] == ["interests"]
    with kluis.db.sessions() as session:
        gate = kluis.gate(session, "test")
        assert not gate.decide(person_id, "lead_management").allowed


def test_on_the_evening_of_31_december_utc_a_claim_due_on_1_january_is_already_due_r_ret_3(kluis, clock):
    """R-RET-3: at 23:30 UTC on 31 December 2032 it is 1 January 2033 in Amsterdam: the claim's term has ended,
    so the erasure takes it too (as the sweep would), instead of keeping it a day longer."""
    person_id, _ = person_with_everything(kluis, claims=1)
    settle_claims(kluis, person_id, datetime(2025, 3, 15, 10, 0, tzinfo=UTC))
    clock.set(datetime(2032, 12, 31, 23, 30, tzinfo=UTC))
    job = erase(kluis, person_id)
    assert certificate.verify(job.certificate)["kept"] == []
    assert records_of(kluis, person_id) == []

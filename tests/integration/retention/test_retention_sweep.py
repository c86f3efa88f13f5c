"""The sweep erases what is due, at the boundary, and nothing else; holds and legal obligations win over
erasure; the dry run says exactly what the sweep then does (R-RET-2, R-RET-3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from tests.helpers import sealed_log
from tests.integration.retention.retention_support import ams, employer, erased, person, record, records_of

from kluis.audit.models import AuditEvent
from kluis.kit.ids import new_id
from kluis.retention import holds, service, sweep
from kluis.retention.models import SweepRun
from kluis.rights.models import Rectification
from kluis.vault.models import Identifier
from kluis.worker import drain, pollers

MINUTE = timedelta(minutes=1)


SWEEP_ACTIONS = ["retention.sweep_started", "retention.swept", "retention.sweep_finished"]


def _swept_events(kluis):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action.in_(SWEEP_ACTIONS))
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


def test_r_ret_2_marketing_contact_is_erased_on_the_day_36_months_end_and_not_a_minute_before(kluis, clock):
    clock.set(ams(2024, 2, 29, 18))
    pid, ids = person(kluis, "marketing", "profile", email="lead@example.nl", last_activity=ams(2024, 2, 29, 9))
    clock.set(ams(2027, 2, 28, 0) - MINUTE)
    report = sweep.sweep(kluis)
    assert report.records == 0 and len(records_of(kluis, pid)) == 2 and not erased(kluis, pid)
    clock.set(ams(2027, 2, 28, 0))
    report = sweep.sweep(kluis)
    assert report.records == 2 and report.people == 1
    assert report.per_rule["marketing_contacts"].records == 2
    assert records_of(kluis, pid) == [] and erased(kluis, pid)
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identifier).where(Identifier.person_id == pid)) == 0


def test_r_ret_2_a_settled_claim_stays_through_the_fiscal_term_and_goes_on_1_january(kluis, clock):
    clock.set(ams(2024, 3, 1, 9))
    boss = employer(kluis)
    pid, ids = person(kluis, "claim", "account", employer_id=boss)
    clock.set(ams(2024, 4, 1, 9))
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", pid, "settled", ams(2024, 3, 15, 10),
                             [ids["claim"]])
        service.record_event(session, clock, kluis.policy, "test", pid, "contract_end", ams(2024, 3, 31, 17))
    clock.set(ams(2025, 3, 31, 0))
    assert sweep.sweep(kluis).per_rule["accounts"].records == 1
    assert record(kluis, ids["account"]) is None and record(kluis, ids["claim"]) is not None
    clock.set(ams(2031, 12, 31, 23, 59))
    assert sweep.sweep(kluis).records == 0 and not erased(kluis, pid)
    clock.set(ams(2032, 1, 1, 0))
    report = sweep.sweep(kluis)
    assert report.per_rule["expense_claims"].records == 1 and report.people == 1 and erased(kluis, pid)


def test_r_ret_3_a_restricted_claim_kept_after_an_erasure_request_is_swept_when_due_without_a_new_request(
        kluis, clock):
    """The erasure job leaves the claim restricted (set up here directly); the sweep erases it on its due
    date, and the person with it."""
    clock.set(ams(2025, 6, 1, 9))
    boss = employer(kluis)
    pid, ids = person(kluis, "claim", employer_id=boss, email="claim@example.nl")
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", pid, "settled", ams(2025, 5, 20, 9),
                             [ids["claim"]])
        kluis.gate(session, "test").restrict(pid, "other", "person", reference="erasure request")
    clock.set(ams(2032, 12, 31, 12))
    assert sweep.sweep(kluis).records == 0 and record(kluis, ids["claim"]) is not None
    clock.set(ams(2033, 1, 1, 0))
    assert sweep.sweep(kluis).records == 1
    assert record(kluis, ids["claim"]) is None and erased(kluis, pid)


def test_r_ret_3_holds_by_person_category_and_employer_stop_the_sweep_until_released_or_expired(kluis, clock):
    clock.set(ams(2026, 1, 10, 9))
    boss = employer(kluis)
    by_person, _ = person(kluis, "web", at=ams(2026, 1, 1, 9))
    by_category, _ = person(kluis, "account", "web", at=ams(2026, 1, 1, 9))
    by_employer, _ = person(kluis, "web", employer_id=boss, at=ams(2026, 1, 1, 9))
    free, _ = person(kluis, "web", at=ams(2026, 1, 1, 9))
    with kluis.db.transaction() as session:
        h1 = holds.place(session, clock, kluis.policy, "dpo", scope="person", person_id=by_person, reason="litigation")
        holds.place(session, clock, kluis.policy, "dpo", scope="category", category="account", reason="tax_audit",
                    until=ams(2026, 9, 1, 0))
        holds.place(session, clock, kluis.policy, "dpo", scope="employer", employer_id=boss,
                    reason="authority_order", reference="OM-2026-001")
        all_ids = [r.id for p in (by_person, by_category, by_employer, free) for r in records_of(kluis, p)]
        assert len(holds.held_record_ids(session, clock, all_ids)) == 3
        assert [h.id for h in service.held(session, clock, by_person)] == [h1.id]
        assert service.held(session, clock, free) == []
        service.record_event(session, clock, kluis.policy, "test", by_category, "contract_end", ams(2026, 1, 5, 9))
    clock.set(ams(2026, 7, 1, 0))
    report = sweep.sweep(kluis)
    # Only the unheld web traffic goes: the category hold keeps the account; the person, with it, stays.
    assert report.records == 2 and report.people == 1
    assert erased(kluis, free) and not erased(kluis, by_category)
    assert len(records_of(kluis, by_person)) == len(records_of(kluis, by_employer)) == 1
    with kluis.db.transaction() as session:
        holds.release(session, clock, "dpo", h1.id)
    clock.set(ams(2027, 1, 5, 0))  # the category hold has expired; the account's year has run
    report = sweep.sweep(kluis)
    assert report.records == 2 and report.people == 2
    assert erased(kluis, by_person) and erased(kluis, by_category) and not erased(kluis, by_employer)


def test_r_ret_2_dry_run_reports_exactly_what_the_sweep_then_does(kluis, clock):
    clock.set(ams(2023, 5, 1, 9))
    boss = employer(kluis)
    people = [person(kluis, "marketing", "profile", last_activity=ams(2023, 4, 1 + n, 9))[0] for n in range(3)]
    people += [person(kluis, "web", "account", at=ams(2023, 4, 1 + n, 9))[0] for n in range(3)]
    kept, _ = person(kluis, "claim", "web", employer_id=boss, at=ams(2023, 4, 2, 9))
    with kluis.db.transaction() as session:
        holds.place(session, clock, kluis.policy, "dpo", scope="person", person_id=people[0], reason="litigation")
    clock.set(ams(2026, 4, 3, 0))
    with kluis.db.sessions() as session:
        planned = sweep.plan(session, clock.now())
    done = sweep.sweep(kluis, batch=2)
    assert planned.rules_dict() == done.rules_dict()
    # Two unheld marketing contacts (two records each, gone with them), four web-traffic records.
    assert (planned.records, planned.people) == (done.records, done.people) == (8, 2)
    assert done.per_rule["marketing_contacts"].records == 4
    assert done.per_rule["web_traffic"].records == 4
    assert str(done.per_rule["marketing_contacts"].earliest) == str(ams(2026, 4, 2, 0).astimezone(done.at.tzinfo))
    assert not erased(kluis, kept) and not erased(kluis, people[0])
    with kluis.db.sessions() as session:
        assert sweep.plan(session, clock.now()).records == 0


def test_r_ret_2_each_batch_and_the_sweep_leave_evidence_with_counts_per_rule(kluis, clock):
    clock.set(ams(2025, 1, 10, 9))
    for _ in range(3):
        person(kluis, "web", "web", at=ams(2025, 1, 1, 9))
    clock.set(ams(2025, 7, 2, 0))
    report = sweep.sweep(kluis, actor="dpo-run", batch=4)
    events = _swept_events(kluis)
    assert [e.action for e in events] == ["retention.sweep_started", "retention.swept", "retention.swept",
                                          "retention.sweep_finished"]
    assert [e.details["records"] for e in events[1:3]] == [4, 2]
    assert events[-1].details["rules"] == {"web_traffic": {"records": 6, "earliest": report.per_rule[
        "web_traffic"].earliest.isoformat(), "latest": report.per_rule["web_traffic"].latest.isoformat()}}
    assert events[-1].details["people"] == 3
    with kluis.db.sessions() as session:
        run = session.scalars(select(SweepRun)).one()
        assert (run.records, run.people, run.finished_at is not None) == (6, 3, True)
    assert sealed_log(kluis).ok


def test_r_ret_2_the_worker_sweeps_once_a_day(kluis, clock):
    clock.set(ams(2025, 1, 10, 9))
    first, _ = person(kluis, "web", at=ams(2025, 1, 1, 9))
    second, _ = person(kluis, "web", at=ams(2025, 1, 2, 9))
    clock.set(ams(2025, 7, 1, 12))
    assert drain(kluis, pollers())["retention_sweep"] == 1 and erased(kluis, first)
    clock.set(ams(2025, 7, 2, 11))
    assert drain(kluis, pollers())["retention_sweep"] == 0 and not erased(kluis, second)
    clock.set(ams(2025, 7, 2, 12))
    assert drain(kluis, pollers())["retention_sweep"] == 1 and erased(kluis, second)


def test_r_ret_2_a_swept_record_takes_its_corrections_with_it_and_the_person_goes_when_nothing_is_left(
        kluis, clock):
    """R-RET-2 with R-DSR-5: the sweep's delete cascades to the record's rectifications (looked up by
    ``rectification.record_id``, which is indexed); a person left with nothing is erased entirely."""
    clock.set(ams(2025, 1, 10, 9))
    gone, gone_ids = person(kluis, "web", at=ams(2025, 1, 1, 9))
    stays, stays_ids = person(kluis, "web", "account", at=ams(2025, 1, 1, 9))
    with kluis.db.transaction() as session:
        for pid, rid in ((gone, gone_ids["web"]), (stays, stays_ids["web"]), (stays, stays_ids["account"])):
            session.add(Rectification(id=new_id(), person_id=pid, record_id=rid, category="web_traffic",
                                      fields=["n"], by="person", told=[], at=clock.now()))
    clock.set(ams(2025, 7, 2, 0))
    report = sweep.sweep(kluis)
    assert (report.records, report.people) == (2, 1)
    with kluis.db.sessions() as session:
        left = set(session.scalars(select(Rectification.record_id)))
    assert left == {stays_ids["account"]}
    assert erased(kluis, gone) and not erased(kluis, stays)


def test_r_ret_2_what_legal_holds_keep_is_reported_per_hold_and_rule_in_the_dry_run_the_sweep_and_the_audit(
        kluis, clock):
    clock.set(ams(2023, 1, 10, 9))
    boss = employer(kluis)
    held_person, _ = person(kluis, "web", "marketing", at=ams(2023, 1, 1, 9), last_activity=ams(2023, 1, 1, 9))
    employee, _ = person(kluis, "web", employer_id=boss, at=ams(2023, 1, 1, 9))
    other, ids = person(kluis, "web", "marketing", at=ams(2023, 1, 1, 9), last_activity=ams(2023, 1, 1, 9))
    with kluis.db.transaction() as session:
        by_person = holds.place(session, clock, kluis.policy, "dpo", scope="person", person_id=held_person,
                                reason="litigation")
        by_category = holds.place(session, clock, kluis.policy, "dpo", scope="category", category="basic",
                                  reason="tax_audit")
        by_employer = holds.place(session, clock, kluis.policy, "dpo", scope="employer", employer_id=boss,
                                  reason="authority_order")
    clock.set(ams(2026, 2, 1, 9))
    expected = {"records": 4, "rules": {"marketing_contacts": 2, "web_traffic": 2}, "holds": {
        str(by_person.id): {"scope": "person", "reason": "litigation", "records": 2,
                            "rules": {"marketing_contacts": 1, "web_traffic": 1}},
        # The held person's marketing record is under both holds: once for each, once in the totals.
        str(by_category.id): {"scope": "category", "reason": "tax_audit", "records": 2,
                              "rules": {"marketing_contacts": 2}},
        str(by_employer.id): {"scope": "employer", "reason": "authority_order", "records": 1,
                              "rules": {"web_traffic": 1}}}}
    with kluis.db.sessions() as session:
        planned = sweep.plan(session, clock.now())
    done = sweep.sweep(kluis)
    assert planned.held.as_dict() == done.held.as_dict() == expected
    assert done.records == 1 and record(kluis, ids["web"]) is None
    assert len(records_of(kluis, held_person)) == 2 and len(records_of(kluis, employee)) == 1
    assert len(records_of(kluis, other)) == 1
    assert _swept_events(kluis)[-1].details["held"] == expected
    with kluis.db.sessions() as session:
        assert session.scalars(select(SweepRun)).one().held == expected
    assert sealed_log(kluis).ok
    # Released, the holds keep nothing: the next sweep takes everything and reports no hold.
    with kluis.db.transaction() as session:
        for hold in (by_person, by_category, by_employer):
            holds.release(session, clock, "dpo", hold.id)
    again = sweep.sweep(kluis)
    assert again.records == 4 and again.held.as_dict() == {"records": 0, "rules": {}, "holds": {}}

"""Due dates set when records are written and when their trigger is reported (R-RET-1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from tests.helpers import api_key, headers
from tests.integration.retention.retention_support import ams, employer, person, record, records_of

from kluis.audit.models import AuditEvent
from kluis.retention import holds, service
from kluis.retention.models import TriggerEvent
from kluis.vault.models import Record
from kluis.vault.schemas import RecordIn


def _events(kluis, action):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_r_ret_1_records_get_their_rule_and_due_date_when_written(kluis, clock):
    clock.set(ams(2026, 3, 10, 9))
    pid, ids = person(kluis, "marketing", "web", "account", "application", at=ams(2026, 1, 31, 15),
                      last_activity=ams(2026, 2, 28, 11))
    by_id = {r.id: r for r in records_of(kluis, pid)}
    marketing, web = by_id[ids["marketing"]], by_id[ids["web"]]
    assert (marketing.rule_id, marketing.due_at) == ("marketing_contacts", ams(2029, 2, 28, 0))
    assert (web.rule_id, web.due_at) == ("web_traffic", ams(2026, 7, 31, 0))
    # No trigger yet: the contract and the procedure have not ended.
    assert (by_id[ids["account"]].rule_id, by_id[ids["account"]].due_at) == ("accounts", None)
    assert (by_id[ids["application"]].rule_id, by_id[ids["application"]].due_at) == ("job_applications", None)


def test_r_ret_1_a_settled_claim_is_due_on_1_january_seven_years_after_its_fiscal_year(client, kluis, clock):
    clock.set(ams(2024, 3, 20, 9))
    boss = employer(kluis)
    pid, _ = person(kluis, "claim", "claim", employer_id=boss)
    auth = headers(api_key(kluis, ["expense_claims"]), "expense_claims")
    claims = [r.id for r in records_of(kluis, pid)]
    assert all(r.due_at is None for r in records_of(kluis, pid))
    response = client.post(f"/api/v1/people/{pid}/retention-events", headers=auth,
                           json={"kind": "settled", "at": "2024-03-15T10:00:00+01:00", "record_ids": [str(claims[0])]})
    assert response.status_code == 201, response.text
    assert response.json()["records"] == 1
    assert record(kluis, claims[0]).due_at == ams(2032, 1, 1, 0)
    assert record(kluis, claims[1]).due_at is None


def test_r_ret_1_a_bad_event_is_refused_and_writes_nothing(client, kluis, clock):
    boss = employer(kluis)
    pid, ids = person(kluis, "claim", "account", employer_id=boss)
    auth = headers(api_key(kluis, ["expense_claims"]), "expense_claims")
    before = _events(kluis, "retention.event_recorded")
    cases = [
        ({"kind": "settled", "record_ids": [str(ids["account"])]}, "not_settled_by_event"),
        ({"kind": "settled", "record_ids": []}, "records_required"),
        ({"kind": "settled", "record_ids": [str(ids["claim"])], "at": "2099-01-01T00:00:00+00:00"}, "in_future"),
        ({"kind": "contract_end", "record_ids": [str(ids["claim"])]}, "records_unexpected"),
        ({"kind": "settled", "record_ids": [str(ids["claim"])], "at": "2026-01-01T00:00:00"}, "timezone_required"),
    ]
    for body, code in cases:
        response = client.post(f"/api/v1/people/{pid}/retention-events", headers=auth, json=body)
        assert response.status_code == 422, body
        assert code in [e["code"] for e in response.json()["errors"]], response.json()
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TriggerEvent)) == 0
    assert _events(kluis, "retention.event_recorded") == before


def test_r_ret_1_contract_end_starts_the_account_term_also_for_records_written_later(client, kluis, clock):
    clock.set(ams(2026, 2, 1, 9))
    pid, ids = person(kluis, "account", "marketing", last_activity=ams(2026, 1, 5, 9))
    auth = headers(api_key(kluis, ["accounts"]), "accounts")
    response = client.post(f"/api/v1/people/{pid}/retention-events", headers=auth,
                           json={"kind": "contract_end", "at": "2026-01-31T17:00:00+01:00"})
    assert response.status_code == 201 and response.json()["records"] == 1
    assert record(kluis, ids["account"]).due_at == ams(2027, 1, 31, 0)
    assert record(kluis, ids["marketing"]).due_at == ams(2029, 1, 5, 0)
    with kluis.db.transaction() as session:
        later = kluis.vault(session, "test").add_records(pid, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct", content={"x": 1})])
    assert record(kluis, later[0]).due_at == ams(2027, 1, 31, 0)


def test_r_ret_1_application_kept_on_consent_gets_the_year(kluis, clock):
    clock.set(ams(2026, 5, 1, 9))
    declined, first = person(kluis, "application")
    agreed, second = person(kluis, "application")
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", declined, "procedure_end", ams(2026, 4, 30, 16))
        service.record_event(session, clock, kluis.policy, "test", agreed, "procedure_end", ams(2026, 4, 30, 16),
                             with_consent=True)
    assert record(kluis, first["application"]).due_at == ams(2026, 5, 28, 0)
    assert record(kluis, second["application"]).due_at == ams(2027, 4, 30, 0)


def test_r_ret_1_only_what_the_person_did_moves_the_marketing_term(client, kluis, clock):
    clock.set(ams(2026, 6, 1, 9))
    pid, ids = person(kluis, "marketing", "profile", "account", last_activity=ams(2025, 1, 10, 9))
    auth = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    assert record(kluis, ids["marketing"]).due_at == ams(2028, 1, 10, 0)
    for activity in ("mail_sent", "mail_opened"):
        response = client.post(f"/api/v1/people/{pid}/activities", headers=auth, json={"activity": activity})
        assert response.status_code == 200 and response.json() == {"counted": False, "records": 0}
    assert record(kluis, ids["marketing"]).due_at == ams(2028, 1, 10, 0)
    response = client.post(f"/api/v1/people/{pid}/activities", headers=auth,
                           json={"activity": "click", "at": "2026-05-31T23:30:00+02:00"})
    assert response.json() == {"counted": True, "records": 2}
    assert record(kluis, ids["marketing"]).due_at == ams(2029, 5, 31, 0)
    assert record(kluis, ids["profile"]).due_at == ams(2029, 5, 31, 0)
    assert record(kluis, ids["account"]).due_at is None
    # An older activity reported late never shortens the term.
    client.post(f"/api/v1/people/{pid}/activities", headers=auth, json={"activity": "login",
                                                                          "at": "2026-01-01T10:00:00+01:00"})
    assert record(kluis, ids["marketing"]).due_at == ams(2029, 5, 31, 0)
    bad = client.post(f"/api/v1/people/{pid}/activities", headers=auth, json={"activity": "klik"})
    assert bad.status_code == 422 and "did you mean 'click'" in bad.text


def test_r_ret_1_explain_shows_rule_trigger_due_date_and_holds(client, kluis, clock):
    clock.set(ams(2026, 3, 1, 9))
    boss = employer(kluis)
    pid, ids = person(kluis, "claim", "web", employer_id=boss, at=ams(2026, 2, 1, 9))
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", pid, "settled", ams(2026, 2, 20, 9),
                             [ids["claim"]])
        hold = holds.place(session, clock, kluis.policy, "test", scope="category", category="financial",
                           reason="tax_audit", reference="BD-2026-17")
    with kluis.db.sessions() as session:
        lines = {x.record_id: x for x in service.explain(session, clock, kluis.policy, pid)}
    claim, web = lines[ids["claim"]], lines[ids["web"]]
    assert (claim.rule_id, claim.trigger, str(claim.triggered_on), str(claim.due_on)) == (
        "expense_claims", "fiscal_year_end_of_settlement", "2026-02-20", "2034-01-01")
    assert [h.id for h in claim.holds] == [hold.id]
    assert (web.rule_id, str(web.triggered_on), str(web.due_on), web.holds) == (
        "web_traffic", "2026-02-01", "2026-08-01", [])
    auth = headers(api_key(kluis, ["support"]), "support")
    response = client.get(f"/api/v1/people/{pid}/retention", headers=auth)
    assert response.status_code == 200
    assert {x["rule_id"]: x["due_on"] for x in response.json()} == {"expense_claims": "2034-01-01",
                                                                     "web_traffic": "2026-08-01"}


def test_r_ret_3_explain_says_which_records_a_legal_obligation_keeps_after_an_erasure_request(client, kluis, clock):
    clock.set(ams(2026, 3, 1, 9))
    boss = employer(kluis)
    pid, ids = person(kluis, "claim", "web", "account", employer_id=boss, at=ams(2026, 2, 1, 9))
    with kluis.db.sessions() as session:
        lines = {x.record_id: x.legal_obligation for x in service.explain(session, clock, kluis.policy, pid)}
    assert lines == {ids["claim"]: True, ids["web"]: False, ids["account"]: False}
    response = client.get(f"/api/v1/people/{pid}/retention", headers=headers(api_key(kluis, ["support"]), "support"))
    assert {x["rule_id"]: x["legal_obligation"] for x in response.json()} == {
        "expense_claims": True, "web_traffic": False, "accounts": False}


@pytest.mark.parametrize("restamp", [False, True])
def test_r_ret_1_stamp_gives_existing_records_their_due_dates(kluis, clock, restamp):
    clock.set(datetime(2026, 4, 1, 9, tzinfo=UTC))
    pid, ids = person(kluis, "web", "account", at=ams(2026, 3, 31, 23, 30))
    with kluis.db.transaction() as session:
        service.record_event(session, clock, kluis.policy, "test", pid, "contract_end", ams(2026, 3, 31, 17))
        session.execute(update(Record).values(rule_id=None, due_at=None))
    done, after = 0, None
    while True:
        with kluis.db.transaction() as session:
            count, after = service.stamp_existing(session, clock, kluis.policy, "test", after, batch=1,
                                                  restamp=restamp)
        done += count
        if after is None:
            break
    assert done == 2
    assert record(kluis, ids["web"]).due_at == ams(2026, 9, 30, 0)
    assert record(kluis, ids["account"]).due_at == ams(2027, 3, 31, 0)

"""Only what the person did keeps their marketing data: records from others run from the person's own last
activity, never from their own arrival (R-RET-1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select, text, update
from tests.helpers import api_key, headers
from tests.integration.retention.retention_support import ams, erased, person, record, records_of

from kluis.retention import service, sweep
from kluis.schema import alembic_config
from kluis.vault.models import Person, Record
from kluis.vault.schemas import RecordIn

MINUTE = timedelta(minutes=1)
ENRICHMENT = dict(category="basic", purposes=["lead_management"], legal_basis="legitimate_interest",
                  source="aggregator", content={"company": "Voorbeeld BV"})


def _add(kluis, pid, **fields):
    with kluis.db.transaction() as session:
        return kluis.vault(session, "test").add_records(pid, [RecordIn(**(ENRICHMENT | fields))])[0]


def _click(client, kluis, pid, activity, at):
    auth = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    response = client.post(f"/api/v1/people/{pid}/activities", headers=auth,
                           json={"activity": activity, "at": at.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def test_r_ret_1_an_aggregators_enrichment_and_a_partner_import_run_from_the_last_own_click_to_the_day(
        client, kluis, clock):
    """Own activity on leap day 2024: everything kept for marketing is due on 28 February 2027, also what an
    aggregator and a partner sent in 2027 (through the single and the batch API), and goes at that minute."""
    clock.set(ams(2024, 2, 29, 18))
    pid, ids = person(kluis, "marketing", email="lead@example.nl", last_activity=ams(2024, 2, 29, 9))
    clock.set(ams(2027, 2, 20, 10))
    auth = headers(api_key(kluis, ["lead_management"]), "lead_management")
    single = client.post(f"/api/v1/people/{pid}/records", headers=auth, json={
        **ENRICHMENT, "last_activity_at": ams(2027, 2, 19, 9).isoformat()})
    batch = client.post("/api/v1/records/batch", headers=auth, json={"items": [
        {**ENRICHMENT, "person_id": str(pid), "source": "marketing_partner"}]})
    assert single.status_code == batch.status_code == 201, (single.text, batch.text)
    others = [uuid.UUID(i) for i in (*single.json()["ids"], *batch.json()["ids"])]
    for rid in [ids["marketing"], *others]:
        assert record(kluis, rid).due_at == ams(2027, 2, 28, 0)
    # What the aggregator calls an activity is not the person's: the record shows the person's own.
    assert record(kluis, others[0]).last_activity_at == ams(2024, 2, 29, 9)
    clock.set(ams(2027, 2, 28, 0) - MINUTE)
    assert sweep.sweep(kluis).records == 0 and len(records_of(kluis, pid)) == 3
    clock.set(ams(2027, 2, 28, 0))
    report = sweep.sweep(kluis)
    assert report.records == 3 and report.people == 1 and erased(kluis, pid)


def test_r_ret_1_a_mail_sent_or_opened_is_not_activity_a_click_is_and_later_imports_follow_it(client, kluis, clock):
    clock.set(ams(2023, 1, 31, 12))
    pid, ids = person(kluis, "marketing", last_activity=ams(2023, 1, 31, 12))
    clock.set(ams(2026, 3, 1, 9))
    assert _click(client, kluis, pid, "mail_opened", ams(2026, 3, 1, 8)) == {"counted": False, "records": 0}
    opened = _add(kluis, pid)
    assert record(kluis, opened).due_at == ams(2026, 1, 31, 0)  # already due: the open did not count
    assert _click(client, kluis, pid, "click", ams(2026, 3, 1, 8, 30))["counted"] is True
    later = _add(kluis, pid, source="marketing_partner")
    clock.set(ams(2026, 9, 1, 9))
    again = _add(kluis, pid, source="social_network", purposes=["profiling"], category="interests",
                 content={"topics": ["slaap"]})
    for rid in (ids["marketing"], opened, later, again):
        assert record(kluis, rid).due_at == ams(2029, 3, 1, 0)


def test_r_ret_1_a_lead_who_never_did_anything_is_not_kept_longer_by_a_re_import(kluis, clock):
    """No own activity: the clock runs from when the person was first known (or an older collection), and an
    import months later does not restart it."""
    clock.set(ams(2026, 1, 15, 9))
    pid, _ = person(kluis)
    first = _add(kluis, pid, collected_at=ams(2025, 12, 31, 23, 30))
    clock.set(ams(2026, 8, 1, 9))
    again = _add(kluis, pid, source="public_source")
    assert record(kluis, first).due_at == ams(2028, 12, 31, 0)
    assert record(kluis, again).due_at == ams(2029, 1, 15, 0)
    # The person's own form, later, counts: what others sent follows it, before and after.
    clock.set(ams(2026, 9, 1, 9))
    mine = _add(kluis, pid, source="direct", legal_basis="consent", purposes=["marketing_email"],
                content={"newsletter": "ja"})
    with kluis.db.sessions() as session:
        assert session.get(Person, pid).last_activity_at == ams(2026, 9, 1, 9)
        assert session.get(Person, pid).keep_until == ams(2029, 9, 1, 0)
    for rid in (first, again, mine, _add(kluis, pid)):
        assert record(kluis, rid).due_at == ams(2029, 9, 1, 0)


def test_r_ret_1_stamp_all_re_dates_existing_records_from_others_from_the_own_activity(kluis, clock):
    """Records written before this rule (their own arrival as their clock) get the person's clock on restamp."""
    clock.set(ams(2023, 5, 31, 9))
    pid, ids = person(kluis, "marketing", last_activity=ams(2023, 5, 31, 9))
    clock.set(ams(2026, 4, 1, 9))
    enriched = _add(kluis, pid)
    with kluis.db.transaction() as session:  # as an older version wrote it
        session.execute(update(Record).where(Record.id == enriched)
                        .values(last_activity_at=ams(2026, 4, 1, 9), due_at=ams(2029, 4, 1, 0)))
    after = None
    while True:
        with kluis.db.transaction() as session:
            _, after = service.stamp_existing(session, clock, kluis.policy, "test", after, restamp=True)
        if after is None:
            break
    assert record(kluis, enriched).due_at == record(kluis, ids["marketing"]).due_at == ams(2026, 5, 31, 0)
    with kluis.db.sessions() as session:
        assert session.scalar(select(Person.keep_until).where(Person.id == pid)) == ams(2026, 5, 31, 0)


@pytest.mark.plain_schema
def test_r_ret_1_the_migration_gives_existing_people_their_own_last_activity(kluis, clock):
    """Migration 0019: the latest last activity among the records a person gave; nothing for someone who gave none."""
    clock.set(ams(2026, 1, 10, 9))
    own, _ = person(kluis, "marketing", "web", at=ams(2025, 3, 1, 9), last_activity=ams(2025, 6, 1, 9))
    others, _ = person(kluis)
    _add(kluis, others)

    def activity():
        with kluis.db.sessions() as session:
            return {pid: session.get(Person, pid).last_activity_at for pid in (own, others)}

    assert activity() == {own: ams(2025, 6, 1, 9), others: None}
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        # The schema as 0018 left it (dropped by hand: a batch downgrade on SQLite rebuilds the table).
        conn.execute(text("ALTER TABLE person DROP COLUMN last_activity_at"))
        conn.execute(text("ALTER TABLE retention_sweep DROP COLUMN held"))
        command.stamp(config, "0018_overdue_notice")
        command.upgrade(config, "0019_activity_source")
        command.stamp(config, "head")
    assert activity() == {own: ams(2025, 6, 1, 9), others: None}


def test_r_ret_1_one_batch_of_own_data_for_several_known_people_moves_each_ones_clock(client, kluis, clock):
    """Data two known people gave, in one batch: both people's records from others follow their own activity (the
    statement that moves them runs once per person; it used to fail with 500 for more than one person)."""
    clock.set(ams(2026, 1, 5, 9))
    people = [person(kluis, "marketing", email=f"p{n}@example.nl", last_activity=ams(2026, 1, 5, 9))[0]
              for n in range(2)]
    enriched = [_add(kluis, pid) for pid in people]
    clock.set(ams(2026, 6, 1, 9))
    auth = headers(api_key(kluis, ["lead_management"]), "lead_management")
    batch = client.post("/api/v1/records/batch", headers=auth, json={"items": [
        {**ENRICHMENT, "source": "direct", "person_id": str(pid)} for pid in people]})
    assert batch.status_code == 201, batch.text
    for rid in enriched:
        assert record(kluis, rid).last_activity_at == ams(2026, 6, 1, 9)

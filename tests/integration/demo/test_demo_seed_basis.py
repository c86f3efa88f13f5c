"""The demo writes only what a service may write: every generated record is filed for a purpose the gate allows
for its person, because the seed records each person's basis first (a contract's relation, a lead's newsletter
consent) and asks the gate before writing (R-GATE-1, issue 18 §1)."""

from __future__ import annotations

from sqlalchemy import select

from kluis.demo.seed import seed
from kluis.vault.models import Person, Record


def test_r_gate_1_every_demo_record_is_for_a_purpose_the_gate_allows_its_person(kluis):
    result = seed(kluis, 120, seed_value=7, batch=50)
    assert result.people == 120
    with kluis.db.transaction() as session:
        filed = {(row.person_id, purpose) for row in session.execute(select(Record.person_id, Record.purposes))
                 for purpose in row.purposes}
        decisions = kluis.gate(session, "test").decide_many(sorted(filed, key=str))
        kinds = {row.id: row.subject_types[0] for row in session.execute(select(Person.id, Person.subject_types))}
    refused = [(d.purpose, d.reason) for d in decisions if not d.allowed]
    assert not refused, refused[:5]
    leads = [pid for pid, kind in kinds.items() if kind == "lead"]
    assert leads, "the seed made no lead: the marketing consent was not exercised"
    assert {(pid, "marketing_email") for pid in leads} <= filed
    with kluis.db.transaction() as session:
        history = kluis.consents(session, "test").history(leads[0])
    assert [(event["purpose"], event["action"]) for event in history] == [("marketing_email", "given")]

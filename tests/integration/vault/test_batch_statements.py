"""A batch of records costs the same few statements however many people it names (R-VLT-1, issue 18 §6): the
gate's decision, the people's rows taken in id order, their keys, the records, the retention bounds and
last-activity clocks (R-RET-1) and the audit event are each written for the whole batch at once. Over HTTP a
batch for 100 people issued about 110 statements, most of them one per person, and the load scenario of 64
batches at once timed out (bench/load.py batch)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from tests.helpers import api_key, headers

from kluis.kit.statements import statements_run
from kluis.vault.models import Person, Record
from kluis.vault.schemas import BatchRecordIn, PersonIn
from kluis.vault.service import add_employer

# Every statement of the batch request seen by SQLAlchemy (key, policy, people, keys, retention events, bounds,
# clocks, audit event; on SQLite also the gate's facts, the records and the BEGINs): 8 on PostgreSQL, 13 on SQLite.
MOST = 16


def _people_with_records(kluis, count: int) -> list[str]:
    """People (the gate allows `security`, a legitimate interest, for anyone), each with a record from their
    employer kept from their last activity (marketing contacts): data they give later moves its clock forward
    (R-RET-1)."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        people = vault.create_people([PersonIn(subject_types=["lead"]) for _ in range(count)])
        vault.add_records(
            None,
            [
                BatchRecordIn(
                    person_id=p.id,
                    category="basic",
                    purposes=["marketing_email"],
                    legal_basis="consent",
                    source="employer",
                    content={"n": 0},
                )
                for p in people
            ],
        )
    return [str(p.id) for p in people]


def _batch(people: list[str], size: int = 100) -> dict:
    return {
        "items": [
            {
                "person_id": people[n % len(people)],
                "category": "account",
                "purposes": ["security"],
                "legal_basis": "legitimate_interest",
                "source": "direct",
                "content": {"n": n},
            }
            for n in range(size)
        ]
    }


def test_r_vlt_1_a_batch_of_100_records_costs_the_same_statements_for_10_people_as_for_100(client, kluis, clock):
    """100 records for 10 people and 100 records for 100 people: the same number of statements, at most a
    small constant; every person's clock and bound moved as before (R-RET-1)."""
    auth = headers(api_key(kluis, ["security"]), "security")
    warm, ten, hundred = (_people_with_records(kluis, n) for n in (3, 10, 100))
    clock.advance(timedelta(days=1))
    # The first request after the clock moved reads the policy version in force again.
    assert client.post("/api/v1/records/batch", json=_batch(warm), headers=auth).status_code == 201
    counts = []
    for people in (ten, hundred):
        # psycopg sends an executemany as one statement per parameter set. Statements the code sends on the
        # driver's own cursor (PostgreSQL: the gate's facts, the records' COPY) are not seen; each is one per batch.
        with statements_run(kluis.db.engine, kluis.db.key_engine,
                            each_parameter_set=kluis.db.dialect == "postgresql") as seen:
            response = client.post("/api/v1/records/batch", json=_batch(people), headers=auth)
        assert response.status_code == 201, response.text
        assert len(response.json()["ids"]) == 100
        counts.append(len(seen))
    assert counts[0] == counts[1] <= MOST, counts
    now, both = clock.now(), [UUID(pid) for pid in ten + hundred]
    with kluis.db.sessions() as session:
        # The records from the employer follow the activity the new records show: due 36 months after it.
        followed = session.execute(
            select(Record.last_activity_at, Record.due_at).where(
                Record.person_id.in_(both), Record.source == "employer"
            )
        ).all()
        assert len(followed) == 110 and {at for at, _ in followed} == {now}
        assert len({due for _, due in followed}) == 1 and min(due for _, due in followed) > now + timedelta(days=1000)
        people = session.execute(select(Person.last_activity_at, Person.keep_until).where(Person.id.in_(both))).all()
        assert {at for at, _ in people} == {now}
        assert all(keep >= followed[0].due_at for _, keep in people)


def test_r_vlt_3_each_record_of_a_batch_keeps_its_own_purposes_in_their_order(kluis):
    """A batch mixing purpose lists (one purpose, two in either order) stores each record's own list as given: on
    PostgreSQL the COPY sends each distinct list's JSON once serialized, typed as text (R-VLT-3: every record
    carries its purposes)."""
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        employer = add_employer(session, kluis.clock, "test", "Werkgever").id
        people = vault.create_people([PersonIn(subject_types=["employee"], employer_id=employer) for _ in range(3)])
        given = [["expense_claims", "fiscal_retention"], ["fiscal_retention", "expense_claims"], ["expense_claims"]]
        items = [BatchRecordIn(person_id=people[n % 3].id, category="financial", purposes=given[n % 3],
                               legal_basis="contract", source="employer", controller="employer",
                               controller_employer_id=employer, content={"amount": f"{n}.00"})
                 for n in range(30)]
        ids = vault.add_records(None, items)
    with kluis.db.sessions() as session:
        stored = dict(session.execute(select(Record.id, Record.purposes).where(Record.id.in_(ids))).all())
    assert [stored[record_id] for record_id in ids] == [given[n % 3] for n in range(30)]

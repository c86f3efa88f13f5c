"""Writing a batch for people who have records moves their records from others along with their own activity
(R-RET-1, ``retention.service.follow``): the statement must read the batch's people's records through the index,
not the whole record table. Joined only to the given rows (``unnest``
of parameters), the planner read every record of the vault to update a batch's 100 people (4 ms of the database a
batch at 26,000 records, more as the vault grows: bench/load.py's batch scenario, issue 18 §6)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from kluis.kit.clock import SettableClock
from kluis.vault.schemas import BatchRecordIn, PersonIn
from kluis.wiring import Kluis

PEOPLE, RECORDS_EACH, BATCH = 8000, 3, 100


def _records(people: list[Any], n: int) -> list[BatchRecordIn]:
    return [BatchRecordIn(person_id=pid, category="basic", purposes=["accounts"], legal_basis="contract",
                          source="direct", content={"n": n}) for pid in people]


def _scanned(plan: Any) -> list[tuple[str, str]]:
    """Every (node type, relation) of a JSON plan."""
    found = [(plan.get("Node Type", ""), plan.get("Relation Name", ""))]
    for child in plan.get("Plans", []):
        found += _scanned(child)
    return found


@pytest.mark.plain_schema  # hash-partitioned by person, each part holds a quarter of these records: small enough
# that reading a part whole is the planner's right call at this size (it takes the index as the parts grow)
def test_r_ret_1_a_batch_for_known_people_reads_only_their_records(kluis: Kluis,
                                                                           clock: SettableClock) -> None:
    if kluis.db.dialect != "postgresql":
        pytest.skip("PostgreSQL's planner: SQLite joins a VALUES list through the index by itself")
    with kluis.db.transaction() as session:
        vault = kluis.vault(session, "test")
        people = [p.id for p in vault.create_people([PersonIn(subject_types=["lead"]) for _ in range(PEOPLE)])]
        for n in range(RECORDS_EACH):
            vault.add_records(None, _records(people, n))
    with kluis.db.engine.connect() as connection:  # the statistics autovacuum would have gathered by now
        connection.execute(text("ANALYZE record")).close()
        connection.commit()
    clock.advance(timedelta(days=1))  # the batch is the people's own activity of a later day: their clocks move
    plans: list[list[tuple[str, str]]] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE record ") and " FROM (SELECT unnest(" in statement:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0]
            plans.append(_scanned((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]))

    event.listen(kluis.db.engine, "before_cursor_execute", explain)
    try:
        with kluis.db.transaction() as session:
            kluis.vault(session, "test").add_records(None, _records(people[:BATCH], RECORDS_EACH))
    finally:
        event.remove(kluis.db.engine, "before_cursor_execute", explain)
    [nodes] = plans  # the batch's people's records were moved in one statement
    full = [relation for node, relation in nodes if node == "Seq Scan" and relation.startswith("record")]
    assert not full, f"the records' UPDATE read the whole table: {nodes}"

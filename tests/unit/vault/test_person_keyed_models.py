"""The models are ready to be spread by person (issue 20 item 3, R-VLT-1): every table of a person's data keys on
``person_id`` first, so a distributed PostgreSQL can put each person's rows on one node, and no table that stays
whole (queues, registers) references one that is spread, which such a database refuses."""

from __future__ import annotations

from sqlalchemy import Table
from tests.partitioning import partition_key

from kluis.migrations.models import METADATA

# Tables that name a person but are not the person's data: queues and registers found by their own id (or a
# token), which stay local tables. Each must hold no foreign key into the person's tables (checked below).
NAMING_A_PERSON = {
    "outbox": "mail waiting to go out",
    "person_sign_in": "a sign-in code waiting to be used",
    "person_session": "a session, found by its token",
    "data_subject_request": "the requests' queue",
    "access_package": "a package waiting to be built or fetched",
    "erasure_job": "the erasure queue",
    "legal_hold": "the register of holds (by person, category or employer)",
    "complaint": "the register of complaints",
}


def _tables() -> list[Table]:
    return list(METADATA["data"].sorted_tables)


def _names_a_person(table: Table) -> bool:
    return table.name == "person" or any(c.name.endswith("person_id") for c in table.columns)


def test_r_vlt_1_issue_20_every_table_of_a_persons_data_keys_on_the_person_first() -> None:
    unkeyed = [t.name for t in _tables()
               if _names_a_person(t) and partition_key(t) is None and t.name not in NAMING_A_PERSON]
    assert unkeyed == []
    keyed = {t.name: next(iter(t.primary_key.columns)).name for t in _tables() if partition_key(t) == "person_id"}
    assert {"record", "identifier", "consent_event", "breach_person", "authority_order_person"} <= set(keyed)
    assert set(keyed.values()) == {"person_id"}
    # The listed exceptions are not the person's: none of them is keyed on the person.
    assert not [name for name in NAMING_A_PERSON if partition_key(METADATA["data"].tables[name]) is not None]


def test_r_vlt_1_issue_20_no_whole_table_references_a_spread_one() -> None:
    crossing = sorted((t.name, fk.parent.name) for t in _tables() if partition_key(t) is None
                      for fk in t.foreign_keys if partition_key(fk.column.table) is not None)
    assert crossing == []

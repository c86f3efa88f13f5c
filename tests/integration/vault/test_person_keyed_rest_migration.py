"""Migration 0036 (issue 20 item 3, R-VLT-1): the people a breach affected and an order names are keyed on the
person first, and the registers that name a person (complaints, legal holds, sessions) lose their foreign key into
``person``; the rows stay, and going down gives the old keys and foreign keys back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from tests.integration.breaches.breach_support import person, report
from tests.integration.orders.orders_support import record

from kluis import schema
from kluis.breaches.models import BreachPerson
from kluis.breaches.service import Breaches
from kluis.mijn.models import PersonSession
from kluis.orders.models import AuthorityOrderPerson
from kluis.retention.models import Hold
from kluis.schema import alembic_config

BEFORE = "0035_staff_language"
pytestmark = pytest.mark.plain_schema  # it moves the schema down and up


def _rows(kluis) -> dict[str, list[tuple]]:
    with kluis.db.sessions() as session:
        return {model.__tablename__: sorted(tuple(r) for r in session.execute(select(model.__table__)))
                for model in (BreachPerson, AuthorityOrderPerson, Hold, PersonSession)}


def _shape(conn) -> dict[str, object]:
    found = inspect(conn)
    return {
        "keys": {t: found.get_pk_constraint(t)["constrained_columns"]
                 for t in ("breach_person", "authority_order_person")},
        "to_person": sorted((t, fk["constrained_columns"][0]) for t in ("complaint", "legal_hold", "person_session")
                            for fk in found.get_foreign_keys(t) if fk["referred_table"] == "person"),
    }


def test_r_vlt_1_issue_20_migration_0036_keys_the_lists_on_the_person_and_keeps_every_row(kluis) -> None:
    pid = person(kluis, "getroffen@example.nl")
    breach = report(kluis)
    record(kluis, [pid])
    now = kluis.clock.now()
    with kluis.db.transaction() as session:
        Breaches(session, kluis, "staff:dpo").decide(breach.id, "high_risk", "financiële gegevens leesbaar")
        session.add(Hold(id=uuid.uuid4(), scope="person", person_id=pid, reason="litigation", recorded_by="test",
                         created_at=now))
        session.add(PersonSession(id=uuid.uuid4(), token_key="a" * 64, person_id=pid, created_at=now,
                                  last_seen_at=now, expires_at=now + timedelta(hours=1)))
    before = _rows(kluis)
    assert all(before.values())
    with kluis.db.engine.begin() as conn:
        assert _shape(conn) == {"keys": {"breach_person": ["person_id", "breach_id"],
                                         "authority_order_person": ["person_id", "order_id"]}, "to_person": []}
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, BEFORE)
        assert _shape(conn) == {
            "keys": {"breach_person": ["breach_id", "person_id"], "authority_order_person": ["order_id", "person_id"]},
            "to_person": [("complaint", "claimed_person_id"), ("complaint", "person_id"), ("legal_hold", "person_id"),
                          ("person_session", "person_id")],
        }
        command.upgrade(config, "head")
    assert schema.differences(kluis.db) == []
    assert _rows(kluis) == before
    with kluis.db.sessions() as session:  # a breach still finds its people by its index
        assert session.scalar(select(func.count()).select_from(BreachPerson)
                              .where(BreachPerson.breach_id == breach.id)) == 1

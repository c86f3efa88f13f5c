"""A rectification request reaches benVitaal's service databases (R-DSR-5, R-DSR-9): staff correct a declared
column in the person's rows only; an undeclared column is refused and changes nothing; the audit holds no value."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person

from kluis.audit.models import AuditEvent
from kluis.demo.datasets import create_demo_schemas
from kluis.kit.errors import Conflict, Invalid
from kluis.rights.service import Rights

EMAIL, OTHER = "rectify@example.nl", "ander@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def names(kluis, email):
    rows = kluis.datasets().read("webinars", [("email", "", email)])
    return sorted(r["full_name"] for t in rows if t.table == "registrations" for r in t.rows)


def test_r_dsr_5_staff_correct_a_dataset_column_for_this_person_only(kluis):
    person_id, _ = new_person(kluis, email=EMAIL)
    urls = {k: v.get_secret_value() for k, v in kluis.settings.dataset_urls.items()}
    create_demo_schemas(urls, [EMAIL, OTHER], kluis.clock.now())
    other_before = names(kluis, OTHER)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        request_id = rights.register_by_staff("rectification", kluis.clock.now(), "brief 12", person_id=person_id,
                                              verification="legitimatie gezien").request.id
    with kluis.db.transaction() as session:
        rows = Rights(session, kluis, "staff:dpo").rectify_dataset(request_id, "webinars",
                                                                   {"full_name": "Rita de Vries-Jansen"})
    assert rows >= 1
    assert set(names(kluis, EMAIL)) == {"Rita de Vries-Jansen"}
    assert names(kluis, OTHER) == other_before
    with kluis.db.sessions() as session:
        events = [e for e in session.scalars(select(AuditEvent)) if e.action == "datasets.rectified"]
        assert events and "Rita" not in json.dumps(events[0].details) and events[0].details["rows"] == rows
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").rectify_dataset(request_id, "webinars", {"password": "x"})
    assert set(names(kluis, EMAIL)) == {"Rita de Vries-Jansen"}
    with kluis.db.transaction() as session:
        access = Rights(session, kluis, "staff:dpo").register_by_staff("objection", kluis.clock.now(), "brief 13",
                                                                       scope="marketing", person_id=person_id,
                                                                       verification="idem").request.id
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").rectify_dataset(access, "webinars", {"full_name": "X"})

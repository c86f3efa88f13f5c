"""Issue 17 §1-2, R-DSR-8 / R-SHR-2: the employer's instruction by API, recorded exactly as the console records it
(sealed, who and when, audited with ids only), with its errors as problem+json; and the processors register with each
agreement's state for a DPO's key. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tests.integration.erasure.test_erasure_partial import ask_erasure, employee, job_of, own_part_done
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person

from kluis.access.service import EMPLOYER_INSTRUCTIONS, PROCESSORS_REGISTER, create_key
from kluis.audit.models import AuditEvent
from kluis.erasure.rules import JobState
from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights

PROBLEM = "application/problem+json"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def key(kluis, *powers):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="dpo-tool", purposes=["accounts"],
                              actor="test", powers=list(powers))
    return {"Authorization": f"Bearer {token}"}


def stored(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id)


def test_r_dsr_8_the_instruction_by_api_is_sealed_audited_and_erases_the_employers_part(client, kluis):
    """R-DSR-8: a key with the power employer_instructions records the instruction to erase: sealed, by the key,
    audited with ids only; the answer shows both parts of the erasure, and the job runs on."""
    person_id, employer_id = employee(kluis)
    request_id = ask_erasure(kluis, person_id)
    own_part_done(kluis, request_id)
    path = f"/api/v1/requests/{request_id}/employer-instruction"
    text = "Alle declaraties verwijderen na de salarisrun"
    assert client.post(path, headers=key(kluis), json={"instruction": text, "decision": "erase"}).status_code == 403
    auth = key(kluis, EMPLOYER_INSTRUCTIONS)
    answer = client.post(path, headers=auth, json={"instruction": text, "decision": "erase"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["employer_decision"] == "erase" and body["instruction_by"].startswith("key:")
    assert body["erasure"] == {"own": "erased", "own_records_erased": 3, "own_records_kept": 0,
                               "employer": "erasing"}
    assert job_of(kluis, request_id).state == JobState.QUEUED
    found = stored(kluis, request_id)
    with kluis.db.sessions() as session:
        assert Rights(session, kluis, "test").instruction_of(found) == text
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "request.instruction_recorded")
                                  .order_by(AuditEvent.seq))
    assert event.details == {"type": "erasure", "state": "in_progress", "employer_id": str(employer_id),
                             "decision": "erase"}
    with kluis.db.engine.connect() as conn:
        assert "salarisrun" not in repr(conn.exec_driver_sql("SELECT * FROM data_subject_request").fetchall())
        assert "salarisrun" not in repr(conn.exec_driver_sql("SELECT * FROM audit_event").fetchall())
    again = client.post(path, headers=auth, json={"instruction": "Toch bewaren", "decision": "keep"})
    assert again.status_code == 409 and again.json()["code"] == "instruction_recorded"
    assert again.headers["content-type"].startswith(PROBLEM)


def test_r_dsr_8_bad_instructions_get_problems_and_write_nothing(client, kluis):
    """R-DSR-8: no decision on an erasure, an empty text, an unknown request, a request not forwarded: 422, 404 and
    409 as problem+json, and nothing recorded."""
    person_id, _ = employee(kluis)
    request_id = ask_erasure(kluis, person_id)
    auth = key(kluis, EMPLOYER_INSTRUCTIONS)
    path = f"/api/v1/requests/{request_id}/employer-instruction"
    undecided = client.post(path, headers=auth, json={"instruction": "Verwijderen"})
    assert undecided.status_code == 422 and undecided.headers["content-type"].startswith(PROBLEM)
    assert {p["path"] for p in undecided.json()["errors"]} == {"decision"}
    empty = client.post(path, headers=auth, json={"instruction": "  ", "decision": "keep"})
    assert empty.status_code == 422 and {p["path"] for p in empty.json()["errors"]} == {"instruction"}
    assert client.post(path, headers=auth, json={"instruction": "x", "decision": "shred"}).status_code == 422
    found = stored(kluis, request_id)
    assert found.instruction_at is None and found.employer_decision is None
    assert job_of(kluis, request_id).result.get("employer") is None
    unknown = client.post(f"/api/v1/requests/{person_id}/employer-instruction", headers=auth,
                          json={"instruction": "x", "decision": "keep"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "request_not_found"
    lead, _ = new_person(kluis, email="zelf@example.nl")
    with kluis.db.transaction() as session:
        own = Rights(session, kluis, "person").receive_from_account(lead, "access", "nl").request.id
    not_forwarded = client.post(f"/api/v1/requests/{own}/employer-instruction", headers=auth,
                                json={"instruction": "x"})
    assert not_forwarded.status_code == 409 and not_forwarded.json()["code"] == "not_forwarded"


def test_r_dsr_8_the_openapi_document_declares_the_instruction_and_register_answers(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/requests/{request_id}/employer-instruction"]["post"]
    for status in ("403", "404", "409", "422"):
        assert PROBLEM in operation["responses"][status]["content"], status
    assert "403" in spec["paths"]["/api/v1/processors"]["get"]["responses"]


def test_r_shr_2_the_processors_register_by_api_names_each_agreements_state(client, kluis, clock):
    """R-SHR-2: a DPO's key (power processors_register) reads every processor with reference, dates, country,
    mechanism and state: in force, ending within 60 days, expired; other keys are refused."""
    assert client.get("/api/v1/processors", headers=key(kluis)).status_code == 403
    auth = key(kluis, PROCESSORS_REGISTER)
    clock.set(datetime(2030, 12, 1, 12, 0, tzinfo=UTC))  # the webinar platform's agreement ends 2031-01-15
    listed = {p["id"]: p for p in client.get("/api/v1/processors", headers=auth).json()}
    webinars = listed["webinar_platform"]
    assert webinars["status"] == "ending_soon" and webinars["days_left"] == 45
    assert (webinars["agreement_reference"], webinars["agreement_signed_on"], webinars["agreement_ends_on"],
            webinars["country"], webinars["transfer"]) == ("VWO-2024-002", "2024-01-22", "2031-01-15", "US", "scc")
    assert listed["hosting"]["status"] == "in_force" and listed["web_analytics"]["days_left"] is None
    assert listed["recruitment_system"]["transfer"] == "adequacy"
    clock.set(datetime(2031, 1, 16, 12, 0, tzinfo=UTC))
    webinars = {p["id"]: p for p in client.get("/api/v1/processors", headers=auth).json()}["webinar_platform"]
    assert webinars["status"] == "expired" and webinars["refusal"] == "agreement_expired"

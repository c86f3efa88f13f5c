"""Issue 17 §1, R-DSR-8 with R-DSR-6 / R-RET-3: an erasure request on data partly held for the employer does not wait
for the employer. benVitaal's own records go at once (what a legal obligation keeps stays), the person keeps their
identifiers and key while the employer's data stays, and is told; the employer's instruction then erases the rest
(the whole erasure, with its certificate) or keeps it and closes the request. Real SMTP; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select
from tests.helpers import sealed_log
from tests.integration.erasure.erasure_support import (
    identifier_count,
    person_with_everything,
    readable,
    records_of,
)
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, send_all
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis import schema
from kluis.audit.models import AuditEvent
from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.kit.errors import Conflict
from kluis.retention import holds
from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights
from kluis.schema import alembic_config

EMAIL = "wissen@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def employee(kluis):
    """basic, interests and a community post (benVitaal's own), and a claim held for the employer."""
    return person_with_everything(kluis, email=EMAIL, extra=1)


def ask_erasure(kluis, person_id, decision=None, start=True):
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        request_id = rights.receive_from_account(person_id, "erasure", "nl").request.id
        if decision:
            rights.record_employer_instruction(request_id, "Besluit van de werkgever", decision)
        if start:
            rights.start(request_id)
    return request_id


def job_of(kluis, request_id):
    with kluis.db.sessions() as session:
        job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).one()
        session.expunge(job)
        return job


def request_state(kluis, request_id):
    with kluis.db.sessions() as session:
        return session.get(DataSubjectRequest, request_id).state


def categories(kluis, person_id):
    return sorted((r.category, r.controller) for r in records_of(kluis, person_id))


def events(kluis, action):
    with kluis.db.sessions() as session:
        return [e for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                           .order_by(AuditEvent.seq))]


def own_part_done(kluis, request_id):
    job = erasure.Runner(kluis, "test").run(job_of(kluis, request_id).id)
    assert job.state == JobState.EMPLOYER and job.step == "employer", (job.state, job.step, job.last_error)
    return job


def test_r_dsr_8_own_records_are_erased_at_once_and_the_employers_wait(kluis, catcher):
    """R-DSR-8: without the employer's instruction the job erases benVitaal's own records, leaves the employer's
    claim, the identifiers and the key, and tells the person what went and who has the rest; the job then waits for
    the instruction, however often it is run."""
    person_id, _ = employee(kluis)
    request_id = ask_erasure(kluis, person_id)
    job = own_part_done(kluis, request_id)
    assert categories(kluis, person_id) == [("financial", "employer")]
    assert len(readable(kluis, person_id)) == 1 and identifier_count(kluis, person_id) == 2  # key and identifiers
    assert job.result["controller"]["erased"] == {"basic": 1, "content": 1, "interests": 1}
    assert job.result["controller"]["kept"] == []
    assert request_state(kluis, request_id) == "in_progress"
    [event] = events(kluis, "erasure.controller_part_erased")
    assert event.details == {"records_erased": 3, "records_kept": 0,
                             "categories_erased": ["basic", "content", "interests"]}
    send_all(kluis)
    [told] = [m for m in catcher.messages if "Uw gegevens bij benVitaal zijn verwijderd" in m.subject]
    assert told.to == (EMAIL,)
    assert "Verwijderd:" in told.text and "(1)" in told.text
    assert "Werkgever BV" in told.text
    # It waits for the employer: neither a poll nor an operator's run erases more.
    assert erasure.Runner(kluis, "test").run_due() == 0
    with pytest.raises(Conflict) as waiting:
        erasure.Runner(kluis, "test").run(job.id)
    assert waiting.value.code == "erasure_waits_for_employer"
    assert len(records_of(kluis, person_id)) == 1
    # A request that has erased something cannot be refused any more.
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").refuse(request_id, "te laat")
    assert sealed_log(kluis).ok


def test_r_dsr_8_the_instruction_to_erase_erases_the_rest_and_certifies_the_whole(kluis, catcher):
    """R-DSR-8 / R-DSR-6: once the employer says erase, the job runs on as the full erasure: the claim goes unless the
    fiscal duty keeps it, identifiers and key go, and the certificate counts both parts; the request is done."""
    person_id, _ = employee(kluis)
    request_id = ask_erasure(kluis, person_id)
    own_part_done(kluis, request_id)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, "Alles verwijderen", "erase")
    assert job_of(kluis, request_id).state == JobState.QUEUED
    assert erasure.Runner(kluis, "test").run_due() == 1
    job = job_of(kluis, request_id)
    facts = certificate.verify(job.certificate)
    assert {c["category"]: c["records"] for c in facts["erased"]["categories"]} == {
        "basic": 1, "content": 1, "interests": 1}
    assert facts["erased"]["identifiers"] == 2 and sum(k["records"] for k in facts["kept"]) == 1  # the fiscal claim
    assert identifier_count(kluis, person_id) == 0
    assert request_state(kluis, request_id) == "done"
    assert [e.details["decision"] for e in events(kluis, "erasure.employer_decided")] == ["erase"]


def test_r_dsr_8_the_instruction_to_keep_closes_the_request_with_the_employers_data_kept(client, kluis, clock,
                                                                                         catcher):
    """R-DSR-8: the DPO records in the console that the employer keeps its data: the job is done, the claim and the
    person stay, the request closes, the person is told, and the request page shows both parts."""
    person_id, _ = employee(kluis)
    request_id = ask_erasure(kluis, person_id)
    own_part_done(kluis, request_id)
    signed_in(client, kluis, clock, "dpo")
    page = client.get(f"/console/requests/{request_id}")
    assert "erased: 3 records; 0 kept" in page.text and "waits for the employer's instruction" in page.text
    refused = client.post(f"/console/requests/{request_id}/instruction",
                          data={"csrf": csrf(client, f"/console/requests/{request_id}"), "reason": "Bewaren"})
    assert refused.status_code == 422 and job_of(kluis, request_id).state == JobState.EMPLOYER  # no decision
    done = client.post(f"/console/requests/{request_id}/instruction",
                       data={"csrf": csrf(client, f"/console/requests/{request_id}"),
                             "reason": "Bewaren tot einde dienstverband", "decision": "keep"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    job = job_of(kluis, request_id)
    assert job.state == JobState.DONE and job.certificate is None
    assert request_state(kluis, request_id) == "done"
    assert ("financial", "employer") in categories(kluis, person_id) and identifier_count(kluis, person_id) == 2
    page = client.get(f"/console/requests/{request_id}")
    assert "kept on the employer's instruction" in page.text and "Decision: keep" in page.text
    send_all(kluis)
    assert any("Uw werkgever bewaart" in m.subject and "Werkgever BV" in m.text for m in catcher.messages)


def test_r_dsr_8_an_instruction_before_the_job_ran_is_followed(kluis, catcher):
    """R-DSR-8: recorded before the job ran, an instruction to keep lets the job erase benVitaal's part and close
    the request; one to erase queues the whole erasure at once."""
    person_id, _ = employee(kluis)
    request_id = ask_erasure(kluis, person_id, start=False)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").start(request_id)
        Rights(session, kluis, "staff:dpo").record_employer_instruction(request_id, "Bewaren", "keep")
    assert erasure.Runner(kluis, "test").run(job_of(kluis, request_id).id).state == JobState.DONE
    assert categories(kluis, person_id) == [("financial", "employer")]
    assert request_state(kluis, request_id) == "done"
    other, _ = person_with_everything(kluis, email="ander@example.nl", phone="06 11223344")
    whole = ask_erasure(kluis, other, decision="erase")
    assert job_of(kluis, whole).step == "datasets"
    assert erasure.Runner(kluis, "test").run(job_of(kluis, whole).id).state == JobState.DONE
    assert identifier_count(kluis, other) == 0


def test_r_dsr_8_a_legal_hold_on_a_category_keeps_it_in_the_own_part(kluis, catcher):
    """R-RET-3 in the own part: a hold on a category keeps its records, with the hold as the reason, and the person
    is told it."""
    person_id, _ = employee(kluis)
    with kluis.db.transaction() as session:
        holds.place(session, kluis.clock, kluis.policy, "staff:dpo", scope="category", reason="litigation",
                    category="interests")
    request_id = ask_erasure(kluis, person_id)
    job = own_part_done(kluis, request_id)
    assert job.result["controller"]["erased"] == {"basic": 1, "content": 1}
    assert [(k["category"], k["rule"]) for k in job.result["controller"]["kept"]] == [("interests", "legal_hold")]
    assert ("interests", "benvitaal") in categories(kluis, person_id)
    send_all(kluis)
    [told] = [m for m in catcher.messages if "Uw gegevens bij benVitaal zijn verwijderd" in m.subject]
    assert "juridische procedure" in told.text


@pytest.mark.plain_schema
def test_r_dsr_8_migration_0030_goes_down_and_up_to_the_models(kluis):
    """R-DSR-8: migration 0030_partial_erasure adds the employer's decision exactly as the model declares it, and
    goes down again."""
    with kluis.db.engine.begin() as conn:
        config = alembic_config(kluis.db.url, "data")
        config.attributes["connection"] = conn
        command.downgrade(config, "0029_employer_contacts")
        assert "employer_decision" not in {c["name"] for c in inspect(conn).get_columns("data_subject_request")}
        command.upgrade(config, "head")
    assert schema.differences(kluis.db) == []

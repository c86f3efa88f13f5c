"""Erasure end to end (R-DSR-6, R-VLT-5, R-RET-3), on SQLite and PostgreSQL, with a real SMTP server."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.integration.erasure.erasure_support import (
    identifier_count,
    person_with_everything,
    readable,
    records_of,
)
from tests.integration.rights.rights_support import catcher_fixture, log_disclosures, mail_settings, send_all

from kluis.consent.marketing.models import InterestProfile, Suppression
from kluis.consent.marketing.service import Marketing
from kluis.demo.datasets import create_demo_schemas
from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState, Reason
from kluis.kit.errors import Conflict, NotFound
from kluis.mail.models import Outbox
from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights
from kluis.vault.crypto import Unreadable, open_sealed
from kluis.vault.models import Person
from kluis.vault.schemas import IdentifierIn

EMAIL = "wissen@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def erasure_request(kluis, person_id, instruction="Werkgever: verwijderen, declaraties fiscaal bewaren"):
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:dpo")
        received = rights.register_by_staff("erasure", kluis.clock.now(), "brief 2026-11-20", person_id=person_id,
                                            verification="legitimatie gezien aan de balie")
        request = rights.get(received.request.id)
        if request.processor_role and instruction:
            rights.record_employer_instruction(request.id, instruction, "erase")
        return request.id


def start(kluis, request_id):
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").start(request_id)


def job_for(kluis, person_id):
    with kluis.db.sessions() as session:
        job = session.scalars(select(ErasureJob).where(ErasureJob.person_id == person_id)).one()
        session.expunge(job)
        return job


def test_erasure_request_erases_all_but_the_fiscal_claims_and_certifies_it_r_dsr_6(kluis, catcher):
    """R-DSR-6 / R-RET-3: everything goes except the expense claims the fiscal duty keeps; those stay,
    restricted to the fiscal purpose; the person is told what was kept and until when; the
    certificate is signed and verifies."""
    person_id, _ = person_with_everything(kluis, claims=2)
    bystander, _ = person_with_everything(kluis, email="blijft@example.nl", phone="06 87654321")
    before = readable(kluis, bystander)
    request_id = erasure_request(kluis, person_id)
    start(kluis, request_id)
    send_all(kluis)

    job = job_for(kluis, person_id)
    assert job.state == JobState.DONE and job.step == "done"
    left = records_of(kluis, person_id)
    assert [(r.category, r.purposes) for r in left] == [("financial", ["expense_claims", "fiscal_retention"])] * 2
    assert sorted(json.loads(p)["amount"] for p in readable(kluis, person_id)) == ["10.50", "11.50"]
    assert identifier_count(kluis, person_id) == 0
    with kluis.db.sessions() as session:
        assert session.get(InterestProfile, person_id) is None
        person = session.get(Person, person_id)
        assert person.erased_at is not None and person.shredded_at is None
        gate = kluis.gate(session, "test")
        assert gate.decide(person_id, "fiscal_retention").allowed
        for purpose in ("expense_claims", "accounts", "marketing_email", "lead_management"):
            assert not gate.decide(person_id, purpose).allowed, purpose
        with pytest.raises(NotFound):
            kluis.vault(session, "test").find_person(IdentifierIn(kind="email", value=EMAIL), "support")
        request = session.get(DataSubjectRequest, request_id)
        assert request.state == "done"
    # The claims are due on 1 January of the 8th year after the fiscal year of settlement (2025 -> 2033).
    facts = certificate.verify(job.certificate)
    assert facts["kept"] == [{"category": "financial", "records": 2, "rule": "expense_claims", "until": None,
                              "reason": facts["kept"][0]["reason"], "ground": "legal_obligation",
                              "restricted_to": ["fiscal_retention"]}]
    assert "fiscal" in facts["kept"][0]["reason"]
    assert {c["category"]: c["records"] for c in facts["erased"]["categories"]} == {"basic": 1, "interests": 1}
    assert facts["erased"]["identifiers"] == 2 and facts["request_id"] == str(request_id)
    # The person hears it at the address that is now erased, once; the sealed address is gone after sending.
    erased_notices = [m for m in catcher.messages if "verwijderd" in m.subject]
    assert [m.to for m in erased_notices] == [(EMAIL,)]
    assert "Financiële informatie (2)" in erased_notices[0].text, erased_notices[0].text
    assert not [m for m in catcher.messages if "afgehandeld" in m.subject]
    with kluis.db.sessions() as session:
        assert all(row.sealed_to is None for row in session.scalars(select(Outbox)))
    assert readable(kluis, bystander) == before and identifier_count(kluis, bystander) == 2


def test_erasure_destroys_the_key_so_a_backup_is_unreadable_r_vlt_5(kluis, settings, tmp_path):
    """R-VLT-5: a copy of the data taken before the erasure cannot be read with the keys left after it."""
    person_id, _ = person_with_everything(kluis, claims=0)
    with kluis.db.sessions() as session:
        old_key = kluis.keystore.data_keys(session, [person_id])[person_id]
    copies = [(r.id, r.category, r.ciphertext) for r in records_of(kluis, person_id)]
    if settings.is_sqlite:
        shutil.copy(settings.database_url.removeprefix("sqlite:///"), tmp_path / "backup.db")
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    job = erasure.Runner(kluis, "test").run(job_id)
    assert job.state == JobState.DONE
    assert records_of(kluis, person_id) == []
    with kluis.db.sessions() as session:
        assert kluis.keystore.data_keys(session, [person_id]) == {}
        assert session.get(Person, person_id).shredded_at is not None
        assert not kluis.gate(session, "test").decide(person_id, "accounts").allowed
    assert copies and all(open_sealed(old_key, person_id, rid, cat, ct) for rid, cat, ct in copies)
    facts = certificate.verify(job.certificate)
    assert facts["kept"] == [] and facts["erased"]["data_key_destroyed"]
    with pytest.raises(NotFound), kluis.db.transaction() as session:
        erasure.queue(session, kluis, person_id, Reason.STAFF, "test")
    # What the key store holds now opens none of the copies: no key of this person is left at all.
    with kluis.db.sessions() as session:
        others = kluis.keystore.data_keys(session, [job_id, person_id])
    assert others == {}
    with pytest.raises(Unreadable):
        open_sealed(b"\0" * 32, person_id, copies[0][0], copies[0][1], copies[0][2])


def test_suppression_outlives_erasure_and_reimport_r_dsr_6(kluis):
    """R-DSR-6 / R-CONS-3: the person's suppression entry stays, so a re-imported address gets no marketing."""
    person_id, _ = person_with_everything(kluis, claims=0)
    with kluis.db.transaction() as session:
        Marketing(session, kluis, "test").opt_out(person_id, "unsubscribe_link")
    with kluis.db.sessions() as session:
        before = {(s.digest, s.list_id) for s in session.scalars(select(Suppression))}
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    assert erasure.Runner(kluis, "test").run(job_id).state == JobState.DONE
    with kluis.db.sessions() as session:
        assert {(s.digest, s.list_id) for s in session.scalars(select(Suppression))} == before != set()
    again, _ = person_with_everything(kluis, email=EMAIL, claims=0)
    with kluis.db.sessions() as session:
        assert Marketing(session, kluis, "test").suppressed(again)


def test_without_a_certificate_key_the_job_waits_and_says_why_r_dsr_6(kluis, settings):
    """R-DSR-6: the data goes at once; the job waits at the certificate with a clear reason, and finishes
    once the key is configured. The request is not done before its certificate exists."""
    person_id, _ = person_with_everything(kluis, claims=0)
    request_id = erasure_request(kluis, person_id, instruction=None)
    with kluis.db.transaction() as session:
        session.get(DataSubjectRequest, request_id).processor_role = False
    start(kluis, request_id)
    key = kluis.settings.certificate_key
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": None})
    job = erasure.Runner(kluis, "test").run(job_for(kluis, person_id).id)
    assert job.state == JobState.WAITING and job.step == "certificate"
    assert "KLUIS_CERTIFICATE_KEY" in job.last_error
    assert records_of(kluis, person_id) == []
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).state == "in_progress"
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": key})
    assert erasure.Runner(kluis, "test").run(job.id).state == JobState.DONE
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).state == "done"


def test_certificate_tampering_and_pdf_are_detected_r_dsr_6(kluis, tmp_path):
    """R-DSR-6: the certificate verifies; a changed fact, another key or another PDF does not."""
    person_id, _ = person_with_everything(kluis, claims=1)
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    text = erasure.Runner(kluis, "test").run(job_id).certificate
    json_path, pdf_path = certificate.write_files(text, tmp_path, "cert")
    assert pdf_path.read_bytes().startswith(b"%PDF")
    certificate.verify_pdf(pdf_path.read_bytes(), json_path.read_bytes())
    signed = json.loads(text)
    signed["certificate"]["kept"] = []
    with pytest.raises(certificate.NotGenuine) as altered:
        certificate.verify(json.dumps(signed))
    assert altered.value.code == "certificate_altered"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    with pytest.raises(certificate.NotGenuine) as other:
        certificate.verify(text, Ed25519PrivateKey.generate().public_key())
    assert other.value.code == "certificate_wrong_key"
    with pytest.raises(certificate.NotGenuine):
        certificate.verify_pdf(pdf_path.read_bytes(), text.replace("financial", "financiaL"))
    with pytest.raises(certificate.NotGenuine):
        certificate.verify(b"{not json")


def test_refusing_or_pausing_an_erasure_request_stops_its_job_before_any_data_goes_r_dsr_6(kluis):
    """R-DSR-6 / R-DSR-2: waiting on the person takes the job off the queue; starting again puts it back;
    a refusal leaves every record in place. Once data went, the erasure cannot be refused any more."""
    person_id, _ = person_with_everything(kluis, claims=0)
    held = len(records_of(kluis, person_id))
    request_id = erasure_request(kluis, person_id, instruction="verwijderen")
    start(kluis, request_id)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").wait_on_person(request_id)
    assert job_for(kluis, person_id).state == JobState.CANCELLED
    assert erasure.Runner(kluis, "test").run_due() == 0 and len(records_of(kluis, person_id)) == held
    start(kluis, request_id)
    assert job_for(kluis, person_id).state == JobState.QUEUED
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").refuse(request_id, "Bewaren is nodig voor een lopend geschil.")
    assert erasure.Runner(kluis, "test").run_due() == 0 and len(records_of(kluis, person_id)) == held

    other, _ = person_with_everything(kluis, email="ander@example.nl", phone="06 22334455", claims=0)
    other_request = erasure_request(kluis, other, instruction="verwijderen")
    start(kluis, other_request)
    assert erasure.Runner(kluis, "test").run_due() == 1
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").refuse(other_request, "te laat")


def test_a_dataset_that_is_down_makes_the_erasure_wait_and_never_done_r_dsr_9(kluis, settings):
    """R-DSR-9: a service database that is down: the job waits with a clear reason for staff, the request
    stays in progress and nothing in the vault is touched yet; once it is back, the job finishes."""
    person_id, _ = person_with_everything(kluis, claims=0)
    urls = {k: v.get_secret_value() for k, v in settings.dataset_urls.items()}
    create_demo_schemas(urls, [EMAIL], kluis.clock.now())
    request_id = erasure_request(kluis, person_id, instruction="verwijderen")
    start(kluis, request_id)
    held = len(records_of(kluis, person_id))
    kluis.use_dataset_urls({**urls, "webinars": "postgresql+psycopg://kluis:geheim@127.0.0.1:1/webinars"})
    job = erasure.Runner(kluis, "test").run(job_for(kluis, person_id).id)
    assert job.state == JobState.WAITING and job.step == "datasets" and job.attempts == 1
    assert "webinars" in job.last_error and "geheim" not in job.last_error
    assert len(records_of(kluis, person_id)) == held and identifier_count(kluis, person_id) == 2
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).state == "in_progress"
    assert erasure.Runner(kluis, "test").run_due() == 0  # not due again before its backoff
    kluis.use_dataset_urls(urls)
    kluis.clock.advance(timedelta(minutes=2))
    assert erasure.Runner(kluis, "test").run_due() == 1
    job = job_for(kluis, person_id)
    facts = certificate.verify(job.certificate)
    assert {d["dataset"] for d in facts["datasets"]} == {"benmobiel", "webinars"}
    assert all(d["rows"] > 0 for d in facts["datasets"])
    kept = [d for d in facts["datasets"] if d["strategy"] == "keep"]
    assert kept and all("fiscal" in d["kept_reason"] for d in kept)
    with kluis.db.sessions() as session:
        assert session.get(DataSubjectRequest, request_id).state == "done"


def test_recipients_of_erased_categories_are_told_and_named_in_the_certificate_r_dsr_6(kluis, catcher):
    """R-DSR-6 / Art. 19: a recipient with a contact in the policy gets a mail (ids and categories only);
    the others are listed for staff to tell another way; the certificate names them all with the channel."""
    recipients = [r.model_copy(update={"contact": "privacy@groep.example.nl"}) if r.id == "group_companies" else r
                  for r in kluis.policy.recipients]
    kluis.policy = kluis.policy.model_copy(update={"recipients": recipients})
    person_id, _ = person_with_everything(kluis, claims=0)
    # The disclosure log decides who is told: these two received basic data; business partners did not.
    log_disclosures(kluis, person_id, {"recipient:group_companies": ["basic"], "processor:hosting": ["basic"]},
                    reference="GRP")
    with kluis.db.transaction() as session:
        job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
    job = erasure.Runner(kluis, "test").run(job_id)
    send_all(kluis)
    told = {r["id"]: r["channel"] for r in certificate.verify(job.certificate)["recipients_told"]}
    assert told == {"group_companies": "mail", "hosting": "other"}
    notices = [m for m in catcher.messages if m.to == ("privacy@groep.example.nl",)]
    assert len(notices) == 1 and "GRP-1" in notices[0].text
    assert str(person_id) not in notices[0].text and EMAIL not in notices[0].text
    assert "Verwijdering van persoonsgegevens" in notices[0].subject


def test_with_the_key_store_in_the_data_database_vault_keys_and_certificate_commit_together_r_vlt_5(settings, clock,
                                                                                                 empty_datasets):
    """R-DSR-6 / R-VLT-5 with PostgreSQL's default set-up (one database for data and keys): the kept claims are
    sealed under a fresh key that takes the person's key's place in the same transaction, the old key is gone,
    the claims open with the new key, and the certificate verifies."""
    from kluis import schema
    from kluis.wiring import build

    kluis = build(settings.model_copy(update={"keystore_url": settings.database_url}), clock=clock)
    try:
        schema.upgrade(kluis.db)
        for name, url in settings.dataset_urls.items():
            shutil.copyfile(empty_datasets[name], url.get_secret_value().removeprefix("sqlite:///"))
        assert kluis.db.key_engine is kluis.db.engine
        person_id, _ = person_with_everything(kluis, claims=2)
        with kluis.db.sessions() as session:
            old_key = kluis.keystore.data_keys(session, [person_id])[person_id]
        with kluis.db.transaction() as session:
            job_id = erasure.queue(session, kluis, person_id, Reason.STAFF, "test").id
        job = erasure.Runner(kluis, "test").run(job_id)
        assert job.state == JobState.DONE and job.step == "done"
        assert sorted(json.loads(p)["amount"] for p in readable(kluis, person_id)) == ["10.50", "11.50"]
        with kluis.db.sessions() as session:
            keys = kluis.keystore.data_keys(session, [person_id, job_id])
        assert list(keys) == [person_id] and keys[person_id] != old_key
        claim = records_of(kluis, person_id)[0]
        with pytest.raises(Unreadable):
            open_sealed(old_key, person_id, claim.id, claim.category, claim.ciphertext)
        assert identifier_count(kluis, person_id) == 0
        facts = certificate.verify(job.certificate)
        assert [(k["category"], k["records"]) for k in facts["kept"]] == [("financial", 2)]
        assert facts["erased"]["identifiers"] == 2
    finally:
        kluis.close()

"""What the person is told about their erasure (R-DSR-6, R-RET-3), over the real SMTP test server: the final mail
carries the signed certificate; what a legal obligation or a legal hold keeps is named with its ground, until when
(Amsterdam calendar date, or why it cannot be dated yet) and the one purpose it is restricted to, in the mail, the
certificate and the request's status page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tests.integration.erasure.erasure_support import person_with_everything, records_of
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, send_all

from kluis.erasure import certificate
from kluis.erasure import service as erasure
from kluis.erasure.models import ErasureJob
from kluis.erasure.rules import JobState
from kluis.mail.models import Outbox
from kluis.policy.render import fill
from kluis.retention import holds
from kluis.retention import service as retention
from kluis.rights.service import Rights

EMAIL = "wissen@example.nl"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def _request(kluis, person_id, lang="nl"):
    """An erasure request from the account page, with the employer's instruction for the data held for it."""
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "test")
        received = rights.receive_from_account(person_id, "erasure", lang)
        if received.request.processor_role:
            rights.record_employer_instruction(received.request.id, "Verwijderen; declaraties fiscaal bewaren",
                                              "erase")
        rights.start(received.request.id)
        return received.request.id, received.token


def _job(kluis, request_id):
    with kluis.db.sessions() as session:
        job = session.scalars(select(ErasureJob).where(ErasureJob.request_id == request_id)).one()
        session.expunge(job)
        return job


def _trusted(kluis):
    return certificate.private_key(kluis.settings.certificate_key.get_secret_value()).public_key()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_r_dsr_6_the_final_mail_carries_the_signed_certificate_and_names_what_is_kept(kluis, catcher, client, lang):
    person_id, _ = person_with_everything(kluis, claims=2)
    settled = next(r.id for r in records_of(kluis, person_id) if r.category == "financial")
    with kluis.db.transaction() as session:  # one claim settled in 2025: due on 1 January 2033 (7 fiscal years)
        retention.record_event(session, kluis.clock, kluis.policy, "test", person_id, "settled",
                               datetime(2025, 3, 15, 9, tzinfo=UTC), [settled])
    request_id, token = _request(kluis, person_id, lang)
    send_all(kluis)
    job = _job(kluis, request_id)
    assert job.state == JobState.DONE
    [final] = [m for m in catcher.messages if m.to == (EMAIL,) and ("verwijderd" in m.subject or "erased" in m.subject)]
    files = {name: (media_type, data) for name, media_type, data in final.attachments}
    stem = f"erasure-certificate-{job.id}"
    assert set(files) == {f"{stem}.json", f"{stem}.pdf"}
    assert files[f"{stem}.json"][0] == "application/json" and files[f"{stem}.pdf"][0] == "application/pdf"
    facts = certificate.verify(files[f"{stem}.json"][1], _trusted(kluis))  # the signature holds, with our key
    certificate.verify_pdf(files[f"{stem}.pdf"][1], files[f"{stem}.json"][1])
    assert facts["request_id"] == str(request_id) and facts["person_id"] == str(person_id)
    assert EMAIL.encode() not in files[f"{stem}.json"][1]
    assert sorted(((k["until"] or ""), k["ground"], k["restricted_to"]) for k in facts["kept"]) == [
        ("", "legal_obligation", ["fiscal_retention"]), ("2033-01-01", "legal_obligation", ["fiscal_retention"])]
    # R-RET-3 in the mail: category, ground named in the policy, until when (or why not yet), restricted purpose.
    category = kluis.policy.category("financial").name.get(lang)
    rule = next(r for r in kluis.policy.retention if r.id == "expense_claims")
    reason = fill(kluis.policy, rule.reason.get(lang), lang)  # type: ignore[union-attr]
    purpose = kluis.policy.purpose("fiscal_retention").name.get(lang)
    words = {"nl": ("1 januari 2033", "nog niet te dateren", f"Alleen nog gebruikt voor: {purpose}"),
             "en": ("1 January 2033", "cannot be dated yet", f"Used only for: {purpose}")}[lang]
    for text in (final.text, final.html):
        assert category in text and reason in text
        assert all(w in text for w in words), text
    # Rendered at send time from ids: the outbox row holds none of it, and its sealed address is gone.
    with kluis.db.sessions() as session:
        [row] = [r for r in session.scalars(select(Outbox)) if r.context.get("notice") == "erased"]
    assert set(row.context) == {"notice", "request_id", "job_id"} and row.sealed_to is None
    # The status page says the same.
    page = client.get(f"/privacy-centre/requests/{token}?lang={lang}")
    assert page.status_code == 200 and category in page.text and words[0] in page.text and words[2] in page.text


def test_r_dsr_6_the_final_mail_waits_for_the_certificate_and_then_carries_it(kluis, catcher):
    person_id, _ = person_with_everything(kluis, claims=0)
    key = kluis.settings.certificate_key
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": None})
    request_id, _ = _request(kluis, person_id, "en")
    send_all(kluis)
    assert _job(kluis, request_id).state == JobState.WAITING  # erased, not yet certified
    assert [m for m in catcher.messages if "erased" in m.subject] == []
    kluis.settings = kluis.settings.model_copy(update={"certificate_key": key})
    assert erasure.Runner(kluis, "test").run(_job(kluis, request_id).id).state == JobState.DONE
    send_all(kluis)
    [final] = [m for m in catcher.messages if "erased" in m.subject]
    assert final.to == (EMAIL,) and "Nothing." in final.text
    [signed] = [data for name, _, data in final.attachments if name.endswith(".json")]
    assert certificate.verify(signed, _trusted(kluis))["kept"] == []


def test_r_ret_3_a_legal_hold_on_the_person_is_told_with_ground_date_and_restriction(kluis, catcher, client):
    person_id, _ = person_with_everything(kluis, claims=1)
    with kluis.db.transaction() as session:
        hold = holds.place(session, kluis.clock, kluis.policy, "test", scope="person", person_id=person_id,
                           reason="litigation", reference="RB-2026-88", until=datetime(2027, 6, 30, 22, tzinfo=UTC))
    request_id, token = _request(kluis, person_id, "nl")
    send_all(kluis)
    send_all(kluis)
    assert _job(kluis, request_id).state == JobState.WAITING
    [held] = [m for m in catcher.messages if "nog niet verwijderen" in m.subject]
    assert held.to == (EMAIL,)
    for text in (held.text, held.html):
        assert "juridische blokkade (legal hold) vanwege een juridische procedure" in text
        assert "1 juli 2027" in text  # the hold's end, 30 June 22:00 UTC, is 1 July in Amsterdam
        assert "Alleen nog gebruikt voor: de procedure, controle of het onderzoek waarvoor de blokkade geldt" in text
        assert "Autoriteit Persoonsgegevens" in text
    with kluis.db.sessions() as session:  # restricted to the hold's purpose from now on
        gate = kluis.gate(session, "test")
        assert not gate.decide(person_id, "marketing_email").allowed
        assert gate.decide(person_id, "fiscal_retention").allowed
    page = client.get(f"/privacy-centre/requests/{token}")
    assert "juridische procedure" in page.text and "1 juli 2027" in page.text
    with kluis.db.transaction() as session:  # the hold ends: the erasure goes ahead, and its final mail follows
        holds.release(session, kluis.clock, "test", hold.id)
    erasure.Runner(kluis, "test").run(_job(kluis, request_id).id)
    send_all(kluis)
    assert len([m for m in catcher.messages if "nog niet verwijderen" in m.subject]) == 1
    [final] = [m for m in catcher.messages if "verwijderd" in m.subject and m is not held]
    assert final.to == (EMAIL,) and len(final.attachments) == 2 and "Financiële informatie (1)" in final.text

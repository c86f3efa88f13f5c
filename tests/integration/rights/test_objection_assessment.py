"""An objection to processing on legitimate interest, made by request, stops that processing for the person from
when it reached benVitaal until the DPO assesses it (Art. 21(1)); the DPO upholds it or records compelling grounds,
and the person is told (R-GATE-1, R-DSR-7). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.helpers import api_key
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.audit.models import AuditEvent
from kluis.gate.models import Objection
from kluis.kit.errors import Conflict, Invalid
from kluis.rights.models import DataSubjectRequest
from kluis.rights.service import Rights

GROUNDS = "Fraudepreventie: de beveiligingslogboeken zijn nodig om misbruik van accounts op te sporen."


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def objection_request(kluis, scope="legitimate_interest", lang="nl"):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request = Rights(session, kluis, "account").receive_from_account(person_id, "objection", lang, scope).request
    return person_id, request.id


def decide_over_http(client, auth, person_id, purpose):
    answer = client.post("/api/v1/decisions", json={"person_id": str(person_id), "purpose": purpose}, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def request_and_objection(kluis, request_id):
    with kluis.db.sessions() as session:
        request = session.get(DataSubjectRequest, request_id)
        objection = session.get(Objection, (request.person_id, request.objection_id)) if request.objection_id else None
        return request, objection


def test_r_gate_1_r_dsr_7_objection_on_legitimate_interest_stops_processing_while_the_dpo_assesses_it(client, kluis):
    """From the moment of the (verified) objection the gate refuses, over the fast path and the endpoint alike,
    with its own reason; staff cannot simply close the request: the DPO assesses it first."""
    auth = api_key(kluis, ["security", "support", "profiling"])
    person_id, request_id = objection_request(kluis)
    for purpose in ("security", "support"):
        refused = decide_over_http(client, auth, person_id, purpose)
        assert (refused["allowed"], refused["reason"], refused["facts"]["objection"]) == (
            False, "objection_pending", "legitimate_interest")
        batch = client.post("/api/v1/decisions", json={"items": [{"person_id": str(person_id), "purpose": purpose}]},
                            headers=auth).json()["decisions"][0]
        assert batch["reason"] == "objection_pending"
        with kluis.db.sessions() as session:
            assert kluis.gate(session, "test").decide(person_id, purpose).reason == "objection_pending"
    request, objection = request_and_objection(kluis, request_id)
    assert (objection.assessment, objection.at, objection.on_behalf_of) == ("pending", request.received_at, "person")
    for close in (lambda rights: rights.carry_out(request_id), lambda rights: rights.complete(request_id),
                  lambda rights: rights.refuse(request_id, "not founded")):
        with pytest.raises(Conflict) as pending, kluis.db.transaction() as session:
            rights = Rights(session, kluis, "staff:test")
            rights.start(request_id)
            close(rights)
        assert pending.value.code == "objection_pending"
    assert request_and_objection(kluis, request_id)[0].state == "verified"


def test_r_gate_1_objection_by_letter_counts_from_its_receipt(kluis, clock):
    """Staff register a letter received days ago, identity verified: the objection is dated at receipt."""
    person_id, _ = new_person(kluis)
    received = clock.now() - timedelta(days=3)
    with kluis.db.transaction() as session:
        request_id = Rights(session, kluis, "staff:test").register_by_staff(
            "objection", received, "brief 2026-118", scope="legitimate_interest", person_id=person_id,
            verification="signature matches the account").request.id
    _, objection = request_and_objection(kluis, request_id)
    assert objection.at == received and objection.assessment == "pending"


def test_r_gate_1_an_unverified_objection_stops_nothing_until_verified_then_counts_from_receipt(kluis, clock,
                                                                                                 catcher):
    """Anyone can type someone's address: an unverified claim stops no processing. Once the code confirms it, the
    objection holds, dated when the request reached benVitaal."""
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request_id = Rights(session, kluis, "person").receive_public(
            "objection", "vrager@example.nl", "nl", "legitimate_interest").request.id
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(person_id, "security").allowed
    send_all(kluis)
    code = re.search(r"^\s+(\d{6})\s*$", catcher.messages[-1].text, re.M).group(1)
    clock.advance(timedelta(minutes=10))
    with kluis.db.transaction() as session:
        assert Rights(session, kluis, "person").verify_code(request_id, code)
    request, objection = request_and_objection(kluis, request_id)
    assert objection.at == request.received_at < request.verified_at
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(person_id, "security").reason == "objection_pending"


@pytest.mark.parametrize(("lang", "words"), [
    ("nl", ("dwingende gerechtvaardigde gronden", "Autoriteit Persoonsgegevens", "klacht")),
    ("en", ("compelling legitimate grounds", "Autoriteit Persoonsgegevens", "complaint"))])
def test_r_dsr_7_compelling_grounds_resume_processing_and_the_person_is_told_them(client, kluis, catcher, lang,
                                                                                   words):
    """R-GATE-1 / R-DSR-7: the DPO's grounds lift the objection (audited, without the text); the person gets a
    mail through the outbox with the grounds and their right to complain to the Autoriteit Persoonsgegevens.
    Direct marketing stays stopped: no grounds override that part of the objection (Art. 21(3))."""
    auth = api_key(kluis, ["security", "profiling"])
    person_id, request_id = objection_request(kluis, lang=lang)
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").assess_objection(request_id, False, "  ")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").assess_objection(request_id, False, GROUNDS)
    assert decide_over_http(client, auth, person_id, "security")["allowed"]
    assert decide_over_http(client, auth, person_id, "profiling")["reason"] == "objected"
    request, objection = request_and_objection(kluis, request_id)
    assert (request.state, objection.assessment, objection.grounds, objection.lifted_by) == (
        "done", "overridden", GROUNDS, "dpo")
    with kluis.db.sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "gate.objection_assessed")
                                  .order_by(AuditEvent.seq)).all()
    assert event.details == {"scope": "legitimate_interest", "assessment": "overridden"}
    assert GROUNDS not in str(event.details)
    send_all(kluis)
    [told] = [m for m in catcher.messages if GROUNDS in m.text]
    assert told.to == ("vrager@example.nl",) and all(word in told.text for word in words)


def test_r_dsr_7_an_upheld_objection_stays_in_force(client, kluis, catcher):
    auth = api_key(kluis, ["security"])
    person_id, request_id = objection_request(kluis, lang="en")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").assess_objection(request_id, True, "Your interests prevail.")
    refused = decide_over_http(client, auth, person_id, "security")
    assert (refused["allowed"], refused["reason"]) == (False, "objected")
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:dpo").assess_objection(request_id, False, GROUNDS)
    send_all(kluis)
    assert any("Your objection is upheld" in m.subject and "Your interests prevail." in m.text
               for m in catcher.messages)


def test_r_gate_1_an_objection_to_direct_marketing_holds_at_once_without_assessment(kluis):
    person_id, request_id = objection_request(kluis, scope="marketing")
    _, objection = request_and_objection(kluis, request_id)
    assert objection.assessment is None
    with kluis.db.transaction() as session:
        assert Rights(session, kluis, "staff:test").carry_out(request_id).state == "done"
        assert kluis.gate(session, "test").decide(person_id, "profiling").reason == "objected"


def test_r_gate_1_staff_withdraw_an_objection_in_the_console_only_with_the_persons_word(client, kluis, clock):
    person_id, request_id = objection_request(kluis)
    path = f"/console/requests/{request_id}"
    signed_in(client, kluis, clock, "support")
    missing = client.post(f"{path}/withdraw-objection", data={"csrf": csrf(client, path), "reference": " "})
    assert missing.status_code == 422
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(person_id, "security").reason == "objection_pending"
    done = client.post(f"{path}/withdraw-objection", data={"csrf": csrf(client, path), "reference": "mail 2026-12-02"})
    assert done.status_code == 200 and "mail 2026-12-02" in done.text
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(person_id, "security").allowed
    with kluis.db.transaction() as session:
        assert Rights(session, kluis, "staff:test").carry_out(request_id).state == "done"


def test_r_gate_1_only_the_dpo_assesses_an_objection_in_the_console(client, kluis, clock):
    person_id, request_id = objection_request(kluis)
    path = f"/console/requests/{request_id}"
    signed_in(client, kluis, clock, "support")
    page = client.get(path).text
    assert "objection_pending" in page and "Uphold the objection" not in page
    refused = client.post(f"{path}/assess", data={"csrf": csrf(client, path), "outcome": "overridden",
                                                  "grounds": GROUNDS})
    assert refused.status_code == 403
    client.cookies.clear()
    signed_in(client, kluis, clock, "dpo")
    assert "Uphold the objection" in client.get(path).text
    done = client.post(f"{path}/assess", data={"csrf": csrf(client, path), "outcome": "overridden", "grounds": GROUNDS})
    assert done.status_code == 200 and GROUNDS in done.text
    with kluis.db.sessions() as session:
        assert kluis.gate(session, "test").decide(person_id, "security").allowed

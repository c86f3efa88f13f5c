"""The gate over HTTP, consent with proof, objection and restriction taking effect at once
(R-GATE-1, R-CONS-1, R-DSR-7)."""

from uuid import UUID

import pytest
from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.access.service import PERSON_ACCOUNT, create_key
from kluis.audit.models import AuditEvent
from kluis.consent.models import ConsentEvent
from kluis.gate.models import Objection

PURPOSES = ["accounts", "marketing_email", "profiling", "security", "expense_claims", "support"]
NOTICE = "Ja, stuur mij de nieuwsbrief van benVitaal. U kunt zich altijd afmelden."


def _person(client, auth, **extra):
    body = {"subject_types": ["lead"], "identifiers": [{"kind": "email", "value": "lead@example.nl"}]} | extra
    response = client.post("/api/v1/people", json=body, headers=headers(auth, "accounts"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _decide(client, auth, pid, purpose):
    response = client.post("/api/v1/decisions", json={"person_id": pid, "purpose": purpose}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_r_cons_1_consent_with_proof_then_withdrawal_takes_effect_at_once(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    assert _decide(client, auth, pid, "marketing_email")["reason"] == "no_consent"
    give = {
        "purpose": "marketing_email",
        "action": "given",
        "method": "form",
        "notice_text": NOTICE,
        "lang": "nl",
        "ip": "203.0.113.77",
    }
    assert (
        client.post(f"/api/v1/people/{pid}/consents", json=give, headers=headers(auth, "marketing_email")).status_code
        == 201
    )
    decision = _decide(client, auth, pid, "marketing_email")
    assert decision["allowed"] and decision["reason"] == "consent" and decision["facts"]["consent_id"]
    withdraw = {"purpose": "marketing_email", "action": "withdrawn", "method": "unsubscribe_link"}
    assert (
        client.post(
            f"/api/v1/people/{pid}/consents", json=withdraw, headers=headers(auth, "marketing_email")
        ).status_code
        == 201
    )
    assert _decide(client, auth, pid, "marketing_email")["reason"] == "consent_withdrawn"
    history = client.get(f"/api/v1/people/{pid}/consents", headers=headers(auth, "marketing_email")).json()
    given, withdrawn = history["consents"]
    assert (given["action"], withdrawn["action"]) == ("given", "withdrawn")
    assert given["notice_text"] == NOTICE and given["ip_network"] == "203.0.113.0/24"
    assert given["policy_version"] == withdrawn["policy_version"]
    with kluis.db.sessions() as session:
        raw = session.execute(select(ConsentEvent.proof)).scalars().all()
    assert all(b"203.0.113" not in (p or b"") for p in raw)


def test_r_cons_1_ipv6_truncated_to_48_and_bad_consent_changes_nothing(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    give = {
        "purpose": "marketing_email",
        "action": "given",
        "method": "form",
        "notice_text": NOTICE,
        "ip": "2001:db8:abcd:12:1:2:3:4",
    }
    assert (
        client.post(f"/api/v1/people/{pid}/consents", json=give, headers=headers(auth, "marketing_email")).status_code
        == 201
    )
    history = client.get(f"/api/v1/people/{pid}/consents", headers=headers(auth, "marketing_email")).json()
    assert history["consents"][0]["ip_network"] == "2001:db8:abcd::/48"
    before_events = _count(kluis, ConsentEvent)
    with kluis.db.sessions() as session:
        head = session.scalar(select(func.count()).select_from(AuditEvent))
    for bad in (
        {**give, "purpose": "profiling"},
        {**give, "notice_text": ""},
        {**give, "method": "telepathy"},
        {**give, "ip": "not-an-ip"},
        {**give, "method": "staff_written_request"},
    ):
        response = client.post(f"/api/v1/people/{pid}/consents", json=bad, headers=headers(auth, "marketing_email"))
        assert response.status_code == 422, bad
    assert _count(kluis, ConsentEvent) == before_events
    with kluis.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == head


def test_r_dsr_7_objection_stops_processing_at_once_and_only_the_person_withdraws_it(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    assert _decide(client, auth, pid, "profiling")["allowed"]
    created = client.post(
        f"/api/v1/people/{pid}/objections", json={"scope": "profiling"}, headers=headers(auth, "support")
    )
    assert created.status_code == 201
    refused = _decide(client, auth, pid, "profiling")
    assert not refused["allowed"] and refused["reason"] == "objected"
    assert _decide(client, auth, pid, "security")["allowed"]
    oid = created.json()["id"]
    account = _account_key(kluis)
    withdrawn = client.post(f"/api/v1/people/{pid}/objections/{oid}/withdrawal", headers=headers(account, "support"))
    assert withdrawn.status_code == 200
    assert _decide(client, auth, pid, "profiling")["allowed"]
    with kluis.db.sessions() as session:
        assert session.get(Objection, (UUID(pid), UUID(oid))).lifted_by == "person"
    bad = client.post(f"/api/v1/people/{pid}/objections", json={"scope": "accounts"}, headers=headers(auth, "support"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "scope"


def _account_key(kluis):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="account", purposes=["support"],
                              actor="test", powers=[PERSON_ACCOUNT])
    return {"Authorization": f"Bearer {token}"}


def _audit_head(kluis):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("scope", ["marketing", "profiling"])
def test_r_gate_1_r_cons_3_a_service_key_cannot_lift_an_absolute_objection(client, kluis, scope):
    """R-GATE-1 / R-CONS-3: an objection to direct marketing or profiling (Art. 21(2)-(3)) is the person's to
    withdraw. A service's DELETE is refused with problem+json and changes nothing; so is the person's own
    withdrawal route with an ordinary service key (it needs the account page's power)."""
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    oid = client.post(f"/api/v1/people/{pid}/objections", json={"scope": scope},
                      headers=headers(auth, "support")).json()["id"]
    head = _audit_head(kluis)
    lifted = client.delete(f"/api/v1/people/{pid}/objections/{oid}", headers=headers(auth, "support"))
    assert lifted.status_code == 403 and lifted.headers["content-type"].startswith("application/problem+json")
    assert lifted.json()["code"] == "objection_withdrawal_by_person_only"
    by_service = client.post(f"/api/v1/people/{pid}/objections/{oid}/withdrawal", headers=headers(auth, "support"))
    assert by_service.status_code == 403 and by_service.json()["code"] == "power_required"
    refused = _decide(client, auth, pid, "profiling")
    assert (refused["allowed"], refused["reason"]) == (False, "objected")
    with kluis.db.sessions() as session:
        assert session.get(Objection, (UUID(pid), UUID(oid))).lifted_at is None
    assert _audit_head(kluis) == head


def test_r_gate_1_staff_withdraw_an_objection_only_with_a_reference_to_the_persons_word(client, kluis):
    """R-GATE-1: staff act on the person's recorded word (their e-mail or letter), never without it."""
    from kluis.kit.errors import Invalid

    auth = api_key(kluis, PURPOSES)
    pid = UUID(_person(client, auth))
    with kluis.db.transaction() as session:
        oid = kluis.gate(session, "staff:test").object(pid, "marketing", "person").id
    for reference in (None, "  "):
        with pytest.raises(Invalid) as refused, kluis.db.transaction() as session:
            kluis.gate(session, "staff:test").withdraw_objection(pid, oid, "staff", reference)
        assert refused.value.problems[0].path == "reference"
    assert not _decide(client, auth, str(pid), "profiling")["allowed"]
    with kluis.db.transaction() as session:
        kluis.gate(session, "staff:test").withdraw_objection(pid, oid, "staff", "letter 2026-12-01")
    assert _decide(client, auth, str(pid), "profiling")["allowed"]
    with kluis.db.sessions() as session:
        row = session.get(Objection, (pid, oid))
    assert (row.lifted_by, row.lift_reference) == ("staff", "letter 2026-12-01")


def test_r_gate_1_a_service_key_cannot_lift_a_restriction_the_person_asked_for(client, kluis):
    """R-GATE-1 / R-DSR-7: the same class of mistake as lifting an objection: a restriction the person asked for
    is lifted by staff handling their request (Art. 18(3)), not by a service whose processing it restricts."""
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    rid = client.post(f"/api/v1/people/{pid}/restrictions", json={"reason": "accuracy_contested"},
                      headers=headers(auth, "support")).json()["id"]
    head = _audit_head(kluis)
    lifted = client.delete(f"/api/v1/people/{pid}/restrictions/{rid}", headers=headers(auth, "support"))
    assert lifted.status_code == 403 and lifted.json()["code"] == "restriction_lift_not_allowed"
    assert _decide(client, auth, pid, "security")["reason"] == "restricted"
    assert _audit_head(kluis) == head


def test_r_dsr_7_restricted_person_data_is_not_returned(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    record = {
        "category": "web_traffic",
        "purposes": ["security"],
        "legal_basis": "legitimate_interest",
        "source": "cookies",
        "content": {"ip": "198.51.100.1"},
    }
    assert (
        client.post(f"/api/v1/people/{pid}/records", json=record, headers=headers(auth, "security")).status_code == 201
    )
    own = {"reason": "legal_claims", "on_behalf_of": "staff"}
    restriction = client.post(f"/api/v1/people/{pid}/restrictions", json=own, headers=headers(auth, "support"))
    assert restriction.status_code == 201
    read = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "security"))
    assert read.status_code == 403 and read.json()["errors"][0]["code"] == "restricted"
    assert "198.51.100.1" not in read.text
    rid = restriction.json()["id"]
    assert (
        client.delete(f"/api/v1/people/{pid}/restrictions/{rid}", headers=headers(auth, "support")).status_code == 204
    )
    read = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "security"))
    assert read.status_code == 200 and read.json()["records"][0]["content"] == {"ip": "198.51.100.1"}


def test_r_gate_1_contract_and_processor_purposes_follow_relations(client, kluis, clock):
    from datetime import timedelta

    auth = api_key(kluis, PURPOSES)
    employer = client.post("/api/v1/employers", json={"name": "Gemeente Voorbeeld"}, headers=auth).json()["id"]
    pid = _person(client, auth, subject_types=["employee"], employer_id=employer)
    assert _decide(client, auth, pid, "expense_claims")["reason"] == "no_employer_instruction"
    assert _decide(client, auth, pid, "accounts")["reason"] == "no_active_relation"
    created = client.post(
        f"/api/v1/people/{pid}/relations", json={"kind": "employment"}, headers=headers(auth, "accounts")
    )
    assert created.status_code == 201
    assert _decide(client, auth, pid, "expense_claims")["allowed"]
    assert _decide(client, auth, pid, "accounts")["allowed"]
    clock.advance(timedelta(days=1))
    rel = created.json()["id"]
    assert (
        client.post(f"/api/v1/people/{pid}/relations/{rel}/end", json={}, headers=headers(auth, "accounts")).status_code
        == 200
    )
    assert _decide(client, auth, pid, "expense_claims")["reason"] == "no_employer_instruction"


def test_r_gate_1_batch_decisions_in_order_and_bad_questions_refused(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    items = [{"person_id": pid, "purpose": p} for p in ("profiling", "marketing_email")] * 1000
    items.append({"person_id": "00000000-0000-4000-8000-000000000000", "purpose": "security"})
    response = client.post("/api/v1/decisions", json={"items": items}, headers=auth)
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert len(decisions) == 2001
    assert [d["allowed"] for d in decisions[:2]] == [True, False] and decisions[-1]["reason"] == "person_unknown"
    typo = client.post("/api/v1/decisions", json={"person_id": pid, "purpose": "profilng"}, headers=auth)
    assert typo.status_code == 422 and "profiling" in typo.json()["errors"][0]["message"]
    narrow = api_key(kluis, ["security"], service="siem")
    foreign = client.post(
        "/api/v1/decisions", json={"items": [{"person_id": pid, "purpose": "profiling"}]}, headers=narrow
    )
    assert foreign.status_code == 403 and foreign.json()["errors"][0]["path"] == "items[0].purpose"
    too_many = client.post("/api/v1/decisions", json={"items": [items[0]] * 10_001}, headers=auth)
    assert too_many.status_code == 422


def test_r_dsr_7_lifting_a_restriction_over_the_api_tells_the_person_first(client, kluis):
    """R-DSR-7 / Art. 18(3): the notice is queued in the lifting transaction, before the lift is recorded;
    lifting again (already lifted) queues nothing more."""
    import uuid

    from kluis.audit.models import AuditEvent
    from kluis.mail.models import Outbox

    auth = api_key(kluis, PURPOSES)
    pid = _person(client, auth)
    rid = client.post(f"/api/v1/people/{pid}/restrictions", json={"reason": "legal_claims", "on_behalf_of": "staff"},
                      headers=headers(auth, "support")).json()["id"]
    for _ in range(2):
        assert client.delete(f"/api/v1/people/{pid}/restrictions/{rid}",
                             headers=headers(auth, "support")).status_code == 204
    with kluis.db.sessions() as session:
        notices = [o for o in session.scalars(select(Outbox).where(Outbox.person_id == uuid.UUID(pid)))
                   if o.context.get("notice") == "restriction_lifted"]
        assert len(notices) == 1 and notices[0].context["reference"] == rid
        order = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                 if e.action in ("mail.queued", "gate.restriction_lifted")]
    assert order[-2:] == ["mail.queued", "gate.restriction_lifted"]

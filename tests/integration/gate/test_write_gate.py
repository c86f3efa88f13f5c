"""Writes and lookups are processing too (R-GATE-1, R-GATE-2): every vault write and every lookup names its
purpose and the gate decides it like a read, with the same reasons, and a refusal is audited; only the writes the
policy names as creating the basis (register, relation, consent, objection) go ahead without it."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.audit.models import AuditEvent
from kluis.gate.service import Gate
from kluis.policy.schemas import BasisWrite
from kluis.vault.models import Identifier, Person, Record

EMAIL = "lezer.zonder.toestemming@example.nl"
NOTICE = "Ja, stuur mij de nieuwsbrief van benVitaal. U kunt zich altijd afmelden."
RECORD = {"category": "basic", "purposes": ["marketing_email"], "legal_basis": "consent", "source": "direct",
          "content": {"name": "Lies Lezer"}}


def _count(kluis, model, *where):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _refusals(kluis):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "processing.refused")
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


def _registered(client, kluis, email=EMAIL):
    """A lead registered for its account (a contract key: register and relation are its basis writes)."""
    accounts = headers(api_key(kluis, ["accounts"], service="accounts"), "accounts")
    made = client.post("/api/v1/people", headers=accounts, json={
        "subject_types": ["lead"], "identifiers": [{"kind": "email", "value": email}]})
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert client.post(f"/api/v1/people/{pid}/relations", headers=accounts, json={"kind": "account"}).status_code == 201
    return pid


def _refused(response, *paths):
    assert response.status_code == 403, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json" and body["code"] == "processing_refused"
    assert {(e["path"], e["code"]) for e in body["errors"]} == {(path, "no_consent") for path in paths}


def test_r_gate_1_a_marketing_key_cannot_change_file_or_look_up_a_person_without_consent(client, kluis):
    pid = _registered(client, kluis)
    marketing = headers(api_key(kluis, ["marketing_email"], service="nieuwsbrief"), "marketing_email")
    records, identifiers = _count(kluis, Record), _count(kluis, Identifier)

    _refused(client.patch(f"/api/v1/people/{pid}", headers=marketing, json={
        "add_identifiers": [{"kind": "phone", "value": "06 12345678"}]}), "purpose")
    _refused(client.patch(f"/api/v1/people/{pid}", headers=marketing, json={"subject_types": ["customer_contact"]}),
             "purpose")
    _refused(client.post(f"/api/v1/people/{pid}/records", headers=marketing, json=RECORD), "record.purposes[0]")
    _refused(client.post("/api/v1/records/batch", headers=marketing, json={"items": [RECORD | {"person_id": pid}]}),
             "items[0].purposes[0]")
    # Refused and unknown get the same answer: a lookup never tells whether the person exists.
    lookup = {"identifier": {"kind": "email", "value": EMAIL}}
    unknown = {"identifier": {"kind": "email", "value": "niemand@example.nl"}}
    refused, missing = (client.post("/api/v1/people/lookup", headers=marketing, json=body)
                        for body in (lookup, unknown))
    assert refused.status_code == missing.status_code == 404 and refused.json() == missing.json()
    assert refused.json()["code"] == "person_not_found"
    assert refused.headers["content-type"] == missing.headers["content-type"] == "application/problem+json"

    assert (_count(kluis, Record), _count(kluis, Identifier)) == (records, identifiers)
    with kluis.db.sessions() as session:
        assert session.get(Person, UUID(pid)).subject_types == ["lead"]
    events = _refusals(kluis)
    assert [(e.details["operation"], e.details["reasons"]) for e in events] == [
        ("person.update", ["no_consent"]), ("person.update", ["no_consent"]), ("records.add", ["no_consent"]),
        ("records.add", ["no_consent"]), ("person.lookup", ["no_consent"]), ("person.lookup", ["person_unknown"])]
    assert all(e.object_ids == [pid] for e in events[:5]) and events[5].object_ids == []
    assert all(e.actor.startswith("key:") and e.details["purpose"] == "marketing_email" for e in events)
    assert not any(EMAIL in str(e.details) or "Lies" in str(e.details) for e in events)


def test_r_gate_1_with_consent_the_marketing_key_may(client, kluis):
    pid = _registered(client, kluis)
    marketing = headers(api_key(kluis, ["marketing_email"], service="nieuwsbrief"), "marketing_email")
    # Recording the consent is the basis write itself: no basis is needed before it.
    given = client.post(f"/api/v1/people/{pid}/consents", headers=marketing, json={
        "purpose": "marketing_email", "action": "given", "method": "form", "notice_text": NOTICE, "lang": "nl"})
    assert given.status_code == 201, given.text
    assert client.patch(f"/api/v1/people/{pid}", headers=marketing, json={
        "add_identifiers": [{"kind": "phone", "value": "06 12345678"}]}).status_code == 200
    assert client.post(f"/api/v1/people/{pid}/records", headers=marketing, json=RECORD).status_code == 201
    assert client.post("/api/v1/records/batch", headers=marketing,
                       json={"items": [RECORD | {"person_id": pid}]}).status_code == 201
    found = client.post("/api/v1/people/lookup", headers=marketing,
                        json={"identifier": {"kind": "phone", "value": "+31612345678"}})
    assert found.status_code == 200 and found.json()["id"] == pid
    assert _count(kluis, Record) == 2 and _refusals(kluis) == []


def test_r_gate_1_a_contract_key_registers_a_new_person_and_a_purpose_without_register_may_not(client, kluis):
    pid = _registered(client, kluis)  # the accounts key: `register` and `relation` are its basis writes
    accounts = headers(api_key(kluis, ["accounts"]), "accounts")
    record = {"category": "account", "purposes": ["accounts"], "legal_basis": "contract", "source": "direct",
              "content": {"username": "lies"}}
    assert client.post(f"/api/v1/people/{pid}/records", headers=accounts, json=record).status_code == 201
    # Legitimate interest needs nothing recorded first: somebody new has not objected.
    leads = headers(api_key(kluis, ["lead_management"]), "lead_management")
    assert client.post("/api/v1/people", headers=leads, json={"subject_types": ["lead"]}).status_code == 201
    # A policy whose consent purpose does not name `register`: a marketing key may not register anybody.
    purposes = [p.model_copy(update={"basis_writes": [BasisWrite.CONSENT, BasisWrite.OBJECTION]})
                if p.id == "marketing_email" else p for p in kluis.policy.purposes]
    kluis.policy = kluis.policy.model_copy(update={"purposes": purposes})
    people = _count(kluis, Person)
    marketing = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    refused = client.post("/api/v1/people", headers=marketing, json={
        "subject_types": ["lead"], "identifiers": [{"kind": "email", "value": "nieuw@example.nl"}]})
    _refused(refused, "purpose")
    assert _count(kluis, Person) == people and _count(kluis, Identifier, Identifier.kind == "email") == 1
    event = _refusals(kluis)[-1]
    assert event.details["operation"] == "person.create" and event.object_ids == []


def test_r_gate_1_consent_and_objection_are_recorded_without_a_prior_basis(client, kluis):
    pid = _registered(client, kluis)
    support = headers(api_key(kluis, ["support"]), "support")
    marketing = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    restricted = client.post(f"/api/v1/people/{pid}/restrictions", headers=support,
                             json={"reason": "accuracy_contested"})
    assert restricted.status_code == 201
    # The gate refuses everything but storage now: ordinary writes stop, with the reason ...
    note = {"category": "basic", "purposes": ["support"], "legal_basis": "legitimate_interest", "source": "direct",
            "content": {"name": "Lies"}}
    stopped = client.post(f"/api/v1/people/{pid}/records", headers=support, json=note)
    assert stopped.status_code == 403 and stopped.json()["errors"][0]["code"] == "restricted"
    assert client.post(f"/api/v1/people/{pid}/relations", headers=support,
                       json={"kind": "order"}).json()["errors"][0]["code"] == "restricted"
    # ... but what the person decides is recorded all the same: the policy names these writes.
    for scope in ("profiling", "marketing"):
        objected = client.post(f"/api/v1/people/{pid}/objections", headers=support, json={"scope": scope})
        assert objected.status_code == 201, objected.text
    withdrawn = client.post(f"/api/v1/people/{pid}/consents", headers=marketing, json={
        "purpose": "marketing_email", "action": "withdrawn", "method": "unsubscribe_link"})
    assert withdrawn.status_code == 201, withdrawn.text
    opted_out = client.post(f"/api/v1/people/{pid}/marketing/opt-out", headers=marketing, json={"route": "account"})
    assert opted_out.status_code == 200, opted_out.text
    assert _count(kluis, Record) == 0


def test_r_gate_2_a_batch_is_decided_in_one_go_and_a_refused_person_rejects_it_whole(client, kluis, monkeypatch):
    people = [_registered(client, kluis, f"lezer{n}@example.nl") for n in range(4)]
    marketing = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    for pid in people[:2]:
        assert client.post(f"/api/v1/people/{pid}/consents", headers=marketing, json={
            "purpose": "marketing_email", "action": "given", "method": "form", "notice_text": NOTICE,
            "lang": "nl"}).status_code == 201
    reads = []
    facts = Gate.facts
    monkeypatch.setattr(Gate, "facts", lambda self, ids: reads.append(len(set(ids))) or facts(self, ids))
    items = [RECORD | {"person_id": pid} for pid in (*people, *people)]
    refused = client.post("/api/v1/records/batch", headers=marketing, json={"items": items})
    _refused(refused, "items[2].purposes[0]", "items[3].purposes[0]", "items[6].purposes[0]", "items[7].purposes[0]")
    assert reads == [4], "every person of the batch in one read of the facts"
    assert _count(kluis, Record) == 0
    event = _refusals(kluis)[-1]
    assert sorted(event.object_ids) == sorted(people[2:]) and event.details["count"] == 4
    allowed = client.post("/api/v1/records/batch", headers=marketing, json={"items": items[:2]})
    assert allowed.status_code == 201 and _count(kluis, Record) == 2


def test_r_gate_2_a_refused_read_is_audited_too(client, kluis):
    pid = _registered(client, kluis)
    marketing = headers(api_key(kluis, ["marketing_email"]), "marketing_email")
    refused = client.get(f"/api/v1/people/{pid}/records", headers=marketing)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "no_consent"
    event = _refusals(kluis)[-1]
    assert (event.details["operation"], event.object_ids) == ("records.read", [pid])

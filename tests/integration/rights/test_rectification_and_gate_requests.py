"""Rectification (R-DSR-5) from the profile and by request, with the recipients told (Art. 19); restriction
and objection requests carried out in the gate, and a restriction lifted only after the person is told
(R-DSR-7). SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.helpers import api_key, headers
from tests.integration.rights.rights_support import (
    catcher_fixture,
    log_disclosures,
    mail_settings,
    new_person,
    send_all,
)
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.audit.models import AuditEvent
from kluis.gate.models import Restriction
from kluis.kit.errors import Conflict, Invalid
from kluis.mail.models import Outbox
from kluis.rights import service as rights_service
from kluis.rights.models import DataSubjectRequest, Rectification
from kluis.rights.rules import short_reference
from kluis.rights.service import Rights
from kluis.vault.models import Record
from kluis.vault.schemas import RecordIn

OLD_STREET, NEW_STREET = "Boschstraat 3", "Tongersestraat 88"
GROUP_CONTACT = "privacy@groep.benvitaal.test"
SHARED_BASIC = ("recipient:group_companies", "recipient:business_partners", "processor:hosting",
                "processor:email_delivery", "processor:webinar_platform", "processor:recruitment_system")


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def person_with_records(kluis):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        basic, traffic = kluis.vault(session, "test").add_records(person_id, [
            RecordIn(category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
                     content={"name": "Joep Hermans", "address": {"street": OLD_STREET, "city": "Maastricht"}}),
            RecordIn(category="web_traffic", purposes=["security"], legal_basis="legitimate_interest",
                     source="cookies", content={"ip_address": "192.0.2.7"})])
    # Who received the person's basic data, by the disclosure log (Art. 19 tells these and no one else).
    log_disclosures(kluis, person_id, {party: ["basic"] for party in SHARED_BASIC})
    return person_id, basic, traffic


def content_of(kluis, person_id, record_id):
    with kluis.db.transaction() as session:
        found = [r for r in kluis.vault(session, "test").read_records(person_id, "accounts") if r.id == record_id]
    return found[0].content


def ciphertext(kluis, record_id):
    with kluis.db.sessions() as session:
        return session.scalars(select(Record.ciphertext).where(Record.id == record_id)).one()


def events(kluis, prefix):
    with kluis.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%"))
                                    .order_by(AuditEvent.seq)
                                    .order_by(AuditEvent.seq)))


def with_group_contact(kluis):
    recipients = [r.model_copy(update={"contact": GROUP_CONTACT}) if r.id == "group_companies" else r
                  for r in kluis.policy.recipients]
    kluis.policy = kluis.policy.model_copy(update={"recipients": recipients})


def test_r_dsr_5_self_edit_from_the_profile_resealed_audited_and_recipients_told(client, kluis, catcher):
    person_id, basic, _ = person_with_records(kluis)
    auth = api_key(kluis, ["accounts"], service="account")
    before = ciphertext(kluis, basic)
    done = client.patch(f"/api/v1/people/{person_id}/records/{basic}", headers=headers(auth, "accounts"),
                        json={"fields": {"address": {"street": NEW_STREET, "city": "Maastricht"}}, "lang": "en"})
    assert done.status_code == 200, done.text
    told = {t["party"]: t["channel"] for t in done.json()["told"]}
    # the parties the disclosure log shows received the person's basic data, none without a contact mailed
    assert told == {"recipient:group_companies": "other", "recipient:business_partners": "other",
                    "processor:hosting": "other", "processor:email_delivery": "other",
                    "processor:webinar_platform": "other", "processor:recruitment_system": "other"}
    assert content_of(kluis, person_id, basic)["address"]["street"] == NEW_STREET
    after = ciphertext(kluis, basic)
    assert after != before and NEW_STREET.encode() not in after
    [rectified] = events(kluis, "record.rectified")
    [recorded] = events(kluis, "rectification.recorded")
    assert rectified.details == {"category": "basic", "fields": ["address"]}
    assert "recipient:group_companies=other" in recorded.details["told"]
    assert NEW_STREET not in json.dumps(rectified.details) + json.dumps(recorded.details)
    send_all(kluis)
    [mail] = [m for m in catcher.messages if "corrected" in m.subject]
    assert mail.to == ("vrager@example.nl",) and "Companies in the benVitaal Group: told another way" in mail.text
    assert NEW_STREET not in mail.text


def test_r_dsr_5_self_edit_refuses_fields_the_policy_keeps_and_bad_values_and_writes_nothing(client, kluis):
    person_id, basic, traffic = person_with_records(kluis)
    auth = headers(api_key(kluis, ["accounts"], service="account"), "accounts")
    path = f"/api/v1/people/{person_id}/records"
    kept = client.patch(f"{path}/{traffic}", headers=auth, json={"fields": {"ip_address": "198.51.100.1"}})
    assert kept.status_code == 403 and kept.json()["code"] == "field_not_self_editable"
    unknown = client.patch(f"{path}/{basic}", headers=auth, json={"fields": {"shoe_size": "44"}})
    assert unknown.status_code == 403  # not a field of the category, so not self-editable either
    bsn = client.patch(f"{path}/{basic}", headers=auth, json={"fields": {"name": "BSN 111222333"}})
    assert bsn.status_code == 422 and bsn.json()["code"] == "rectification_invalid"
    assert client.patch(f"{path}/{traffic}", headers=auth, json={"fields": {}}).status_code == 422
    stranger, _ = new_person(kluis, email="ander@example.nl")
    foreign = client.patch(f"/api/v1/people/{stranger}/records/{basic}", headers=auth,
                           json={"fields": {"name": "X"}})
    assert foreign.status_code == 404
    with kluis.db.sessions() as session:
        assert session.scalars(select(Rectification)).first() is None
        assert session.scalars(select(Outbox).where(Outbox.template.like("rights_rec%"))).first() is None
    assert events(kluis, "record.rectified") == [] and content_of(kluis, person_id, basic)["name"] == "Joep Hermans"


def test_r_dsr_5_a_recipient_with_a_contact_gets_the_art_19_notice_by_mail(client, kluis, catcher):
    with_group_contact(kluis)
    person_id, basic, _ = person_with_records(kluis)
    auth = headers(api_key(kluis, ["accounts"], service="account"), "accounts")
    done = client.patch(f"/api/v1/people/{person_id}/records/{basic}", headers=auth, json={"fields": {"name": "J. H."}})
    assert {t["party"]: t["channel"] for t in done.json()["told"]}["recipient:group_companies"] == "mail"
    with kluis.db.sessions() as session:
        [queued] = session.scalars(select(Outbox).where(Outbox.party.is_not(None))).all()
    assert queued.party == "recipient:group_companies" and queued.person_id is None
    send_all(kluis)
    [notice] = [m for m in catcher.messages if m.to == (GROUP_CONTACT,)]
    # The party's own disclosure (its reference) identifies whom it concerns: no Kluis id, name, address or value.
    assert "artikel 19" in notice.text and "REF-1" in notice.text and "naam" in notice.text.lower()
    assert str(person_id) not in notice.text and str(basic) not in notice.text
    assert "J. H." not in notice.text and "vrager@example.nl" not in notice.text
    [person_mail] = [m for m in catcher.messages if m.to == ("vrager@example.nl",)]
    assert "Bedrijven in de benVitaal Groep: per e-mail ingelicht" in person_mail.text


def test_r_dsr_5_staff_carry_out_a_rectification_request_in_the_console(client, kluis, clock, catcher):
    person_id, basic, _ = person_with_records(kluis)
    signed_in(client, kluis, clock, "support")
    made = client.post("/console/requests", data={
        "csrf": csrf(client), "type": "rectification", "received_on": clock.now().date().isoformat(),
        "reference": "mail 77", "person_id": str(person_id), "verification": "known address", "lang": "en"},
        follow_redirects=False)
    path = made.headers["location"]
    page = client.get(path)
    assert f'<option value="{basic}">basic' in page.text and "Correct (recipients are told)" in page.text
    fixed = client.post(f"{path}/rectify", data={"csrf": csrf(client, path), "record_id": str(basic),
                                                 "field": "name", "value": "Joep Hermans-Smeets"})
    assert fixed.status_code == 200 and "recipient:group_companies (other)" in fixed.text
    wrong = client.post(f"{path}/rectify", data={"csrf": csrf(client, path), "record_id": str(basic),
                                                 "field": "shoe_size", "value": "44"})
    assert wrong.status_code == 422
    assert client.post(f"{path}/complete", data={"csrf": csrf(client, path)}).status_code == 200
    assert content_of(kluis, person_id, basic)["name"] == "Joep Hermans-Smeets"
    with kluis.db.sessions() as session:
        request = session.scalars(select(DataSubjectRequest)).one()
        [row] = session.scalars(select(Rectification)).all()
    assert request.state == "done" and row.request_id == request.id and row.by == "staff"
    assert {t["party"] for t in row.told} >= {"recipient:group_companies", "processor:hosting"}
    send_all(kluis)
    [mail] = [m for m in catcher.messages if "corrected" in m.subject]
    assert short_reference(request.id) in mail.text and "Business partners: told another way" in mail.text


def test_r_dsr_5_only_an_open_rectification_request_is_carried_out(kluis):
    person_id, basic, _ = person_with_records(kluis)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:test")
        restriction = rights.receive_from_account(person_id, "restriction", "nl").request.id
        with pytest.raises(Conflict):
            rights.rectify(restriction, basic, {"name": "X"})
        rectification = rights.receive_from_account(person_id, "rectification", "nl").request.id
        rights.refuse(rectification, "Not inaccurate.")
        with pytest.raises(Conflict):
            rights.rectify(rectification, basic, {"name": "X"})


def gate_request(kluis, kind, scope=None):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        request_id = Rights(session, kluis, "test").receive_from_account(person_id, kind, "en", scope).request.id
    return person_id, request_id


def decision(kluis, person_id, purpose):
    with kluis.db.sessions() as session:
        return kluis.gate(session, "test").decide(person_id, purpose)


def test_r_dsr_7_carrying_out_a_restriction_request_makes_the_gate_refuse(client, kluis, clock, catcher):
    person_id, request_id = gate_request(kluis, "restriction")
    assert decision(kluis, person_id, "lead_management").allowed
    signed_in(client, kluis, clock, "support")
    path = f"/console/requests/{request_id}"
    assert "Ground (Art. 18(1))" in client.get(path).text
    missing = client.post(f"{path}/carry-out", data={"csrf": csrf(client, path)})
    assert missing.status_code == 422 and not decision(kluis, person_id, "lead_management").facts.get("restricted")
    done = client.post(f"{path}/carry-out", data={"csrf": csrf(client, path), "reason": "accuracy_contested"})
    assert done.status_code == 200 and "Lift the restriction" in done.text
    refused = decision(kluis, person_id, "lead_management")
    assert (refused.allowed, refused.reason) == (False, "restricted")
    with kluis.db.sessions() as session:
        request = session.get(DataSubjectRequest, request_id)
        restriction = session.get(Restriction, (request.person_id, request.restriction_id))
    assert request.state == "done" and restriction.reference == short_reference(request_id)
    assert restriction.on_behalf_of == "person" and restriction.lifted_at is None


@pytest.mark.parametrize(("scope", "purpose"), [("marketing", "profiling"), ("marketing", "lead_management"),
                                                 ("profiling", "profiling")])
def test_r_dsr_7_an_objection_request_makes_the_gate_refuse_once_verified(kluis, scope, purpose):
    """An objection from the account page is verified at once, so the gate refuses at once; staff close the
    request (an objection on legitimate interest is assessed by the DPO first: test_objection_assessment)."""
    person_id, request_id = gate_request(kluis, "objection", scope)
    refused = decision(kluis, person_id, purpose)
    assert (refused.allowed, refused.reason, refused.facts["objection"]) == (False, "objected", scope)
    with kluis.db.transaction() as session:
        request = Rights(session, kluis, "staff:test").carry_out(request_id)
        assert request.state == "done" and request.objection_id is not None


def restricted(kluis):
    person_id, request_id = gate_request(kluis, "restriction")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:test").carry_out(request_id, "unlawful_processing")
    return person_id, request_id


def test_r_dsr_7_lifting_a_restriction_tells_the_person_first(kluis, catcher):
    person_id, request_id = restricted(kluis)
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:test").lift_restriction(request_id)
    assert decision(kluis, person_id, "lead_management").allowed
    actions = [(e.action, e.details.get("template")) for e in events(kluis, "") if e.action in (
        "mail.queued", "gate.restriction_lifted")]
    assert actions[-2:] == [("mail.queued", "rights_restriction_lifted"), ("gate.restriction_lifted", None)]
    send_all(kluis)
    [mail] = [m for m in catcher.messages if "restriction of your data is being lifted" in m.subject]
    assert mail.to == ("vrager@example.nl",) and short_reference(request_id) in mail.subject


def test_r_dsr_7_without_the_notice_queued_nothing_is_lifted(kluis, monkeypatch):
    person_id, request_id = restricted(kluis)
    before = len(events(kluis, ""))

    def outbox_down(*args, **kwargs):
        raise Invalid("the message was not queued", code="mail_invalid")

    monkeypatch.setattr(rights_service.mail, "enqueue", outbox_down)
    with pytest.raises(Invalid), kluis.db.transaction() as session:
        Rights(session, kluis, "staff:test").lift_restriction(request_id)
    monkeypatch.undo()
    refused = decision(kluis, person_id, "lead_management")
    assert (refused.allowed, refused.reason) == (False, "restricted")
    with kluis.db.sessions() as session:
        assert session.scalars(select(Restriction)).one().lifted_at is None
    assert len(events(kluis, "")) == before


def test_r_dsr_7_only_restriction_and_objection_requests_are_carried_out_in_the_gate(kluis):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        rights = Rights(session, kluis, "staff:test")
        other = rights.receive_from_account(person_id, "rectification", "nl").request.id
        with pytest.raises(Conflict):
            rights.carry_out(other)
        with pytest.raises(Conflict):
            rights.lift_restriction(other)

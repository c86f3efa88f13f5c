"""Art. 19 notices to the recipients and processors that received a person's data (R-DSR-5, R-DSR-7, R-SHR-1):
the disclosure log decides who is told; each party with a contact in the register is mailed in its language
(Dutch for Dutch parties), naming its own disclosures and the fields, never a value or the person; a party without
a contact is listed on the console until staff mark it told. Real SMTP on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.integration.rights.rights_support import (
    catcher_fixture,
    log_disclosures,
    mail_settings,
    new_person,
    send_all,
)
from tests.integration.rights.test_rights_console import csrf, signed_in

from kluis.audit.models import AuditEvent
from kluis.disclosures import notices
from kluis.disclosures.models import PartyNotice
from kluis.kit.errors import Conflict
from kluis.rights.service import Rights
from kluis.vault.schemas import RecordIn

GROUP = "privacy@groep.benvitaal.test"
WEBINAR = "dpo@webinarstream.example.com"
STREET = "Boschstraat 3"


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def with_contacts(kluis):
    """The group companies (NL) and the webinar platform (US) get a contact; business partners and hosting none."""
    kluis.policy = kluis.policy.model_copy(update={
        "recipients": [r.model_copy(update={"contact": GROUP}) if r.id == "group_companies" else r
                       for r in kluis.policy.recipients],
        "processors": [p.model_copy(update={"contact": WEBINAR}) if p.id == "webinar_platform" else p
                       for p in kluis.policy.processors]})


def person_shared(kluis):
    person_id, _ = new_person(kluis)
    with kluis.db.transaction() as session:
        [basic] = kluis.vault(session, "test").add_records(person_id, [RecordIn(
            category="basic", purposes=["accounts"], legal_basis="contract", source="direct",
            content={"name": "Joep Hermans", "address": {"street": STREET, "city": "Maastricht"}})])
    log_disclosures(kluis, person_id, {"recipient:group_companies": ["basic", "account"],
                                       "processor:webinar_platform": ["basic"],
                                       "recipient:business_partners": ["basic"],
                                       "processor:web_analytics": ["web_traffic"]}, reference="SHIP")
    return person_id, basic


def verified(kluis, person_id, kind):
    with kluis.db.transaction() as session:
        return Rights(session, kluis, "person").receive_from_account(person_id, kind, "nl").request.id


def test_r_dsr_5_the_disclosure_log_decides_who_is_told_in_which_language_with_what(kluis, catcher):
    with_contacts(kluis)
    person_id, basic = person_shared(kluis)
    request_id = verified(kluis, person_id, "rectification")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:1").start(request_id)
        row = Rights(session, kluis, "staff:1").rectify(request_id, basic, {"address": {"street": "Tongersestraat 88",
                                                                                        "city": "Maastricht"}})
        told = {t["party"]: t["channel"] for t in row.told}
    # web analytics received only web traffic, hosting nothing of this person: neither is told
    assert told == {"recipient:group_companies": "mail", "recipient:business_partners": "other",
                    "processor:webinar_platform": "mail"}
    send_all(kluis)
    [dutch] = [m for m in catcher.messages if m.to == (GROUP,)]
    [english] = [m for m in catcher.messages if m.to == (WEBINAR,)]
    assert "Correctie van persoonsgegevens" in dutch.subject
    assert "SHIP-1" in dutch.text and "velden: adres" in dutch.text
    assert "Correction of personal data" in english.subject and "SHIP-2" in english.text
    assert "SHIP-1" not in english.text  # each party hears of its own disclosures only
    for mail in (dutch, english):
        assert STREET not in mail.text and "Tongersestraat" not in mail.text and "Joep" not in mail.text
        assert "vrager@example.nl" not in mail.text and str(person_id) not in mail.text


def test_r_dsr_7_a_restriction_is_told_to_every_party_that_received_data(kluis, catcher):
    with_contacts(kluis)
    person_id, _ = person_shared(kluis)
    request_id = verified(kluis, person_id, "restriction")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:1").carry_out(request_id, "accuracy_contested")
    with kluis.db.sessions() as session:
        rows = {n.party: n for n in session.scalars(select(PartyNotice).where(PartyNotice.cause_id == request_id))}
    assert set(rows) == {"recipient:group_companies", "recipient:business_partners", "processor:webinar_platform",
                         "processor:web_analytics"}
    assert rows["recipient:group_companies"].categories == ["account", "basic"]
    assert rows["processor:web_analytics"].channel == "other" and rows["processor:web_analytics"].lang == "nl"
    send_all(kluis)
    [dutch] = [m for m in catcher.messages if m.to == (GROUP,)]
    assert "Beperking van de verwerking" in dutch.subject and "alleen nog op" in dutch.text
    with kluis.db.sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "party_notice.recorded")
                                  .order_by(AuditEvent.seq)).all()
    assert event.details["cause"] == "restriction" and GROUP not in json.dumps(event.details)


def test_r_shr_1_a_party_without_a_contact_is_on_the_console_until_marked_told(client, kluis, clock, catcher):
    person_id, _ = person_shared(kluis)  # no contacts in the shipped register
    request_id = verified(kluis, person_id, "restriction")
    with kluis.db.transaction() as session:
        Rights(session, kluis, "staff:1").carry_out(request_id, "accuracy_contested")
    with kluis.db.sessions() as session:
        waiting = notices.untold(session)
    assert {n.party for n in waiting} == {"recipient:group_companies", "recipient:business_partners",
                                          "processor:webinar_platform", "processor:web_analytics"}
    signed_in(client, kluis, clock, "dpo")
    page = client.get("/console/notices")
    assert "recipient:business_partners" in page.text and "Parties without a contact" in page.text
    first = waiting[0]
    assert notices.notice_reference(first.id) in page.text
    done = client.post(f"/console/notices/{first.id}/told", data={"csrf": csrf(client, "/console/notices")})
    assert done.status_code == 200 and notices.notice_reference(first.id) not in done.text
    with kluis.db.sessions() as session:
        handled = session.get(PartyNotice, (first.person_id, first.id))
        assert handled.handled_by is not None and handled.handled_at is not None
    with pytest.raises(Conflict), kluis.db.transaction() as session:
        notices.mark_told(session, kluis.clock, "staff:1", first.id)  # once only

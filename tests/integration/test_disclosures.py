"""The disclosure log over the API (R-DSR-3, R-SHR-1, R-SHR-2, R-SHR-3, R-GATE-1): what a service logs is read
back and shown to the person; anything the policy or the gate does not allow is refused and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.audit.models import AuditEvent
from kluis.disclosures.models import Disclosure
from kluis.vault.schemas import IdentifierIn, PersonIn


def _person(kluis, email="deel@example.nl", account=True, consent=True):
    with kluis.db.transaction() as session:
        pid = kluis.vault(session, "test").create_person(PersonIn(subject_types=["employee"], identifiers=[
            IdentifierIn(kind="email", value=email)])).id
        if account:
            kluis.gate(session, "test").add_relation(pid, "account")
        if consent:
            kluis.consents(session, "test").give(pid, "marketing_email", method="form", notice_text="Ja", lang="nl")
    return pid


def _count(kluis):
    with kluis.db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Disclosure)),
                session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "disclosure.recorded")))


GOOD = {"party": "processor:email_delivery", "categories": ["basic"], "purpose": "marketing_email",
        "reference": "nieuwsbrief-2026-11"}


def test_r_dsr_3_a_logged_disclosure_is_read_back_and_audited(client, kluis):
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email", "accounts"])
    made = client.post(f"/api/v1/people/{pid}/disclosures", json=GOOD, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["party"] == "processor:email_delivery" and made.json()["at"].startswith("2026-11-25T12:00")
    listed = client.get(f"/api/v1/people/{pid}/disclosures", headers=headers(auth, "accounts"))
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [made.json()["id"]]
    assert _count(kluis) == (1, 1)
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.recorded")
                                .order_by(AuditEvent.seq)).one()
    assert "deel@" not in str(event.details) and event.details["parties"] == ["processor:email_delivery"]


@pytest.mark.parametrize(("change", "code"), [
    ({"party": "recipient:nobody"}, "party_unknown"),
    ({"party": "recipient:authorities"}, "order_required"),  # R-SHR-3: only by order, never routinely
    ({"party": "processor:email_delivery", "categories": ["financial"]}, "category_not_shared"),
    ({"categories": ["nonsense"]}, "category_unknown"),
    ({"purpose": "spying"}, "purpose_unknown"),
    ({"at": "2026-11-26T12:00:00+01:00"}, "in_future"),
    ({"at": "2026-09-01T12:00:00+02:00"}, "too_old"),
    ({"at": "2026-11-25T10:00:00"}, "timezone_required"),
])
def test_r_shr_1_what_the_register_does_not_allow_is_refused_and_nothing_is_written(client, kluis, change, code):
    pid = _person(kluis)
    auth = api_key(kluis, ["marketing_email"])
    refused = client.post(f"/api/v1/people/{pid}/disclosures", json=GOOD | change, headers=auth)
    assert refused.status_code == 422, refused.text
    assert code in [p["code"] for p in refused.json()["errors"]]
    assert _count(kluis) == (0, 0)


def test_r_gate_1_a_disclosure_for_a_purpose_the_gate_refuses_is_refused(client, kluis):
    """No consent for marketing mail: handing the address to the mail processor for it is not allowed."""
    pid = _person(kluis, consent=False)
    auth = api_key(kluis, ["marketing_email"])
    refused = client.post(f"/api/v1/people/{pid}/disclosures", json=GOOD, headers=auth)
    assert refused.status_code == 403 and refused.json()["code"] == "disclosure_refused"
    assert [p["code"] for p in refused.json()["errors"]] == ["no_consent"]
    assert _count(kluis) == (0, 0)


def test_r_gate_1_a_key_logs_only_for_its_own_purposes_and_reads_only_what_the_gate_allows(client, kluis):
    pid = _person(kluis, account=False)
    auth = api_key(kluis, ["accounts"])
    foreign = client.post(f"/api/v1/people/{pid}/disclosures", json=GOOD, headers=auth)
    assert foreign.status_code == 403 and foreign.json()["code"] == "purpose_not_allowed"
    # No active relation: reading the person's log for 'accounts' is refused with the reason.
    read = client.get(f"/api/v1/people/{pid}/disclosures", headers=headers(auth, "accounts"))
    assert read.status_code == 403 and read.json()["errors"][0]["code"] == "no_active_relation"
    assert client.post(f"/api/v1/people/{pid}/disclosures", json=GOOD).status_code == 401
    assert _count(kluis) == (0, 0)


def test_r_dsr_3_a_batch_is_recorded_whole_or_not_at_all(client, kluis, clock):
    first, second = _person(kluis), _person(kluis, email="tweede@example.nl")
    auth = api_key(kluis, ["marketing_email", "accounts"])
    earlier = (clock.now() - timedelta(days=2)).isoformat()
    items = [GOOD | {"person_id": str(first)}, GOOD | {"person_id": str(second), "at": earlier},
             {"person_id": str(second), "party": "recipient:group_companies", "categories": ["basic", "account"],
              "purpose": "accounts"}]
    bad = items + [GOOD | {"person_id": str(first), "party": "recipient:authorities"}]
    refused = client.post("/api/v1/disclosures", json={"items": bad}, headers=auth)
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "items[3].party"
    unknown = client.post("/api/v1/disclosures", json={"items": items + [
        GOOD | {"person_id": "00000000-0000-4000-8000-000000000000"}]}, headers=auth)
    assert unknown.status_code == 422 and unknown.json()["code"] == "person_not_found"
    assert _count(kluis) == (0, 0)
    made = client.post("/api/v1/disclosures", json={"items": items}, headers=auth)
    assert made.status_code == 201 and len(made.json()["ids"]) == 3
    assert _count(kluis) == (3, 1)
    listed = client.get(f"/api/v1/people/{second}/disclosures", headers=headers(auth, "accounts")).json()
    assert [(d["party"], d["at"][:10]) for d in listed] == [("processor:email_delivery", earlier[:10]),
                                                           ("recipient:group_companies", "2026-11-25")]
    too_many = client.post("/api/v1/disclosures", json={"items": items * 3334}, headers=auth)
    assert too_many.status_code == 422

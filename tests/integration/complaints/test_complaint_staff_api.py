"""The staff API for complaints (R-GOV-2): a DPO's case system runs a complaint from intake to answer with a key
holding the powers complaints_register / complaints_handle, naming in Kluis-Staff the staff member acting, whose
role and assignment decide as in the console (the DPO and the assigned handler read the text, each read audited
under their name; other support see that it exists; an auditor sees counts). Every refusal is problem+json and
writes nothing. Real SMTP on loopback."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.helpers import sealed_log
from tests.integration.complaints.complaint_support import add_staff, nothing_holds, stored
from tests.integration.rights.rights_support import catcher_fixture, mail_settings, new_person, send_all

from kluis.access.service import create_key
from kluis.audit.models import AuditEvent
from kluis.mail.models import Outbox
from kluis.staff import service as staff_service

TEXT = "Per brief: mijn verzuimgegevens zijn naar mijn leidinggevende gestuurd"
ANSWER = "We hebben uw klacht onderzocht en de toegang van de leidinggevende ingetrokken."
LETTER = {"text": TEXT, "received_at": "2026-11-20T16:30:00+01:00", "reference": "Brief 2026-114"}
BOTH = ("complaints_register", "complaints_handle")


@pytest.fixture
def catcher():
    yield from catcher_fixture()


@pytest.fixture
def settings(settings, catcher):
    return mail_settings(settings, catcher)


def key(kluis, *powers):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="dpo-desk", purposes=["support"],
                              actor="test", powers=list(powers))
    return {"Authorization": f"Bearer {token}", "Kluis-Purpose": "support"}


def acting(auth, staff_id):
    return auth | {"Kluis-Staff": str(staff_id)}


def staff(kluis, clock, role, email=None):
    return add_staff(kluis, clock, role, email)[0]


def count(kluis, model, **where):
    with kluis.db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query))


def messages(kluis):
    return sorted(m.id for m in stored(kluis)[1])


def register(client, auth, **changes):
    return client.post("/api/v1/complaints", json=LETTER | changes, headers=auth)


def test_r_gov_2_staff_api_runs_a_letter_from_intake_to_answer(client, kluis, clock, catcher):
    person_id, _ = new_person(kluis)
    dpo, handler, other = (staff(kluis, clock, "dpo"), staff(kluis, clock, "support"),
                           staff(kluis, clock, "support", "collega@benvitaal.nl"))
    desk = key(kluis, *BOTH)
    made = register(client, acting(desk, dpo), person_id=str(person_id))
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["received_at"].startswith("2026-11-20T15:30:00") and case["deadline"] == "2026-12-18"
    assert case["channel"] == "staff" and case["staff_reference"] == "Brief 2026-114" and "text" not in case
    path = f"/api/v1/complaints/{case['id']}"
    queue = client.get("/api/v1/complaints", headers=acting(desk, other)).json()
    assert queue["counts"]["open"] == 1 and [c["id"] for c in queue["items"]] == [case["id"]]

    read = client.get(path, headers=acting(desk, dpo)).json()
    assert read["readable"] and [(m["kind"], m["text"]) for m in read["correspondence"]] == [("complaint", TEXT)]
    assigned = client.post(path + "/assignment", json={"handler_id": str(handler)}, headers=acting(desk, dpo))
    assert assigned.status_code == 200 and assigned.json()["handler_id"] == str(handler)
    not_theirs = client.get(path, headers=acting(desk, other)).json()  # support, but not the handler
    assert not_theirs["readable"] is False and not_theirs["correspondence"] is None
    assert client.get(path, headers=acting(desk, handler)).json()["correspondence"][0]["text"] == TEXT
    noted = client.post(path + "/notes", json={"text": "Gebeld met de leidinggevende."}, headers=acting(desk, handler))
    assert noted.status_code == 201
    linked = client.post(path + "/links", json={"breach_ref": "BR-2026-7"}, headers=acting(desk, handler))
    assert linked.json()["breach_ref"] == "BR-2026-7"
    answered = client.post(path + "/answer", json={"text": ANSWER}, headers=acting(desk, handler))
    assert answered.status_code == 200 and answered.json()["state"] == "answered"

    send_all(kluis)
    ack, answer_mail = catcher.messages[0], catcher.messages[-1]
    assert "ontvangen" in ack.subject and "18 dec 2026" in ack.text and "Postbus 93374, 2509 AJ Den Haag" in ack.text
    assert answer_mail.to == ("vrager@example.nl",) and ANSWER in answer_mail.text
    assert "Autoriteit Persoonsgegevens" in answer_mail.text and "Postbus 93374, 2509 AJ Den Haag" in answer_mail.text
    with kluis.db.sessions() as session:
        reads = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.read")
                                     .order_by(AuditEvent.seq)))
    assert [e.actor for e in reads] == [f"staff:{dpo}", f"staff:{handler}"]  # the other support read nothing
    assert all(e.details["via"].startswith("key:") for e in reads)
    assert nothing_holds(kluis, TEXT) and nothing_holds(kluis, ANSWER)
    assert sealed_log(kluis).ok


def test_r_gov_2_staff_api_refuses_a_bad_key_staff_member_or_registration_and_writes_nothing(client, kluis, clock):
    dpo, auditor = staff(kluis, clock, "dpo"), staff(kluis, clock, "auditor")
    gone = staff(kluis, clock, "support", "weg@benvitaal.nl")
    with kluis.db.transaction() as session:
        staff_service.disable(session, clock, kluis.keys, "weg@benvitaal.nl")
    desk = key(kluis, *BOTH)
    refusals = {
        "no key": (register(client, {"Kluis-Staff": str(dpo)}), 401, "key_invalid"),
        "no power": (register(client, acting(key(kluis), dpo)), 403, "power_required"),
        "no purpose": (register(client, acting(desk, dpo) | {"Kluis-Purpose": ""}), 403, "purpose_required"),
        "nobody named": (register(client, desk), 403, "staff_unknown"),
        "unknown staff": (register(client, acting(desk, uuid.uuid4())), 403, "staff_unknown"),
        "disabled staff": (register(client, acting(desk, gone)), 403, "staff_unknown"),
        "auditor": (register(client, acting(desk, auditor)), 403, "role_not_allowed"),
        "future": (register(client, acting(desk, dpo), received_at="2026-11-25T13:30:00+01:00"), 422,
                   "received_in_future"),
        "no offset": (register(client, acting(desk, dpo), received_at="2026-11-20T16:30:00"), 422,
                      "received_without_zone"),
        "too early": (register(client, acting(desk, dpo), received_at="1999-12-31T23:00:00+01:00"), 422,
                      "received_too_early"),
        "blank text": (register(client, acting(desk, dpo), text="  \n "), 422, "text_required"),
        "blank reference": (register(client, acting(desk, dpo), reference="   "), 422, "reference_required"),
        "unknown person": (register(client, acting(desk, dpo), person_id=str(uuid.uuid4())), 404, "person_not_found"),
    }
    for name, (answer, status, code) in refusals.items():
        assert (name, answer.status_code) == (name, status), answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert (name, answer.json()["code"]) == (name, code)
    empty = register(client, acting(desk, dpo), text="")
    assert empty.status_code == 422 and empty.headers["content-type"] == "application/problem+json"
    assert stored(kluis) == ([], []) and count(kluis, AuditEvent, object_type="complaint") == 0
    assert count(kluis, Outbox) == 0


def test_r_gov_2_staff_api_refuses_anothers_complaint_a_bad_handler_twice_answered_writes_nothing(client, kluis,
                                                                                                clock):
    person_id, _ = new_person(kluis)
    dpo, handler, auditor = staff(kluis, clock, "dpo"), staff(kluis, clock, "support"), staff(kluis, clock, "auditor")
    desk, lister = key(kluis, *BOTH), key(kluis, "complaints_register")
    first = register(client, acting(desk, dpo), person_id=str(person_id)).json()["id"]
    second = register(client, acting(desk, dpo), reference="Telefoon 12").json()["id"]
    client.post(f"/api/v1/complaints/{first}/assignment", json={"handler_id": str(handler)}, headers=acting(desk, dpo))
    mine, theirs = f"/api/v1/complaints/{first}", f"/api/v1/complaints/{second}"
    before = (messages(kluis), count(kluis, AuditEvent), count(kluis, Outbox))

    refusals = [
        (client.post(theirs + "/answer", json={"text": ANSWER}, headers=acting(desk, handler)), 403,
         "complaint_confidential"),  # the handler of another complaint
        (client.post(theirs + "/notes", json={"text": "x"}, headers=acting(desk, handler)), 403,
         "complaint_confidential"),
        (client.post(mine + "/assignment", json={"handler_id": str(auditor)}, headers=acting(desk, dpo)), 422,
         "handler_invalid"),  # a handler without the role
        (client.post(mine + "/assignment", json={"handler_id": str(uuid.uuid4())}, headers=acting(desk, dpo)), 422,
         "handler_invalid"),
        (client.post(theirs + "/assignment", json={"handler_id": str(handler)}, headers=acting(desk, handler)), 403,
         "role_not_allowed"),  # only the DPO assigns
        (client.post(mine + "/answer", json={"text": ANSWER}, headers=acting(lister, handler)), 403,
         "power_required"),
        (client.post(mine + "/answer", json={"text": "   "}, headers=acting(desk, handler)), 422, "text_required"),
        (client.post(f"/api/v1/complaints/{uuid.uuid4()}/answer", json={"text": ANSWER}, headers=acting(desk, dpo)),
         404, "complaint_not_found"),
        (client.get(f"/api/v1/complaints/{uuid.uuid4()}", headers=acting(desk, dpo)), 404, "complaint_not_found"),
        (client.get(mine, headers=acting(desk, auditor)), 403, "role_not_allowed"),
        (client.post(mine + "/links", json={"person_id": str(uuid.uuid4())}, headers=acting(desk, dpo)), 409,
         "person_already_linked"),
    ]
    for answer, status, code in refusals:
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    empty = client.post(mine + "/answer", json={"text": ""}, headers=acting(desk, handler))
    assert empty.status_code == 422
    through_lister = client.get(mine, headers=acting(lister, dpo)).json()  # the DPO, through a key that may not read
    assert through_lister["readable"] is False and through_lister["correspondence"] is None
    assert (messages(kluis), count(kluis, AuditEvent), count(kluis, Outbox)) == before

    assert client.post(mine + "/answer", json={"text": ANSWER}, headers=acting(desk, handler)).status_code == 200
    after = (len(stored(kluis)[1]), count(kluis, AuditEvent), count(kluis, Outbox))
    twice = client.post(mine + "/answer", json={"text": "Nog een antwoord."}, headers=acting(desk, handler))
    assert twice.status_code == 409 and twice.json()["code"] == "complaint_closed"
    assert (len(stored(kluis)[1]), count(kluis, AuditEvent), count(kluis, Outbox)) == after


def test_r_gov_2_staff_api_queue_filters_pages_and_counts_for_an_auditor(client, kluis, clock):
    dpo, handler, auditor = staff(kluis, clock, "dpo"), staff(kluis, clock, "support"), staff(kluis, clock, "auditor")
    desk = key(kluis, *BOTH)
    ids = [register(client, acting(desk, dpo), received_at=f"2026-11-{day}T10:00:00+01:00").json()["id"]
           for day in ("10", "12", "12", "18", "20")]
    for complaint_id in ids[1:3]:
        client.post(f"/api/v1/complaints/{complaint_id}/assignment", json={"handler_id": str(handler)},
                    headers=acting(desk, dpo))
    client.post(f"/api/v1/complaints/{ids[4]}/answer", json={"text": ANSWER}, headers=acting(desk, dpo))
    clock.set(clock.now() + timedelta(days=14))  # 9 December: the complaint of 10 November was due on 8 December

    def listed(**query):
        answer = client.get("/api/v1/complaints", params=query, headers=acting(desk, dpo))
        assert answer.status_code == 200, answer.text
        return answer.json()

    ordered = sorted(ids[:4], key=lambda i: (ids.index(i) if i in (ids[0], ids[3]) else 1, uuid.UUID(i)))
    assert [c["id"] for c in listed()["items"]] == ordered
    assert [c["id"] for c in listed(state="closed")["items"]] == [ids[4]]
    assert len(listed(state="all")["items"]) == 5
    overdue = listed(overdue="true")["items"]
    assert [c["id"] for c in overdue] == [ids[0]] and overdue[0]["overdue"] is True
    assert {c["id"] for c in listed(assignee=str(handler))["items"]} == set(ids[1:3])
    assert [c["id"] for c in listed(unassigned="true")["items"]] == [ids[0], ids[3]]
    pages, after = [], None
    while True:
        page = listed(state="all", limit=2, **({"after": after} if after else {}))
        pages.append([c["id"] for c in page["items"]])
        after = page["next_after"]
        if after is None:
            break
    assert [i for p in pages for i in p] == [c["id"] for c in listed(state="all")["items"]] and len(pages) == 3
    assert listed()["counts"] == {"open": 4, "answered": 1, "overdue": 1}
    unknown = client.get("/api/v1/complaints", params={"after": str(uuid.uuid4())}, headers=acting(desk, dpo))
    assert unknown.status_code == 422 and unknown.json()["code"] == "after_unknown"
    counts_only = client.get("/api/v1/complaints", headers=acting(desk, auditor))
    assert counts_only.status_code == 200 and counts_only.json()["items"] is None
    assert counts_only.json()["counts"]["open"] == 4


def test_r_gov_2_staff_api_is_documented_with_its_problems(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    operations = {("post", "/api/v1/complaints"), ("get", "/api/v1/complaints"),
                  ("get", "/api/v1/complaints/{complaint_id}"),
                  ("post", "/api/v1/complaints/{complaint_id}/assignment"),
                  ("post", "/api/v1/complaints/{complaint_id}/links"),
                  ("post", "/api/v1/complaints/{complaint_id}/notes"),
                  ("post", "/api/v1/complaints/{complaint_id}/answer")}
    for method, path in operations:
        operation = paths[path][method]
        assert "Kluis-Staff" in {p["name"] for p in operation["parameters"]}
        for status in ("401", "403", "404", "409", "422"):
            assert list(operation["responses"][status]["content"]) == ["application/problem+json"]

"""Ingestion API: people, identifiers, records; purposes bound to keys (R-VLT-2, R-VLT-3, R-GATE-2)."""

from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.audit.models import AuditEvent
from kluis.vault.models import Identifier, Person, Record

ALL = ["accounts", "expense_claims", "security", "lead_management", "support"]


def _employer(client, auth):
    response = client.post("/api/v1/employers", json={"name": "Bouwbedrijf Maas BV"}, headers=auth)
    assert response.status_code == 201
    return response.json()["id"]


def _person(client, auth, employer=None, email="anna.devries@example.nl", phone="06 12345678", **extra):
    idents = [{"kind": "email", "value": email}, {"kind": "phone", "value": phone}]
    body = {"subject_types": ["employee"], "employer_id": employer, "identifiers": idents} | extra
    response = client.post("/api/v1/people", json=body, headers=headers(auth, "accounts"))
    assert response.status_code == 201, response.text
    pid = response.json()["id"]
    # The account is the contract that `accounts` processes under (R-GATE-1): recorded with the registration.
    relation = client.post(f"/api/v1/people/{pid}/relations", json={"kind": "account"},
                           headers=headers(auth, "accounts"))
    assert relation.status_code == 201, relation.text
    return pid


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _head(kluis):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def test_r_vlt_2_person_found_by_any_spelling_of_email_or_phone(client, kluis):
    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    for ident in ({"kind": "email", "value": " Anna.DeVries@EXAMPLE.nl"}, {"kind": "phone", "value": "+31612345678"}):
        found = client.post("/api/v1/people/lookup", json={"identifier": ident}, headers=headers(auth, "support"))
        assert found.status_code == 200 and found.json()["id"] == pid
    missing = client.post(
        "/api/v1/people/lookup",
        json={"identifier": {"kind": "email", "value": "x@example.nl"}},
        headers=headers(auth, "support"),
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_r_vlt_2_employee_number_is_scoped_to_the_employer(client, kluis):
    auth = api_key(kluis, ALL)
    first, second = _employer(client, auth), _employer(client, auth)
    for n, employer in enumerate((first, second)):
        body = {
            "subject_types": ["employee"],
            "employer_id": employer,
            "identifiers": [{"kind": "employee_number", "value": "1001"}],
        }
        assert client.post("/api/v1/people", json=body, headers=headers(auth, "accounts")).status_code == 201, n
    lookup = {"identifier": {"kind": "employee_number", "value": "1001", "scope": second}}
    assert client.post("/api/v1/people/lookup", json=lookup, headers=headers(auth, "support")).status_code == 200
    duplicate = {
        "subject_types": ["employee"],
        "employer_id": first,
        "identifiers": [{"kind": "employee_number", "value": "1001"}],
    }
    taken = client.post("/api/v1/people", json=duplicate, headers=headers(auth, "accounts"))
    assert taken.status_code == 422 and taken.json()["errors"][0]["code"] == "identifier_taken"


def test_r_gate_2_key_may_only_use_its_own_purposes(client, kluis):
    writer = api_key(kluis, ["accounts"])
    pid = _person(client, writer)
    record = {
        "category": "basic",
        "purposes": ["accounts"],
        "legal_basis": "contract",
        "source": "direct",
        "content": {"name": "Anna de Vries"},
    }
    assert (
        client.post(f"/api/v1/people/{pid}/records", json=record, headers=headers(writer, "accounts")).status_code
        == 201
    )
    reader = api_key(kluis, ["support"], service="helpdesk")
    refused = client.get(f"/api/v1/people/{pid}/records", headers=headers(reader, "accounts"))
    assert refused.status_code == 403 and refused.json()["code"] == "purpose_not_allowed"
    assert "Anna" not in refused.text
    no_purpose = client.get(f"/api/v1/people/{pid}/records", headers=reader)
    assert no_purpose.status_code == 403 and no_purpose.json()["code"] == "purpose_required"
    assert (
        client.get(f"/api/v1/people/{pid}/records", headers={"Authorization": "Bearer kluis_nope"}).status_code == 401
    )
    assert client.get(f"/api/v1/people/{pid}/records").status_code == 401
    other = dict(record, purposes=["support"])
    assert (
        client.post(f"/api/v1/people/{pid}/records", json=other, headers=headers(writer, "accounts")).status_code == 403
    )


def test_r_gate_2_read_returns_only_the_purposes_records_and_is_audited(client, kluis):
    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    items = [
        {
            "category": "basic",
            "purposes": ["accounts"],
            "legal_basis": "contract",
            "source": "direct",
            "content": {"name": "Anna de Vries"},
        },
        {
            "category": "web_traffic",
            "purposes": ["security"],
            "legal_basis": "legitimate_interest",
            "source": "cookies",
            "content": {"ip": "203.0.113.9"},
        },
    ]
    for item in items:
        assert (
            client.post(f"/api/v1/people/{pid}/records", json=item, headers=headers(auth, "accounts")).status_code
            == 201
        )
    read = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "security"))
    assert read.status_code == 200
    records = read.json()["records"]
    assert [r["content"] for r in records] == [{"ip": "203.0.113.9"}]
    with kluis.db.sessions() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "records.read" and event.details["purpose"] == "security"
    assert event.object_ids == [records[0]["id"]] and event.actor.startswith("key:")
    assert "203.0.113.9" not in str(event.details)


def test_r_vlt_3_record_carries_category_purposes_basis_source_controller_and_times(client, kluis, clock):
    auth = api_key(kluis, ALL)
    employer = _employer(client, auth)
    pid = _person(client, auth, employer=employer)
    claim = {
        "category": "financial",
        "purposes": ["expense_claims"],
        "legal_basis": "contract",
        "source": "direct",
        "controller": "employer",
        "content": {"amount_eur": "12.40", "kind": "travel"},
        "collected_at": "2026-03-01T09:00:00+01:00",
    }
    # The employer's instruction (an active employment) comes before its claims are filed (R-GATE-1).
    relation = client.post(f"/api/v1/people/{pid}/relations", json={"kind": "employment"},
                           headers=headers(auth, "accounts"))
    assert relation.status_code == 201
    assert (
        client.post(f"/api/v1/people/{pid}/records", json=claim, headers=headers(auth, "expense_claims")).status_code
        == 201
    )
    got = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "expense_claims")).json()["records"][0]
    assert got["controller"] == "employer" and got["controller_employer_id"] == employer
    assert got["collected_at"].startswith("2026-03-01T08:00:00") and got["last_activity_at"] == got["collected_at"]
    assert (got["category"], got["purposes"], got["legal_basis"], got["source"]) == (
        "financial",
        ["expense_claims"],
        "contract",
        "direct",
    )


def test_r_vlt_3_processor_purpose_without_employer_refused(client, kluis):
    """R-GATE-1: without an employer there is no instruction to process for, so the gate refuses the claim before
    its content is judged."""
    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    claim = {
        "category": "financial",
        "purposes": ["expense_claims"],
        "legal_basis": "contract",
        "source": "direct",
        "content": {"amount_eur": "1"},
    }
    refused = client.post(f"/api/v1/people/{pid}/records", json=claim, headers=headers(auth, "expense_claims"))
    assert refused.status_code == 403 and refused.json()["code"] == "processing_refused"
    assert {(e["path"], e["code"]) for e in refused.json()["errors"]} == {
        ("record.purposes[0]", "no_employer_instruction")}


def test_batch_is_atomic_lists_every_bad_item_and_writes_nothing(client, kluis):
    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    good = {
        "person_id": pid,
        "category": "basic",
        "purposes": ["accounts"],
        "legal_basis": "contract",
        "source": "direct",
        "content": {"name": "Anna"},
    }
    items = [
        good,
        dict(good, category="basc"),
        good,
        dict(good, content={"note": "BSN 111222333"}),
        dict(good, legal_basis="consent"),
        dict(good, person_id="00000000-0000-4000-8000-000000000000"),
        dict(good, collected_at="2030-01-01T00:00:00+00:00"),
    ]
    before_records, before_head = _count(kluis, Record), _head(kluis)
    response = client.post("/api/v1/records/batch", json={"items": items}, headers=headers(auth, "accounts"))
    assert response.status_code == 422
    errors = {(e["path"], e["code"]) for e in response.json()["errors"]}
    assert errors == {
        ("items[1].category", "category_unknown"),
        ("items[3].content.note", "bsn_refused"),
        ("items[4].legal_basis", "basis_mismatch"),
        ("items[5].person_id", "person_not_found"),
        ("items[6].collected_at", "in_future"),
    }
    assert _count(kluis, Record) == before_records and _head(kluis) == before_head
    ok = client.post("/api/v1/records/batch", json={"items": [good] * 3}, headers=headers(auth, "accounts"))
    assert ok.status_code == 201 and len(ok.json()["ids"]) == 3 and _count(kluis, Record) == before_records + 3


def test_malformed_request_gets_problem_json_with_field_path_and_writes_nothing(client, kluis):
    auth = api_key(kluis, ALL)
    before = _count(kluis, Person)
    bad = {
        "subject_types": ["employee", "alien"],
        "identifiers": [
            {"kind": "email", "value": "nope"},
            {"kind": "phone", "value": "06 12345678"},
            {"kind": "phone", "value": "+31612345678"},
        ],
    }
    response = client.post("/api/v1/people", json=bad, headers=headers(auth, "accounts"))
    assert response.status_code == 422
    paths = {e["path"]: e["code"] for e in response.json()["errors"]}
    assert paths == {
        "subject_types[1]": "subject_unknown",
        "identifiers[0].value": "email_invalid",
        "identifiers[2]": "identifier_repeated",
    }
    schema = client.post(
        "/api/v1/records/batch", json={"items": [{"person_id": "x"}]}, headers=headers(auth, "accounts")
    )
    assert schema.status_code == 422 and any(e["path"].startswith("items[0]") for e in schema.json()["errors"])
    too_many = client.post("/api/v1/records/batch", json={"items": [{}] * 10_001}, headers=headers(auth, "accounts"))
    assert too_many.status_code == 422
    assert _count(kluis, Person) == before and _count(kluis, Identifier) == 0


def test_r_vlt_2_update_person_adds_and_removes_identifiers(client, kluis):
    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    patch = {
        "add_identifiers": [{"kind": "email", "value": "anna@work.example.nl"}],
        "remove_identifiers": [{"kind": "phone", "value": "0612345678"}],
    }
    response = client.patch(f"/api/v1/people/{pid}", json=patch, headers=headers(auth, "accounts"))
    assert response.status_code == 200
    assert sorted(i["kind"] for i in response.json()["identifiers"]) == ["email", "email"]
    gone = client.post(
        "/api/v1/people/lookup",
        json={"identifier": {"kind": "phone", "value": "0612345678"}},
        headers=headers(auth, "support"),
    )
    assert gone.status_code == 404


def test_r_vlt_4_photo_upload_is_stripped_and_bsn_text_refused(client, kluis):
    import base64
    import io

    from PIL import Image

    auth = api_key(kluis, ALL)
    pid = _person(client, auth)
    img, exif, buf = Image.new("RGB", (4, 4), "blue"), Image.Exif(), io.BytesIO()
    exif[0x8825] = {2: (52.0, 22.0, 1.0), 1: "N"}
    img.save(buf, "JPEG", exif=exif)
    photo = {
        "category": "content",
        "purposes": ["support"],
        "legal_basis": "legitimate_interest",
        "source": "direct",
        "file": {"media_type": "image/jpeg", "data_base64": base64.b64encode(buf.getvalue()).decode()},
    }
    assert client.post(f"/api/v1/people/{pid}/records", json=photo, headers=headers(auth, "support")).status_code == 201
    stored = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "support")).json()["records"][0]
    assert not Image.open(io.BytesIO(base64.b64decode(stored["file"]["data_base64"]))).getexif()
    text = dict(photo, file={"media_type": "text/plain", "data_base64": base64.b64encode(b"bsn 111222333").decode()})
    refused = client.post(f"/api/v1/people/{pid}/records", json=text, headers=headers(auth, "support"))
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert (error["path"], error["code"]) == ("record.file", "bsn_refused")
    assert error["message"].startswith("holds a citizen service number (BSN)") and "UAVG art. 46" in error["message"]


def test_health_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/records/batch" in spec["paths"]


def test_r_gate_1_data_held_as_processor_serves_only_the_employers_purposes(client, kluis):
    auth = api_key(kluis, ALL)
    employer = _employer(client, auth)
    pid = _person(client, auth, employer=employer)
    client.post(f"/api/v1/people/{pid}/relations", json={"kind": "employment"}, headers=headers(auth, "accounts"))
    mixed = {"category": "basic", "purposes": ["expense_claims", "support"], "legal_basis": "contract",
             "source": "employer", "controller": "employer", "content": {"name": "Anna"}}
    added = client.post(f"/api/v1/people/{pid}/records", json=mixed, headers=headers(auth, "expense_claims"))
    assert added.status_code == 201
    for_support = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "support"))
    assert for_support.status_code == 200 and for_support.json()["records"] == []
    for_employer = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "expense_claims"))
    assert [r["content"] for r in for_employer.json()["records"]] == [{"name": "Anna"}]

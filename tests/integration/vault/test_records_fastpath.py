"""The audited records read's hot path (kluis.vault.fastpath) answers exactly as the endpoint does, writes the
same audit event, hands everything else to the endpoint, and reads the key afresh on every request
(R-GATE-2, R-GOV-1)."""

import base64
import io
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, update
from tests.helpers import api_key, headers, sealed_log

from kluis.access.service import revoke_key
from kluis.app import create_app
from kluis.audit.models import AuditEvent
from kluis.vault import fastpath
from kluis.vault.fastpath import RecordsFastPath
from kluis.vault.models import PersonKey, Record
from kluis.wiring import build

PURPOSES = ["accounts", "expense_claims", "security", "support", "marketing_email"]
UNKNOWN = "00000000-0000-4000-8000-000000000000"
SECRET = "Anna de Vriës"


@pytest.fixture
def endpoint_only(kluis):
    """The same application without the hot path: what the endpoint alone answers."""
    app = create_app(kluis)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RecordsFastPath]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def answered(monkeypatch):
    """Whether each call of the hot path's ``answer`` answered (True) or handed over (False)."""
    calls = []
    real = fastpath.answer

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(fastpath, "answer", spy)
    return calls


def _postgres(kluis):
    if kluis.db.dialect != "postgresql":
        pytest.skip("the hot path answers on PostgreSQL only; SQLite goes to the endpoint")


def _person(client, auth, employer=None, n=0):
    body = {"subject_types": ["employee"], "employer_id": employer,
            "identifiers": [{"kind": "email", "value": f"anna{n}@example.nl"}]}
    response = client.post("/api/v1/people", json=body, headers=headers(auth, "accounts"))
    assert response.status_code == 201, response.text
    pid = response.json()["id"]
    for kind in ("account", "employment") if employer else ("account",):
        assert client.post(f"/api/v1/people/{pid}/relations", json={"kind": kind},
                           headers=headers(auth, "accounts")).status_code == 201
    return pid


def _jpeg():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def _filed(client, auth):
    """A person with records of several categories, purposes and controllers (one a file), and one with none."""
    employer = client.post("/api/v1/employers", json={"name": "Bouwbedrijf Maas BV"}, headers=auth).json()["id"]
    pid = _person(client, auth, employer)
    records = [
        ("accounts", {"category": "basic", "purposes": ["accounts", "support"], "legal_basis": "contract",
                      "source": "direct", "content": {"name": SECRET, "tags": ["a", "ü"], "n": 3, "x": 1.5,
                                                      "nested": {"ok": True, "none": None}},
                      "collected_at": "2026-03-01T09:00:00.123456+01:00"}),
        ("accounts", {"category": "web_traffic", "purposes": ["security"], "legal_basis": "legitimate_interest",
                      "source": "cookies", "content": {"ip": "203.0.113.9"}}),
        ("expense_claims", {"category": "basic", "purposes": ["expense_claims", "support"],
                            "legal_basis": "contract", "source": "employer", "controller": "employer",
                            "content": {"name": "Anna"}}),
        ("expense_claims", {"category": "financial", "purposes": ["expense_claims"],
                            "legal_basis": "contract", "source": "employer", "controller": "employer",
                            "content": {"amount_eur": "12.40", "kind": "travel"},
                            "collected_at": "2026-02-01T10:00:00Z", "last_activity_at": "2026-02-03T10:00:00Z"}),
        ("support", {"category": "content", "purposes": ["support"], "legal_basis": "legitimate_interest",
                     "source": "direct", "file": {"media_type": "image/jpeg", "data_base64": _jpeg()}}),
        ("accounts", {"category": "basic", "purposes": ["accounts"], "legal_basis": "contract",
                      "source": "direct", "content": {"name": "later"}, "collected_at": "2026-03-01T07:00:00.5Z"}),
    ]
    for purpose, record in records:
        response = client.post(f"/api/v1/people/{pid}/records", json=record, headers=headers(auth, purpose))
        assert response.status_code == 201, response.text
    return pid, _person(client, auth, employer, n=1)


def _last_events(kluis, n):
    with kluis.db.sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(n)).all()
        return [(e.actor, e.action, e.object_type, e.object_ids, e.details) for e in events]


@pytest.mark.postgres
def test_r_gate_2_hot_path_reads_byte_for_byte_as_the_endpoint_and_audits_alike(client, endpoint_only, kluis,
                                                                                answered):
    _postgres(kluis)
    auth = api_key(kluis, PURPOSES[:4])
    filed, empty = _filed(client, auth)
    answered.clear()
    seen_files = seen_counts = 0
    for pid in (filed, empty):
        for purpose in PURPOSES[:4]:
            for query in ("", "?category=basic", "?category=financial", "?category=content", "?category=none"):
                url = f"/api/v1/people/{pid}/records{query}"
                fast = client.get(url, headers=headers(auth, purpose))
                fast_event = _last_events(kluis, 1)[0]
                slow = endpoint_only.get(url, headers=headers(auth, purpose))
                slow_event = _last_events(kluis, 1)[0]
                assert (fast.status_code, fast.content) == (slow.status_code, slow.content), url
                assert fast.status_code == 200, (url, purpose, fast.text)
                assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
                assert fast_event == slow_event and fast_event[1] == "records.read"
                seen_files += any(r["file"] for r in fast.json()["records"])
                seen_counts += len(fast.json()["records"]) > 1
    assert answered == [True] * (2 * 4 * 5)
    assert seen_files and seen_counts
    # Processor-role data only for the employer's purpose; the order is the endpoint's (collected, then id).
    support = client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "support")).json()["records"]
    assert [r["category"] for r in support] == ["basic", "content"]
    accounts = client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "accounts")).json()["records"]
    assert [r["content"]["name"] for r in accounts] == ["later", SECRET]


@pytest.mark.postgres
def test_r_gov_1_hot_path_read_is_audited_sealed_and_without_plaintext(client, kluis, answered):
    _postgres(kluis)
    auth = api_key(kluis, PURPOSES[:4])
    filed, _ = _filed(client, auth)
    answered.clear()
    read = client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "accounts"))
    assert read.status_code == 200 and answered == [True]
    actor, action, object_type, object_ids, details = _last_events(kluis, 1)[0]
    assert (action, object_type) == ("records.read", "record") and actor.startswith("key:")
    assert object_ids == [r["id"] for r in read.json()["records"]] and len(object_ids) == 2
    assert details == {"person_id": filed, "purpose": "accounts", "count": 2}
    with kluis.db.sessions() as session:
        stored = str([(e.actor, e.object_ids, e.details) for e in session.scalars(select(AuditEvent))])
    assert "Vri" not in stored and "203.0.113.9" not in stored and "later" not in stored
    assert sealed_log(kluis).ok


def _gone(client, kluis, auth):
    """A person whose data key was destroyed (erased)."""
    pid = _person(client, auth, n=7)
    with kluis.db.transaction() as session:
        kluis.vault(session, actor="test").shred([pid], reason="erasure request")
    return pid


@pytest.mark.postgres
def test_r_gate_2_everything_else_goes_to_the_endpoint_unchanged(client, endpoint_only, kluis, answered):
    _postgres(kluis)
    auth = api_key(kluis, PURPOSES)
    narrow = api_key(kluis, ["support"], service="helpdesk")
    revoked = api_key(kluis, ["accounts"], service="old")
    with kluis.db.transaction() as session:
        revoke_key(session, kluis.clock, revoked["Authorization"].split("_")[1], actor="test")
    filed, _ = _filed(client, auth)
    gone = _gone(client, kluis, auth)
    base = f"/api/v1/people/{filed}/records"
    cases = [
        (base, {}, "no key"),
        (base, {"Authorization": "Bearer kluis_nope"}, "malformed key"),
        (base, headers({"Authorization": auth["Authorization"][:-2] + "xx"}, "accounts"), "wrong secret"),
        (base, headers(revoked, "accounts"), "revoked key"),
        (base, auth, "no purpose"),
        (base, headers(auth, ""), "empty purpose"),
        (base, headers(narrow, "accounts"), "purpose the key lacks"),
        (base, headers(auth, "unknown_purpose"), "unknown purpose"),
        (base, headers(auth, "marketing_email"), "refused by the gate (no consent)"),
        (f"/api/v1/people/{UNKNOWN}/records", headers(auth, "accounts"), "unknown person"),
        (f"/api/v1/people/{gone}/records", headers(auth, "accounts"), "erased person"),
        (f"/api/v1/people/{filed.upper()}/records", headers(auth, "accounts"), "upper-case id"),
        (f"/api/v1/people/{filed}/records/", headers(auth, "accounts"), "trailing slash"),
        ("/api/v1/people/not-a-uuid/records", headers(auth, "accounts"), "not a uuid"),
        (base + "?category=" + "x" * 41, headers(auth, "accounts"), "category too long"),
        (base + "?category=basic&category=web_traffic", headers(auth, "accounts"), "category twice"),
        (base + "?category=b%61sic", headers(auth, "accounts"), "encoded category"),
        (base + "?other=1", headers(auth, "accounts"), "another parameter"),
    ]
    for url, sent, why in cases:
        answered.clear()
        before = _last_events(kluis, 1)
        fast = client.get(url, headers=sent, follow_redirects=False)
        after_fast = _last_events(kluis, 1)
        slow = endpoint_only.get(url, headers=sent, follow_redirects=False)
        assert (fast.status_code, fast.content, fast.headers.get("content-type")) == (
            slow.status_code, slow.content, slow.headers.get("content-type")), why
        assert True not in answered, why
        if fast.status_code != 200 and why == "refused by the gate (no consent)":
            assert after_fast != before and after_fast[0][1] == "processing.refused", why  # a refusal is audited
        elif fast.status_code != 200:
            assert after_fast == before, why  # a read refused before the gate writes no event
            assert SECRET not in fast.text, why
    for method in ("POST", "PUT", "DELETE"):
        answered.clear()
        fast = client.request(method, base, headers=headers(auth, "accounts"))
        slow = endpoint_only.request(method, base, headers=headers(auth, "accounts"))
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content) and answered == []


@pytest.mark.postgres
def test_r_gate_2_a_revoked_key_is_refused_at_once(client, kluis, answered):
    _postgres(kluis)
    auth = api_key(kluis, ["accounts"])
    pid = _person(client, auth)
    assert client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "accounts")).status_code == 200
    with kluis.db.transaction() as session:
        revoke_key(session, kluis.clock, auth["Authorization"].split("_")[1], actor="test")
    refused = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "accounts"))
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    assert answered == [True, False]


def test_r_gate_2_sqlite_reads_go_to_the_endpoint(client, kluis, answered):
    """On SQLite (and a key store of its own) the hot path never answers; the endpoint does, as before."""
    if kluis.db.dialect == "postgresql":
        pytest.skip("SQLite only")
    auth = api_key(kluis, PURPOSES[:4])
    filed, _ = _filed(client, auth)
    read = client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "accounts"))
    assert read.status_code == 200 and len(read.json()["records"]) == 2 and answered == []


@pytest.mark.postgres
def test_r_gate_2_hot_path_with_the_key_store_in_the_data_database(client, kluis, answered):
    """The key store in the data database (one server database, as the benchmark runs): the person's key is read in
    the same statement as the records, and the answers are the same."""
    _postgres(kluis)
    auth = api_key(kluis, PURPOSES[:4])
    filed, _ = _filed(client, auth)
    urls = [f"/api/v1/people/{filed}/records{query}" for query in ("", "?category=basic", "?category=content")]
    asked = [(url, purpose) for url in urls for purpose in PURPOSES[:4]]
    expected = [client.get(url, headers=headers(auth, purpose)).content for url, purpose in asked]
    table = PersonKey.__table__
    with kluis.db.key_engine.connect() as connection:
        keys = [dict(row) for row in connection.execute(select(table)).mappings()]
    made = not inspect(kluis.db.engine).has_table(table.name)  # another test may have left one (emptied)
    table.create(kluis.db.engine, checkfirst=True)
    try:
        with kluis.db.engine.begin() as connection:
            connection.execute(table.insert(), keys)
        shared = build(kluis.settings.model_copy(update={"keystore_url": kluis.settings.database_url}),
                       clock=kluis.clock)
        try:
            assert shared.keystore.shared
            with TestClient(create_app(shared)) as shared_client:
                answered.clear()
                got = [shared_client.get(url, headers=headers(auth, purpose)).content for url, purpose in asked]
            assert got == expected and answered == [True] * len(asked)
            assert sealed_log(shared).ok
        finally:
            shared.close()
    finally:
        if made:
            table.drop(kluis.db.engine)


@pytest.mark.postgres
def test_r_gate_2_a_record_that_does_not_open_goes_to_the_endpoint(client, endpoint_only, kluis, answered):
    """An altered ciphertext: the endpoint's 410, never a partial answer from the hot path."""
    _postgres(kluis)
    auth = api_key(kluis, PURPOSES[:4])
    filed, _ = _filed(client, auth)
    with kluis.db.transaction() as session:
        session.execute(update(Record).where(Record.person_id == uuid.UUID(filed), Record.category == "web_traffic")
                        .values(ciphertext=b"\x01" + bytes(40)))
    answered.clear()
    before = _last_events(kluis, 1)
    fast = client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "security"))
    slow = endpoint_only.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "security"))
    assert (fast.status_code, fast.content) == (slow.status_code, slow.content) and fast.status_code == 410
    assert answered == [False] and _last_events(kluis, 1) == before
    assert client.get(f"/api/v1/people/{filed}/records", headers=headers(auth, "accounts")).status_code == 200
    assert answered == [False, True]


@pytest.mark.postgres
def test_issue_18_6_the_hot_path_read_is_planned_once_not_at_every_read(client, kluis):
    """The read's statement is prepared after a few reads (psycopg's threshold) and PostgreSQL then keeps one plan
    for it. With the person as a one-element array (``= ANY(%s::uuid[])``) it planned the statement again at every
    read (a custom plan each time, about 0.4 ms of the database's CPU a read); with ``= %s`` it does not."""
    _postgres(kluis)
    auth = api_key(kluis, ["accounts"])
    people = [uuid.UUID(_person(client, auth, n=n)) for n in range(3)]
    token = auth["Authorization"].removeprefix("Bearer ")
    data, keys = kluis.db.held_connection(), kluis.db.held_connection(key_store=True)
    for n in range(30):
        assert fastpath.answer(kluis, data, keys, people[n % 3], None, token, "accounts") is not None
    plans = {statement: (generic, custom) for statement, generic, custom in data.execute(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")}
    read = [counts for statement, counts in plans.items() if "LEFT JOIN record r" in statement]
    assert len(read) == 1, plans
    generic, custom = read[0]
    assert custom <= 5 and generic >= 20, plans

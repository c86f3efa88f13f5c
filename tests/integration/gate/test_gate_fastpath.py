"""The decisions hot path (kluis.gate.fastpath) answers exactly as the endpoint does, refuses what the endpoint
refuses with the endpoint's own errors, and reads key and facts afresh on every request (R-GATE-1, R-GATE-2)."""

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.helpers import api_key, headers

from kluis.access.service import revoke_key
from kluis.app import create_app
from kluis.gate import fastpath
from kluis.gate.fastpath import DecisionsFastPath

PURPOSES = ["accounts", "marketing_email", "profiling", "security", "expense_claims", "support"]
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NOTICE = "Ja, stuur mij de nieuwsbrief van benVitaal. U kunt zich altijd afmelden."


@pytest.fixture
def endpoint_only(kluis):
    """The same application without the hot path: what the endpoint alone answers."""
    app = create_app(kluis)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not DecisionsFastPath]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def answered(monkeypatch):
    """Counts the requests the hot path answered itself (not handed to the endpoint)."""
    calls = []
    real = fastpath.answer

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(fastpath, "answer", spy)
    return calls


def _people(client, auth):
    def person(n):
        body = {"subject_types": ["lead"], "identifiers": [{"kind": "email", "value": f"lead{n}@example.nl"}]}
        response = client.post("/api/v1/people", json=body, headers=headers(auth, "accounts"))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    consented, objected, customer, plain = (person(n) for n in range(4))
    give = {"purpose": "marketing_email", "action": "given", "method": "form", "notice_text": NOTICE, "lang": "nl"}
    assert client.post(f"/api/v1/people/{consented}/consents", json=give,
                       headers=headers(auth, "marketing_email")).status_code == 201
    assert client.post(f"/api/v1/people/{objected}/objections", json={"scope": "marketing"},
                       headers=headers(auth, "support")).status_code == 201
    assert client.post(f"/api/v1/people/{customer}/relations", json={"kind": "account"},
                       headers=headers(auth, "accounts")).status_code == 201
    return [consented, objected, customer, plain, UNKNOWN]


def test_r_gate_1_hot_path_answers_byte_for_byte_as_the_endpoint(client, endpoint_only, kluis, answered):
    auth = api_key(kluis, PURPOSES)
    people = _people(client, auth)
    items = [{"person_id": pid, "purpose": purpose} for pid in people for purpose in PURPOSES]
    answered.clear()
    for item in items:
        fast = client.post("/api/v1/decisions", json=item, headers=auth)
        slow = endpoint_only.post("/api/v1/decisions", json=item, headers=auth)
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content) and fast.status_code == 200
        assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    fast = client.post("/api/v1/decisions", json={"items": items}, headers=auth)
    slow = endpoint_only.post("/api/v1/decisions", json={"items": items}, headers=auth)
    assert fast.status_code == 200 and fast.content == slow.content
    assert answered == [True] * (len(items) + 1)
    reasons = {d["reason"] for d in fast.json()["decisions"]}
    assert {"consent", "no_consent", "objected", "contract", "no_active_relation", "person_unknown"} <= reasons


BAD_BODIES = [
    b"{",
    b"[]",
    b'{"person_id": "' + UNKNOWN.encode() + b'"}',
    b'{"person_id": "' + UNKNOWN.encode() + b'", "purpose": "security", "extra": 1}',
    b'{"person_id": "not-a-uuid", "purpose": "security"}',
    b'{"person_id": "12345678901234567890123456789012----", "purpose": "security"}',
    b'{"person_id": 5, "purpose": "security"}',
    b'{"person_id": "' + UNKNOWN.encode() + b'", "purpose": "' + b"x" * 41 + b'"}',
    b'{"person_id": "' + UNKNOWN.encode() + b'", "purpose": "profilng"}',
    b'{"items": []}',
    b'{"items": [{"person_id": "' + UNKNOWN.encode() + b'", "purpose": 7}]}',
    json.dumps({"items": [{"person_id": UNKNOWN, "purpose": "security"}] * 10_001}).encode(),
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_r_gate_1_bad_questions_get_the_endpoints_own_errors(client, endpoint_only, kluis, answered, body):
    auth = api_key(kluis, PURPOSES) | {"Content-Type": "application/json"}
    fast = client.post("/api/v1/decisions", content=body, headers=auth)
    slow = endpoint_only.post("/api/v1/decisions", content=body, headers=auth)
    assert fast.status_code == slow.status_code and fast.status_code in (400, 422)
    assert fast.json() == slow.json() and fast.headers["content-type"] == "application/problem+json"
    assert True not in answered


def test_r_gate_2_keys_and_purposes_are_checked_as_the_endpoint_checks_them(client, endpoint_only, kluis):
    auth = api_key(kluis, ["security"], service="siem")
    question = {"person_id": UNKNOWN, "purpose": "profiling"}
    for case in (auth, {"Authorization": "Bearer kluis_nope"}, {}, {"Authorization": auth["Authorization"][:-1]}):
        fast = client.post("/api/v1/decisions", json=question, headers=case)
        slow = endpoint_only.post("/api/v1/decisions", json=question, headers=case)
        assert fast.status_code == slow.status_code and fast.status_code in (401, 403, 422)  # 422: no header
        assert fast.json() == slow.json()
    wrong_type = client.post("/api/v1/decisions", content=json.dumps(question).encode(),
                             headers=auth | {"Content-Type": "text/plain"})
    assert wrong_type.status_code == 422


def test_r_gate_2_a_revoked_key_is_refused_at_once_by_every_server(client, kluis):
    auth = api_key(kluis, PURPOSES)
    question = {"person_id": UNKNOWN, "purpose": "security"}
    with TestClient(create_app(kluis)) as other:  # another server process: its own connection
        assert client.post("/api/v1/decisions", json=question, headers=auth).status_code == 200
        assert other.post("/api/v1/decisions", json=question, headers=auth).status_code == 200
        prefix = auth["Authorization"].split("_")[1]
        with kluis.db.transaction() as session:
            revoke_key(session, kluis.clock, prefix, actor="test")
        for server in (client, other):
            refused = server.post("/api/v1/decisions", json=question, headers=auth)
            assert refused.status_code == 401 and refused.json()["code"] == "key_invalid"


def test_r_gate_1_an_objection_takes_effect_at_once_in_every_server(client, kluis):
    auth = api_key(kluis, PURPOSES)
    pid = _people(client, auth)[3]
    question = {"person_id": pid, "purpose": "profiling"}
    with TestClient(create_app(kluis)) as other:
        assert other.post("/api/v1/decisions", json=question, headers=auth).json()["allowed"] is True
        assert client.post(f"/api/v1/people/{pid}/objections", json={"scope": "profiling"},
                           headers=headers(auth, "support")).status_code == 201
        refused = other.post("/api/v1/decisions", json=question, headers=auth).json()
        assert refused["allowed"] is False and refused["reason"] == "objected"


def _plans(connection):
    """(generic plans, custom plans) of each prepared statement on this connection that reads the gate's facts."""
    return {statement: (generic, custom) for statement, generic, custom in connection.execute(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements") if "gate_state" in statement}


@pytest.mark.postgres
def test_issue_20_one_persons_decision_is_planned_once_not_at_every_question(client, kluis):
    """One question reads one person's facts; psycopg prepares the statement after a few (its threshold) and PostgreSQL
    should then keep one plan. With the person as a one-element array (``= ANY(%s::uuid[])``, the batches' text) it
    planned the statement again for every question (a custom plan each time); with ``= %s`` it does not. Both ways
    one question is answered: the hot path's own connection and the endpoint's session (``Gate.decide``)."""
    if kluis.db.dialect != "postgresql":
        pytest.skip("prepared statements and their plans are PostgreSQL's")
    auth = api_key(kluis, PURPOSES)
    people = _people(client, auth)
    token = auth["Authorization"].removeprefix("Bearer ")
    connection = kluis.db.held_connection(reads=True)
    for n in range(30):
        assert fastpath.answer(kluis, token, [(people[n % 5], "profiling")], True, connection=connection) is not None
    plans = _plans(connection)
    assert len(plans) == 1, plans
    generic, custom = next(iter(plans.values()))
    assert custom <= 5 and generic >= 20, plans
    with kluis.db.sessions() as session:
        gate = kluis.gate(session, "test")
        for n in range(30):
            gate.decide(uuid.UUID(people[n % 5]), "profiling")
        plans = _plans(session.connection().connection.driver_connection)
        partitioned = session.execute(text("SELECT relkind FROM pg_class WHERE relname = 'person'")).scalar() == "p"
    assert len(plans) == 1, plans
    generic, custom = next(iter(plans.values()))
    if partitioned:
        # On tables partitioned by person a pooled session keeps PostgreSQL's own choice (plan_cache_mode auto),
        # which prefers a custom plan that prunes the partitions at planning; only the hot paths' own connections
        # force the generic plan (kluis.db.Database.held_connection).
        assert generic + custom >= 20, plans  # prepared once, used by every question after psycopg's threshold
        return
    assert custom <= 5 and generic >= 20, plans

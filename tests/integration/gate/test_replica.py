"""Decisions read from a streaming replica (KLUIS_READ_DATABASE_URL, issue 20 item 4): what a person asked for
on the primary holds on the replica the moment it is acknowledged, because every decision-changing write commits
with ``synchronous_commit = remote_apply`` (R-GATE-1, R-CONS-1, R-DSR-7).

A real primary and a real hot standby of it are started once for the module (tests/replication.py): a few
seconds. They run with the PostgreSQL suite (KLUIS_TEST_DATABASE_URL), where the SQLite run does not repeat them."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from tests import replication
from tests.conftest import SERVER_URL
from tests.helpers import api_key, headers

from kluis import schema
from kluis.app import create_app
from kluis.config import Settings
from kluis.gate import fastpath
from kluis.gate.fastpath import DecisionsFastPath
from kluis.kit.errors import ConfigurationError
from kluis.kit.secrets import new_secret
from kluis.kit.statements import statements_run
from kluis.wiring import Kluis, build

pytestmark = pytest.mark.postgres

PURPOSES = ["accounts", "marketing_email", "support", "profiling"]
NOTICE = "Ja, stuur mij de nieuwsbrief van benVitaal. U kunt zich altijd afmelden."
KEYS = {
    "master_key": new_secret(),
    "index_key": new_secret(),
    "secret_key": new_secret(),
    "certificate_key": new_secret(),
    "audit_key": new_secret(),
}


@pytest.fixture(scope="module")
def pair():
    """A primary and its synchronous standby, the Kluis schema migrated on the primary (and so on the replica)."""
    if not SERVER_URL:
        pytest.skip("the replica tests run with the PostgreSQL suite (set KLUIS_TEST_DATABASE_URL)")
    reason = replication.missing()
    if reason is not None:
        pytest.skip(reason)
    with replication.primary_and_replica() as started:
        primary_only = build(Settings(_env_file=None, database_url=started.primary_url, **KEYS))
        try:
            schema.upgrade(primary_only.db)
        finally:
            primary_only.close()
        yield started


def _kluis(pair, clock, replica: bool = True) -> Kluis:
    return build(
        Settings(
            _env_file=None,
            database_url=pair.primary_url,
            read_database_url=pair.replica_url if replica else None,
            **KEYS,
        ),
        clock=clock,
    )


@pytest.fixture
def kluis(pair, clock):
    instance = _kluis(pair, clock)
    yield instance
    instance.close()


@pytest.fixture
def client(kluis):
    with TestClient(create_app(kluis)) as test_client:
        yield test_client


@pytest.fixture
def endpoint_only(kluis):
    """The same application without the hot path: the endpoint's own reading of the replica."""
    app = create_app(kluis)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not DecisionsFastPath]
    with TestClient(app) as test_client:
        yield test_client


def _consenting_person(client, auth) -> str:
    body = {"subject_types": ["lead"], "identifiers": [{"kind": "email", "value": f"{uuid.uuid4().hex}@example.nl"}]}
    created = client.post("/api/v1/people", json=body, headers=headers(auth, "accounts"))
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    give = {"purpose": "marketing_email", "action": "given", "method": "form", "notice_text": NOTICE, "lang": "nl"}
    given = client.post(f"/api/v1/people/{pid}/consents", json=give, headers=headers(auth, "marketing_email"))
    assert given.status_code == 201, given.text
    return pid


def _decision(server, auth, pid, purpose="marketing_email"):
    answer = server.post("/api/v1/decisions", json={"person_id": pid, "purpose": purpose}, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["allowed"], answer.json()["reason"]


def test_r_gate_1_an_objection_refuses_on_the_replica_the_moment_it_is_acknowledged(
    kluis, client, endpoint_only, monkeypatch
):
    """Issue 20 item 4: consent allows on the replica; an objection recorded through the API on the primary is
    refused by both the hot path and the endpoint reading the replica, at once: no waiting, no retry."""
    connections = []
    real_answer = fastpath.answer

    def spy(*args, **kwargs):
        connections.append(kwargs.get("connection"))
        return real_answer(*args, **kwargs)

    monkeypatch.setattr(fastpath, "answer", spy)
    with statements_run(kluis.db.read_engine) as statements:
        auth = api_key(kluis, PURPOSES)
        pid = _consenting_person(client, auth)
        assert _decision(client, auth, pid) == (True, "consent") == _decision(endpoint_only, auth, pid)

        objected = client.post(
            f"/api/v1/people/{pid}/objections", json={"scope": "marketing"}, headers=headers(auth, "support")
        )
        assert objected.status_code == 201, objected.text
        assert _decision(client, auth, pid) == (False, "objected") == _decision(endpoint_only, auth, pid)

    # Both read the replica: the hot path on its own connection, the endpoint through the read engine (the key
    # through the ORM, seen here; the facts through the same connection's driver cursor).
    assert {c.info.port for c in connections} == {kluis.db.read_engine.url.port} != kluis.db.engine.url.port
    assert connections[0].execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    assert any("api_key" in s for s in statements)


def test_r_cons_1_a_withdrawal_and_a_restriction_through_the_services_refuse_on_the_replica_at_once(kluis, client):
    """Consent withdrawn (R-CONS-1) and a restriction (R-DSR-7), written through the services on the primary: the
    gate reading the replica refuses them in the next statement."""
    auth = api_key(kluis, PURPOSES)
    withdrawn, restricted = _consenting_person(client, auth), _consenting_person(client, auth)
    with kluis.db.transaction() as session:
        kluis.consents(session, "test").withdraw(uuid.UUID(withdrawn), "marketing_email", method="form")
        kluis.gate(session, "test").restrict(uuid.UUID(restricted), "accuracy_contested", "person")
    assert _decision(client, auth, withdrawn) == (False, "consent_withdrawn")
    assert _decision(client, auth, restricted) == (False, "restricted")


def test_r_gate_1_decision_changing_writes_commit_with_remote_apply_and_others_do_not(pair, kluis, client, clock):
    """The transaction that records an objection runs with synchronous_commit = remote_apply when a replica is
    configured; one that changes no decision, and any without a replica, commit as the server is configured."""
    auth = api_key(kluis, PURPOSES)
    pid = uuid.UUID(_consenting_person(client, auth))
    seen = []

    def record(session):  # after Kluis's own before_commit hook: what the COMMIT will run with
        seen.append(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar())

    event.listen(kluis.db.sessions, "before_commit", record)
    with kluis.db.transaction() as session:
        kluis.gate(session, "test").object(pid, "marketing", "person")
    with kluis.db.transaction() as session:
        kluis.gate(session, "test").objections_of(pid)
    assert seen == ["remote_apply", "on"]

    primary_only = _kluis(pair, clock, replica=False)
    try:
        event.listen(primary_only.db.sessions, "before_commit", record)
        with primary_only.db.transaction() as session:
            primary_only.gate(session, "test").object(pid, "profiling", "person")
        assert seen[-1] == "on"
    finally:
        primary_only.close()


def test_r_gate_1_an_objection_is_acknowledged_only_after_the_replica_applied_it(pair, kluis, client):
    """With the replica's replay paused, recording an objection waits (SyncRep) and the replica still allows;
    once replay resumes the write returns, and the replica refuses."""
    auth = api_key(kluis, PURPOSES)
    pid = _consenting_person(client, auth)
    replica = kluis.db.read_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    done = threading.Event()

    def write():
        with kluis.db.transaction() as session:
            kluis.gate(session, "test").object(uuid.UUID(pid), "marketing", "person")
        done.set()

    writer = threading.Thread(target=write)
    try:
        replica.exec_driver_sql("SELECT pg_wal_replay_pause()")
        writer.start()
        assert _waiting_for_the_standby(kluis), "the objection's commit never waited for the standby"
        assert not done.is_set()
        assert _decision(client, auth, pid) == (True, "consent")  # not acknowledged yet: still as before
    finally:
        replica.exec_driver_sql("SELECT pg_wal_replay_resume()")
        writer.join(timeout=30)
        replica.close()
    assert done.is_set()
    assert _decision(client, auth, pid) == (False, "objected")


def _waiting_for_the_standby(kluis, deadline_seconds: float = 20.0) -> bool:
    """Whether a backend of the primary comes to wait for synchronous replication (wait event SyncRep): a state
    of the server looked for, not a time waited out."""
    end = time.monotonic() + deadline_seconds
    with kluis.db.engine.connect() as connection:
        while time.monotonic() < end:
            if connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
            ).scalar():
                return True
            time.sleep(0.005)
    return False


def test_r_gate_1_a_replica_the_database_does_not_wait_for_is_refused_at_start(database_urls):
    """On a server without synchronous standbys, remote_apply would wait for nothing: Kluis refuses to start
    with KLUIS_READ_DATABASE_URL set rather than promise what it cannot keep."""
    if not SERVER_URL:
        pytest.skip("needs the PostgreSQL test server (KLUIS_TEST_DATABASE_URL)")
    url = database_urls[0]
    with pytest.raises(ConfigurationError) as refused:
        build(Settings(_env_file=None, database_url=url, read_database_url=url, **KEYS))
    assert refused.value.code == "replica_not_synchronous" and "synchronous_standby_names" in str(refused.value)

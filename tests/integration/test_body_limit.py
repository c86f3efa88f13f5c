"""Every request body is bounded (hostile input): too large, declared or streamed, is refused with 413 and
nothing is written; a body within the bound passes (R-VLT-1: the records API; R-GATE-1: the decisions path)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.helpers import api_key, headers

from kluis.app import create_app
from kluis.vault.models import Person, Record

LIMIT = 20_000


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"max_request_bytes": LIMIT})


@pytest.fixture
def bounded(kluis):
    with TestClient(create_app(kluis)) as client:
        yield client


def _count(kluis, model):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _record(bounded, auth, person_id, note: str):
    return bounded.post(f"/api/v1/people/{person_id}/records", headers=headers(auth, "accounts"),
                        json={"category": "basic", "purposes": ["accounts"], "legal_basis": "contract",
                              "source": "direct", "content": {"note": note}})


@pytest.fixture
def person_id(bounded, kluis):
    auth = headers(api_key(kluis, ["accounts"]), "accounts")
    made = bounded.post("/api/v1/people", headers=auth, json={"subject_types": ["employee"]})
    assert made.status_code == 201, made.text
    # Its account: the contract `accounts` records are filed under (R-GATE-1).
    account = bounded.post(f"/api/v1/people/{made.json()['id']}/relations", headers=auth, json={"kind": "account"})
    assert account.status_code == 201, account.text
    return made.json()["id"]


def test_r_vlt_1_a_body_over_the_bound_is_refused_with_413_and_nothing_written(bounded, kluis, person_id):
    auth = api_key(kluis, ["accounts"])
    people, records = _count(kluis, Person), _count(kluis, Record)
    refused = _record(bounded, auth, person_id, "x" * (LIMIT + 1))
    assert refused.status_code == 413 and refused.json()["code"] == "http_413"
    assert "20,000 bytes" in refused.json()["detail"]
    assert (_count(kluis, Person), _count(kluis, Record)) == (people, records)


def test_r_vlt_1_a_streamed_body_without_length_is_counted_and_refused(bounded, kluis):
    auth = api_key(kluis, ["accounts"])
    payload = json.dumps({"subject_types": ["employee"], "identifiers": [
        {"kind": "email", "value": f"{'y' * 60}{i}@example.nl"} for i in range(400)]}).encode()
    assert len(payload) > LIMIT

    def chunks():
        for start in range(0, len(payload), 4096):
            yield payload[start:start + 4096]

    refused = bounded.post("/api/v1/people", headers=headers(auth, "accounts") | {
        "content-type": "application/json"}, content=chunks())
    assert refused.status_code == 413
    assert _count(kluis, Person) == 0 and _count(kluis, Record) == 0
    question = json.dumps({"items": [{"person_id": "00000000-0000-4000-8000-000000000000",
                                      "purpose": "accounts"}] * 400}).encode()
    assert len(question) > LIMIT
    gate = bounded.post("/api/v1/decisions", headers=auth | {"content-type": "application/json"}, content=question)
    assert gate.status_code == 413


def test_r_vlt_1_a_body_within_the_bound_passes(bounded, kluis, person_id):
    auth = api_key(kluis, ["accounts"])
    made = _record(bounded, auth, person_id, "z" * 1000)
    assert made.status_code == 201, made.text
    assert bounded.get("/health").status_code == 200

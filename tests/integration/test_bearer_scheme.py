"""An API key is taken only as ``Authorization: Bearer <key>`` (the scheme in any case, RFC 7235), by every
endpoint and by both hot paths (decisions and the records read, which answer on PostgreSQL) alike
(R-GATE-2, Interfaces)."""

from __future__ import annotations

import pytest
from tests.helpers import api_key

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def key(kluis):
    return api_key(kluis, ["accounts", "profiling"])["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def calls(client, key):
    """The three kinds of call: an ordinary endpoint, the decisions hot path and the records-read hot path."""
    created = client.post("/api/v1/people", json={"subject_types": ["employee"]},
                          headers={"Authorization": f"Bearer {key}", "Kluis-Purpose": "accounts"})
    person = created.json()["id"]
    assert client.post(f"/api/v1/people/{person}/relations", json={"kind": "account"},
                       headers={"Authorization": f"Bearer {key}", "Kluis-Purpose": "accounts"}).status_code == 201
    return {
        "lookup": lambda auth: client.post("/api/v1/people/lookup", headers=auth | {"Kluis-Purpose": "accounts"},
                                           json={"identifier": {"kind": "email", "value": "x@example.nl"}}),
        "decisions": lambda auth: client.post("/api/v1/decisions", headers=auth,
                                              json={"person_id": UNKNOWN, "purpose": "profiling"}),
        "records": lambda auth: client.get(f"/api/v1/people/{person}/records",
                                           headers=auth | {"Kluis-Purpose": "accounts"}),
    }


@pytest.mark.parametrize("call", ["lookup", "decisions", "records"])
def test_r_gate_2_a_key_without_the_bearer_scheme_is_refused_everywhere(calls, key, call):
    for refused in (key, f"Basic {key}", f"Bearer{key}", f"Token {key}", "Bearer "):
        answer = calls[call]({"Authorization": refused})
        assert answer.status_code == 401, (refused, answer.text)
        assert answer.json()["code"] == "key_invalid"
    for accepted in (f"Bearer {key}", f"bearer {key}", f"BEARER  {key}"):
        assert calls[call]({"Authorization": accepted}).status_code in (200, 404), accepted  # lookup: 404

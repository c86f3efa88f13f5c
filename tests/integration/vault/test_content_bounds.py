"""Record content is bounded where it is written, on every write path, to what the reader is proven to serve:
nesting, number of values, size, Unicode text and finite numbers (R-VLT-1, R-DSR-5). SQLite and PostgreSQL
(where the records hot path serves the reads)."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from tests.helpers import api_key, headers
from tests.integration.rights.test_rectification_and_gate_requests import content_of, person_with_records

from kluis.vault.content import MAX_BYTES, MAX_DEPTH, MAX_VALUES
from kluis.vault.models import Record

BASIC = {"category": "basic", "purposes": ["accounts"], "legal_basis": "contract", "source": "direct"}


def _nested(levels):
    """A document nested ``levels`` deep: the content object itself is level 1."""
    value: object = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def _wide(values):
    return {"list": list(range(1, values))}  # one key and values - 1 list items


def _sized(size):
    return {"t": "x" * (size - len('{"t":""}'))}


def _person(client, auth):
    response = client.post("/api/v1/people", json={"subject_types": ["employee"]}, headers=headers(auth, "accounts"))
    assert response.status_code == 201, response.text
    pid = response.json()["id"]
    assert client.post(f"/api/v1/people/{pid}/relations", json={"kind": "account"},
                       headers=headers(auth, "accounts")).status_code == 201
    return pid


def _post(client, auth, pid, raw):
    body = json.dumps(BASIC)[:-1] + ', "content": ' + raw + "}"
    return client.post(f"/api/v1/people/{pid}/records", content=body,
                       headers=headers(auth, "accounts") | {"content-type": "application/json"})


def _records(kluis):
    with kluis.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Record))


def test_r_vlt_1_content_at_each_limit_is_stored_and_read_back(client, kluis):
    auth = api_key(kluis, ["accounts"])
    pid = _person(client, auth)
    documents = [_nested(MAX_DEPTH), _wide(MAX_VALUES), _sized(MAX_BYTES)]
    for document in documents:
        assert _post(client, auth, pid, json.dumps(document)).status_code == 201
    read = client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "accounts"))
    assert read.status_code == 200
    assert sorted(map(json.dumps, (r["content"] for r in read.json()["records"]))) == sorted(map(json.dumps, documents))


def test_r_vlt_1_one_past_any_limit_is_refused_with_the_path_and_nothing_is_written(client, kluis):
    auth = api_key(kluis, ["accounts"])
    pid = _person(client, auth)
    refused = {
        "content_too_deep": _nested(MAX_DEPTH + 1),
        "content_too_many_values": _wide(MAX_VALUES + 1),
        "content_too_large": _sized(MAX_BYTES + 1),
    }
    for code, document in refused.items():
        answer = _post(client, auth, pid, json.dumps(document))
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", code
        [problem] = answer.json()["errors"]
        assert problem["code"] == code and problem["path"].startswith("record.content"), problem
    deep = _post(client, auth, pid, json.dumps(_nested(MAX_DEPTH + 1)))
    assert deep.json()["errors"][0]["path"] == "record.content" + ".a" * MAX_DEPTH
    batch = client.post("/api/v1/records/batch", headers=headers(auth, "accounts"), json={"items": [
        BASIC | {"person_id": pid, "content": {"ok": 1}}, BASIC | {"person_id": pid, "content": _nested(300)}]})
    assert batch.status_code == 422 and batch.json()["errors"][0]["path"].startswith("items[1].content.a.a")
    assert _records(kluis) == 0
    assert client.get(f"/api/v1/people/{pid}/records", headers=headers(auth, "accounts")).status_code == 200


def test_r_vlt_1_lone_surrogates_nan_and_infinity_are_refused_with_the_path(client, kluis):
    auth = api_key(kluis, ["accounts"])
    pid = _person(client, auth)
    cases = {'{"note": "ab\\ud800"}': ("record.content.note", "text_not_unicode"),
             '{"x": {"\\udfff": 1}}': ("record.content.x.?", "text_not_unicode"),
             '{"n": [1, NaN]}': ("record.content.n[1]", "number_not_finite"),
             '{"n": Infinity}': ("record.content.n", "number_not_finite"),
             '{"n": -Infinity}': ("record.content.n", "number_not_finite")}
    for raw, (path, code) in cases.items():
        answer = _post(client, auth, pid, raw)
        assert answer.status_code == 422, raw
        assert [(p["path"], p["code"]) for p in answer.json()["errors"]] == [(path, code)], raw
    assert _records(kluis) == 0


def test_r_dsr_5_self_edit_is_bounded_like_any_write_and_changes_nothing(client, kluis):
    person_id, basic, _ = person_with_records(kluis)
    auth = headers(api_key(kluis, ["accounts"], service="account"), "accounts") | {"content-type": "application/json"}
    url = f"/api/v1/people/{person_id}/records/{basic}"
    for raw, code in ((json.dumps({"fields": {"address": _nested(300)}}), "content_too_deep"),
                      ('{"fields": {"name": "\\ud800"}}', "text_not_unicode"),
                      ('{"fields": {"name": NaN}}', "number_not_finite")):
        answer = client.patch(url, headers=auth, content=raw)
        assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == code, answer.text
        assert answer.json()["errors"][0]["path"].startswith("fields.")
    assert content_of(kluis, person_id, basic)["name"] == "Joep Hermans"

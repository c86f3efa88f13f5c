"""R-CONS-4: a bad cookie choice is a 422 problem (or 409 for an outdated banner) and nothing is stored."""

from __future__ import annotations

import json

from tests.integration.cookies.conftest import ORIGIN, RECEIPTS

PROBLEM = "application/problem+json"


def _post(client, body, **headers):
    return client.post(RECEIPTS, content=body if isinstance(body, bytes) else json.dumps(body).encode(),
                       headers={"Content-Type": "application/json", "Origin": ORIGIN} | headers)


# Each case: what is changed in a valid choice, and the problem (path, code) the answer must name.
BAD_CHOICES = [
    ({"categories": {"necessary": True, "statistics": True}}, "categories.statistics", "unknown_category"),
    ({"categories": {"necessary": False}}, "categories.necessary", "necessary_cannot_be_refused"),
    ({"action": "accept_all", "categories": {"marketing": False}}, "categories.marketing", "contradicts_action"),
    ({"action": "reject_all", "categories": {"analytics": True}}, "categories.analytics", "contradicts_action"),
    ({"path": "diensten"}, "path", "path_not_absolute"),
    ({"path": "//evil.example/x"}, "path", "path_not_absolute"),
    ({"path": "/zoeken?email=jan@example.nl"}, "path", "path_unsafe"),
    ({"path": "/" + "a" * 600}, "path", "string_too_long"),
    ({"visitor": "not-a-visitor"}, "visitor", "string_pattern_mismatch"),
    ({"scope": "everywhere"}, "scope", "enum"),
    ({"action": "maybe"}, "action", "enum"),
    ({"language": "de"}, "language", "literal_error"),
    ({"revision": "short"}, "revision", "string_pattern_mismatch"),
    ({"categories": {"analytics": "yes"}}, "categories.analytics", "bool_type"),
    ({"extra": 1}, "extra", "extra_forbidden"),
    ({"visitor": ...}, "visitor", "missing"),
]
# Each case: the raw body, extra headers, and the problem code the answer must carry (None: an oversized body).
BAD_BODIES = [
    (b"{not json", {}, "request_invalid"),
    (b"[]", {}, "request_invalid"),
    (b"", {}, "request_invalid"),
    (None, {}, "request_too_large"),
    (b"{}", {"Content-Type": "text/plain"}, "request_invalid"),
]


def test_r_cons_4_bad_choices_are_refused_and_nothing_is_stored(client, choice, stored):
    """R-CONS-4: unknown category, necessary off, bad path, malformed fields: 422, nothing stored.

    One database for all cases (each server database costs seconds); every case is checked on its own."""
    before = stored()
    for change, path, code in BAD_CHOICES:
        response = _post(client, choice(**change))
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"] == PROBLEM
        named = [{"path": e["path"], "code": e["code"]} for e in response.json()["errors"]]
        assert {"path": path, "code": code} in named, (change, named)
    assert stored() == before


def test_r_cons_4_malformed_or_oversized_bodies_are_refused(client, choice, stored):
    """R-CONS-4: not JSON, not an object, too large, wrong media type: 422 problem, nothing stored."""
    before = stored()
    oversized = json.dumps(choice(categories={f"c{i}": True for i in range(400)})).encode()
    for body, headers, code in BAD_BODIES:
        response = _post(client, oversized if body is None else body, **headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code, (body, response.json())
    assert stored() == before


def test_r_cons_4_unknown_site_is_refused(client, choice, stored):
    """R-CONS-4: choices are only kept for declared sites."""
    response = client.post("/cookies/api/sites/elders-nl/receipts", json=choice(), headers={"Origin": ORIGIN})
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_site"
    assert stored() == (0, 0)


def test_r_cons_4_outdated_banner_revision_is_refused(client, choice, stored):
    """R-CONS-4: a choice made on an older banner is not kept; the banner asks again."""
    response = _post(client, choice(revision="0123456789abcdef"))
    assert response.status_code == 409
    assert response.json()["code"] == "banner_revision_outdated"
    assert stored() == (0, 0)

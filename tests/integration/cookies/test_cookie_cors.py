"""R-CONS-4: browsers may send choices only from the site's own origins (CORS)."""

from __future__ import annotations

from tests.integration.cookies.conftest import ORIGIN, RECEIPTS, VISITOR

from kluis.consent.cookies.service import configured_sites

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


def test_r_cons_4_preflight_from_the_sites_origin_is_allowed(client):
    """R-CONS-4: the site's origin gets the CORS grant, for the methods and headers the script uses."""
    response = client.options(RECEIPTS, headers={"Origin": ORIGIN} | PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]
    assert response.headers["vary"] == "Origin"


def test_r_cons_4_preflight_from_another_origin_is_refused(client):
    """R-CONS-4: another site's pages get no CORS grant."""
    response = client.options(RECEIPTS, headers={"Origin": "https://www.elders.example"} | PREFLIGHT)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    same_host_other_site = client.options(RECEIPTS, headers={"Origin": "https://benvitaal.nl.elders.example"}
                                          | PREFLIGHT)
    assert same_host_other_site.status_code == 403


def test_r_cons_4_choice_from_another_origin_is_refused_and_not_stored(client, choice, stored):
    """R-CONS-4: a browser page of another origin cannot record a choice, even without preflight."""
    response = client.post(RECEIPTS, json=choice(), headers={"Origin": "https://www.elders.example"})
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert stored() == (0, 0)


def test_r_cons_4_answers_to_the_sites_origin_carry_the_cors_grant(client, choice):
    """R-CONS-4: the script can read receipts and problems alike from an allowed origin."""
    created = client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN})
    refused = client.post(RECEIPTS, json=choice(path="no-slash"), headers={"Origin": ORIGIN})
    listed = client.get(RECEIPTS, headers={"Origin": ORIGIN, "Kluis-Visitor": VISITOR})
    for response in (created, refused, listed):
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert response.headers["cache-control"] == "no-store"
    assert refused.status_code == 422


def test_r_cons_4_kluis_own_pages_may_record_for_the_demo_site(client, choice):
    """R-CONS-4: the demo page Kluis serves itself needs no declared origin."""
    response = client.post("/cookies/api/sites/kluis-demo/receipts", json=choice(),
                           headers={"Origin": "http://testserver"})
    assert response.status_code == 201
    elsewhere = client.post("/cookies/api/sites/kluis-demo/receipts", json=choice(), headers={"Origin": ORIGIN})
    assert elsewhere.status_code == 403


def test_r_cons_4_declared_sites_come_from_configuration(client, choice, monkeypatch):
    """R-CONS-4: KLUIS_COOKIE_SITES declares the sites and their origins."""
    monkeypatch.setenv("KLUIS_COOKIE_SITES", '{"benmobiel-nl": ["https://www.benmobiel.nl"]}')
    client.app.state.cookie_sites = configured_sites()
    url = "/cookies/api/sites/benmobiel-nl/receipts"
    assert client.post(url, json=choice(), headers={"Origin": "https://www.benmobiel.nl"}).status_code == 201
    assert client.post(url, json=choice(), headers={"Origin": ORIGIN}).status_code == 403
    assert client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN}).json()["code"] == "unknown_site"

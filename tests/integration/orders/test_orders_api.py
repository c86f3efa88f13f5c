"""The authority-order API (R-SHR-3) for a legal department's case system: only a key with the authority_orders
power records and reads; a key never decides; bad input is refused with nothing written."""

from __future__ import annotations

import uuid

import pytest
from tests.helpers import api_key, headers
from tests.integration.orders.orders_support import APPROVER, approve, counts, order_pdf
from tests.integration.retention.retention_support import ams, person

from kluis.access.service import create_key


@pytest.fixture(autouse=True)
def _now(clock):
    clock.set(ams(2026, 11, 25, 10))


def orders_key(kluis):
    with kluis.db.transaction() as session:
        _, token = create_key(session, kluis.clock, kluis.policy, service="juridisch", purposes=["support"],
                              actor="test", powers=["authority_orders"])
    return headers({"Authorization": f"Bearer {token}"}, "support")


def _form(pid, **changes):
    return {"authority": "recipient:authorities", "legal_basis": "art. 126nd Sv", "reference": "OM-2026-0042",
            "order_date": "2026-11-20", "person_ids": [str(pid)], "categories": ["basic"]} | changes


def test_r_shr_3_a_key_with_the_power_records_an_order_and_reads_its_state(client, kluis):
    pid, _ = person(kluis, "account")
    auth = orders_key(kluis)
    ordinary = headers(api_key(kluis, ["support"]), "support")
    pdf = {"document": ("bevel.pdf", order_pdf(), "application/pdf")}
    refused = client.post("/api/v1/authority-orders", headers=ordinary, data=_form(pid), files=pdf)
    assert refused.status_code == 403 and refused.json()["code"] == "power_required"
    made = client.post("/api/v1/authority-orders", headers=auth, data=_form(pid, defer_until="2027-03-01"), files=pdf)
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["state"] == "recorded" and order["person_ids"] == [str(pid)] and order["defer_until"] == "2027-03-01"
    approve(kluis, uuid.UUID(order["id"]), actor=APPROVER)
    shown = client.get(f"/api/v1/authority-orders/{order['id']}", headers=auth).json()
    assert shown["state"] == "approved" and shown["decided_by"] == APPROVER and shown["disclosed_at"]
    assert [o["id"] for o in client.get("/api/v1/authority-orders", headers=auth).json()] == [order["id"]]
    noted = client.post("/api/v1/authority-orders/refusals", headers=auth, json={
        "authority": "Politie", "answer": "Alleen met een schriftelijk bevel."})
    assert noted.status_code == 201 and noted.json()["authority"] == "Politie"
    assert "/api/v1/authority-orders" in client.get("/openapi.json").json()["paths"]
    # A deferred disclosure is not listed to services either, while the deferral is in force.
    listed = client.get(f"/api/v1/people/{pid}/disclosures", headers=headers(api_key(kluis, ["support"]), "support"))
    assert listed.status_code == 200 and listed.json() == []


@pytest.mark.parametrize(("files", "changes", "status"), [
    (None, {}, 422),
    ({"document": ("bevel.txt", b"geen pdf", "text/plain")}, {}, 422),
    ("pdf", {"defer_until": "2026-11-19"}, 422),
    ("pdf", {"person_ids": ["7d5b0c1e-0000-4000-8000-000000000000"]}, 422),
])
def test_r_shr_3_bad_orders_by_api_are_refused_and_write_nothing(client, kluis, files, changes, status):
    pid, _ = person(kluis, "account")
    auth = orders_key(kluis)
    before = counts(kluis)
    files = {"document": ("bevel.pdf", order_pdf(), "application/pdf")} if files == "pdf" else files
    refused = client.post("/api/v1/authority-orders", headers=auth, data=_form(pid, **changes), files=files)
    assert refused.status_code == status, refused.text
    assert counts(kluis) == before

"""R-CONS-4: cookie choices are kept server-side as append-only receipts, audited with ids only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from tests.helpers import sealed_log
from tests.integration.cookies.conftest import ORIGIN, RECEIPTS, VISITOR

from kluis.audit.models import AuditEvent
from kluis.consent.cookies.models import CookieBannerRevision, CookieReceipt
from kluis.consent.cookies.rules import banner_for
from kluis.db import Base
from kluis.kit.errors import Conflict


def test_r_cons_4_choice_is_kept_as_a_receipt_with_revision_and_time(client, kluis, clock, choice):
    """R-CONS-4: the receipt holds site, page path, scope, categories, banner revision and time."""
    response = client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["site"] == "benvitaal-nl"
    assert body["path"] == "/diensten/benmobiel"
    assert body["scope"] == "page"
    assert body["granted"] == ["necessary", "analytics"]
    assert body["refused"] == ["marketing"]
    assert body["reason"] == "choice" and body["gpc_sources"] == [] and body["objects_to_profiling"] is False
    assert body["revision"] == banner_for(kluis.policy).revision
    with kluis.db.sessions() as session:
        receipt = session.get(CookieReceipt, uuid.UUID(body["id"]))
        assert receipt is not None
        assert receipt.given_at == clock.now()
        kept = session.get(CookieBannerRevision, receipt.revision)
        assert kept is not None and kept.content == banner_for(kluis.policy).content


def test_r_cons_4_visitor_id_is_stored_only_as_a_keyed_hash(client, kluis, choice):
    """R-CONS-4: the random visitor id never reaches the database; its HMAC does."""
    client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN})
    with kluis.db.sessions() as session:
        receipt = session.execute(select(CookieReceipt)).scalar_one()
        assert receipt.visitor_digest == kluis.keys.digest("cookie_visitor", "benvitaal-nl", VISITOR)
        for table in Base.metadata.sorted_tables:
            for row in session.execute(text(f'SELECT * FROM "{table.name}"')):
                for value in row:
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    assert VISITOR.encode() not in raw, f"visitor id found in {table.name}"


def test_r_cons_4_one_audit_event_per_receipt_with_ids_only(client, kluis, choice):
    """R-CONS-4: each receipt writes one audit event naming the receipt, not the visitor or the page."""
    first = client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN}).json()
    second = client.post(RECEIPTS, json=choice(action="reject_all", categories={}),
                         headers={"Origin": ORIGIN}).json()
    with kluis.db.sessions() as session:
        events = list(session.execute(select(AuditEvent).where(AuditEvent.action == "cookie_consent.recorded")
                                      .order_by(AuditEvent.seq)
                                      .order_by(AuditEvent.seq)).scalars())
        kept = list(session.execute(select(AuditEvent).where(AuditEvent.action == "cookie_banner.revision_kept")
                                    .order_by(AuditEvent.seq))
                    .scalars())
    assert sealed_log(kluis).ok
    assert [e.object_ids for e in events] == [[first["id"]], [second["id"]]]
    assert len(kept) == 1, "the banner revision is kept once, on its first receipt"
    for event in events:
        assert event.object_type == "cookie_receipt"
        flat = str(event.details) + event.actor
        assert VISITOR not in flat and "/diensten" not in flat
    assert events[1].details["refused"] == ["analytics", "marketing"]


def test_r_cons_4_receipts_are_append_only(client, kluis, clock, choice):
    """R-CONS-4: a new choice adds a receipt; earlier ones are never changed or removed."""
    client.post(RECEIPTS, json=choice(action="accept_all", categories={}), headers={"Origin": ORIGIN})
    clock.advance(timedelta(minutes=5))
    client.post(RECEIPTS, json=choice(action="reject_all", categories={}), headers={"Origin": ORIGIN})
    listed = client.get(RECEIPTS, headers={"Origin": ORIGIN, "Kluis-Visitor": VISITOR}).json()["receipts"]
    assert [r["action"] for r in listed] == ["reject_all", "accept_all"], "newest first, both kept"
    with kluis.db.sessions() as session:
        receipt = session.execute(select(CookieReceipt).limit(1)).scalar_one()
        receipt.granted = ["necessary", "analytics", "marketing"]
        with pytest.raises(Conflict):
            session.flush()
        session.rollback()
        receipt = session.execute(select(CookieReceipt).limit(1)).scalar_one()
        session.delete(receipt)
        with pytest.raises(Conflict):
            session.flush()


def test_r_cons_4_receipts_are_shown_only_for_the_visitor_and_site(client, choice):
    """R-CONS-4: proof by visitor id (header or consent cookie); another id sees nothing."""
    client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN})
    other = client.get(RECEIPTS, headers={"Kluis-Visitor": "x" * 22}).json()
    assert other == {"site": "benvitaal-nl", "receipts": []}
    by_cookie = client.get(RECEIPTS, headers={"Cookie": f"kluis_consent=1|{VISITOR}|%2Fdiensten:abc:necessary:0"})
    assert [r["path"] for r in by_cookie.json()["receipts"]] == ["/diensten/benmobiel"]
    demo = client.get("/cookies/api/sites/kluis-demo/receipts", headers={"Kluis-Visitor": VISITOR}).json()
    assert demo["receipts"] == [], "a visitor's receipts on one site are not found from another"
    missing = client.get(RECEIPTS)
    assert missing.status_code == 422 and missing.json()["code"] == "visitor_missing"


def test_r_cons_4_site_wide_scope_is_recorded(client, choice):
    """R-CONS-4: "all pages of this site" is an explicit scope, kept in the receipt."""
    body = client.post(RECEIPTS, json=choice(scope="site", path="/"), headers={"Origin": ORIGIN}).json()
    assert (body["scope"], body["path"]) == ("site", "/")


def test_r_cons_4_gpc_header_keeps_marketing_off_by_default_and_records_the_reason(client, kluis, choice):
    """R-CONS-4: Sec-GPC: 1 with marketing left off: reason gpc, an objection to profiling."""
    response = client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN, "Sec-GPC": "1"})
    body = response.json()
    assert body["granted"] == ["necessary", "analytics"]
    assert body["refused"] == ["marketing"]
    assert body["reason"] == "gpc" and body["gpc_sources"] == ["header"]
    assert body["objects_to_profiling"] is True


@pytest.mark.parametrize("accept", [{"action": "choose", "categories": {"necessary": True, "marketing": True}},
                                    {"action": "accept_all", "categories": {}}])
def test_r_cons_4_after_gpc_the_visitors_explicit_acceptance_of_marketing_wins(client, kluis, clock, choice,
                                                                                accept):
    """R-CONS-4: GPC sets the default; the visitor who then explicitly accepts marketing cookies on this site gets
    them, and the stored receipt records both: that GPC was present (header and script) and the explicit choice."""
    gpc = {"Origin": ORIGIN, "Sec-GPC": "1"}
    first = client.post(RECEIPTS, json=choice(gpc=True), headers=gpc).json()
    assert first["reason"] == "gpc" and "marketing" in first["refused"]
    clock.advance(timedelta(minutes=2))
    later = client.post(RECEIPTS, json=choice(gpc=True, **accept), headers=gpc)
    assert later.status_code == 201, later.text
    body = later.json()
    assert "marketing" in body["granted"] and "marketing" not in body["refused"]
    assert (body["reason"], body["gpc_sources"], body["action"]) == ("choice", ["header", "script"], accept["action"])
    assert body["objects_to_profiling"] is False
    with kluis.db.sessions() as session:
        receipt = session.get(CookieReceipt, uuid.UUID(body["id"]))
    assert (receipt.gpc_sources, receipt.action, receipt.reason) == (["header", "script"], accept["action"], "choice")
    assert "marketing" in receipt.granted
    listed = client.get(RECEIPTS, headers={"Origin": ORIGIN, "Kluis-Visitor": VISITOR}).json()["receipts"]
    assert [r["reason"] for r in listed[:2]] == ["choice", "gpc"]


def test_r_cons_4_banner_revision_shows_what_was_shown(client, kluis, choice):
    """R-CONS-4: a receipt's revision can be looked up, with the categories and texts of that banner."""
    revision = client.post(RECEIPTS, json=choice(), headers={"Origin": ORIGIN}).json()["revision"]
    shown = client.get(f"/cookies/api/revisions/{revision}").json()
    assert shown["current"] is True and shown["first_recorded_at"] is not None
    assert [c["id"] for c in shown["content"]["categories"]] == ["necessary", "analytics", "marketing"]
    assert shown["content"]["texts"]["reject_all"] == {"nl": "Alles weigeren", "en": "Reject all"}
    assert client.get("/cookies/api/revisions/0000000000000000").status_code == 404

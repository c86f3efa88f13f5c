"""The console's dashboard and audit page, and /health, show the audit log's newest verification as the worker
recorded it, and never walk the log themselves (R-GOV-1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from kluis.audit import sealer
from kluis.audit import service as audit
from kluis.audit import verify as audit_log
from kluis.audit.keys import audit_key
from kluis.audit.models import AuditEvent
from kluis.audit.tasks import VerifyPoller
from kluis.kit.clock import SettableClock
from kluis.kit.statements import statements_run
from kluis.wiring import Kluis

HOUR = timedelta(hours=1)
BROKEN = "Audit chain broken at event #2"


def _fill(kluis: Kluis, n: int = 3) -> None:
    with kluis.db.transaction() as session:
        for i in range(n):
            audit.append(session, kluis.clock, actor="system", action="test.event", object_type="thing",
                         object_ids=[f"id-{i}"], details={"n": i})
    sealer.seal_all(kluis.db, audit_key(kluis.settings.audit_key), kluis.clock)


@contextmanager
def _no_walk(kluis: Kluis, monkeypatch) -> Iterator[list[str]]:
    """Pages may read the recorded verification, never the links: the walk raises, and every statement is kept."""
    def walked(*args, **kwargs):
        raise AssertionError("a page walked the audit log")

    monkeypatch.setattr(audit_log, "verify", walked)
    try:
        with statements_run(kluis.db.engine) as statements:
            yield statements
    finally:
        monkeypatch.undo()


def _page(client: TestClient, path: str = "/console") -> str:
    return " ".join(client.get(path).text.split())


def _signed_in(add_member: Callable, sign_in: Callable, role: str = "auditor") -> None:
    sign_in(add_member(role))


def test_r_gov_1_dashboard_and_audit_page_show_the_last_verification_without_walking(
        client: TestClient, kluis: Kluis, clock: SettableClock, add_member: Callable, sign_in: Callable,
        monkeypatch) -> None:
    _fill(kluis, 4)
    VerifyPoller().poll(kluis)
    _signed_in(add_member, sign_in)
    with _no_walk(kluis, monkeypatch) as statements:
        pages = [_page(client), _page(client, "/console/audit")]
        health = client.get("/health").json()
    for text in pages:
        assert "Verified through event</dt><dd>4</dd>" in text and "<dd>holds</dd>" in text
        assert "A full walk: 4 events checked" in text and 'role="alert"' not in text
    assert not [s for s in statements if "audit_link" in s]
    assert (health["audit_verified_ok"], health["audit_verified_seq"], health["audit_verified_stale"]) == (
        True, 4, False)


def test_r_gov_1_tampering_shows_as_broken_at_the_top_of_the_dashboard_after_the_next_scheduled_verify(
        client: TestClient, kluis: Kluis, clock: SettableClock, add_member: Callable, sign_in: Callable) -> None:
    _fill(kluis, 4)
    poller = VerifyPoller()
    poller.poll(kluis)
    _signed_in(add_member, sign_in)
    with kluis.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else"))
    assert BROKEN not in client.get("/console").text  # not yet verified since
    clock.advance(timedelta(hours=24))  # the daily full walk: the change precedes the last verified event
    poller.poll(kluis)
    _signed_in(add_member, sign_in, "dpo")  # the auditor's session ended meanwhile
    page = _page(client)
    assert BROKEN in page and page.index(BROKEN) < page.index("In the vault")
    assert "broken at #2" in page and "the events through #1 hold" in page
    assert BROKEN in _page(client, "/console/audit")
    assert client.get("/health").json()["audit_verified_ok"] is False


def test_r_gov_1_a_stale_or_missing_verification_is_a_warning(
        client: TestClient, kluis: Kluis, clock: SettableClock, add_member: Callable, sign_in: Callable) -> None:
    _signed_in(add_member, sign_in)
    assert "has not been verified yet" in _page(client)
    assert client.get("/health").json()["audit_verified_ok"] is None
    VerifyPoller().poll(kluis)
    clock.advance(2 * HOUR)
    assert "last verified" not in _page(client)
    clock.advance(timedelta(minutes=1))
    page = _page(client)
    assert "The audit chain was last verified" in page and "more than twice the interval ago" in page
    assert client.get("/health").json()["audit_verified_stale"] is True


def test_r_gov_1_staff_without_the_audit_permission_see_no_verification(
        client: TestClient, kluis: Kluis, add_member: Callable, sign_in: Callable) -> None:
    _signed_in(add_member, sign_in, "support")
    page = _page(client)
    assert "has not been verified yet" not in page and "Verified through event" not in page
